"""Evaluate a rule set over credit positions: scorecard, derived columns, durable_rules."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import numpy as np
import pandas as pd

from etl.rules import engine
from etl.rules.compiler import CompiledRules, compile_rules
from etl.rules.derive import Evaluator, column
from etl.rules.facts import encode_column, fact_bodies
from etl.rules.ruleset import Rule, RuleSet
from etl.rules.scorecard import apply_scorecard
from etl.rules.vocabulary import SCORE_FIELDS, Type

FIRED_COLUMNS = ["company", "customer_id", "rule_id"]


@dataclass
class RuleResult:
    positions: pd.DataFrame  # the input plus risk_score (float) and risk_grade (str); null without a scorecard
    fired: pd.DataFrame  # company, customer_id, rule_id: one row per fired rule, by customer then rule order


def required_fields(ruleset: RuleSet, as_of: datetime.date) -> set[str]:
    """Position columns an evaluation on ``as_of`` reads (risk_* come from the scorecard)."""
    used: set[str] = {"company", "customer_id"}
    for rule in ruleset.active_rules(as_of):
        used |= rule.fields_used()
    if ruleset.scorecard is not None:
        used |= ruleset.scorecard.fields_used()
    return used - SCORE_FIELDS


def fact_bodies_for(compiled: CompiledRules, positions: pd.DataFrame) -> list[str]:
    """The JSON body of each customer's fact: the fields the rules use plus derived columns."""
    evaluator = Evaluator(positions)
    columns = []
    derived_names = {d.name for d in compiled.derived}
    for name, type_ in compiled.fact_fields.items():
        if name in derived_names:
            continue
        vec = column(positions, name, type_)
        columns.append(encode_column(name, type_, vec.data, vec.valid))
    for derived in compiled.derived:
        vec = evaluator.value(derived.expr)
        columns.append(encode_column(derived.name, Type.NUMBER, vec.data, vec.valid))
    return fact_bodies(columns, len(positions))


def _fired_frame(positions: pd.DataFrame, rules: tuple[Rule, ...], order: dict[str, int],
                 hits: list[tuple[int, int]]) -> pd.DataFrame:
    if not hits:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in FIRED_COLUMNS})
    rows = np.array([h[0] for h in hits], dtype=np.int64)
    ids = [rules[h[1]].id for h in hits]
    fired = pd.DataFrame({
        "company": positions["company"].to_numpy(dtype=object)[rows],
        "customer_id": positions["customer_id"].to_numpy(dtype=object)[rows],
        "rule_id": np.array(ids, dtype=object),
        "_order": np.array([order[i] for i in ids], dtype=np.int64),
    })
    fired = fired.sort_values(["company", "customer_id", "_order"], kind="stable", ignore_index=True)
    return fired[FIRED_COLUMNS]


def evaluate_rules(ruleset: RuleSet, positions: pd.DataFrame, as_of: datetime.date) -> RuleResult:
    """Score every customer, then fire every active rule whose condition holds (COLLECT).

    Rules are active when enabled and their ``effective`` window covers ``as_of``; scope is part
    of each compiled condition. Raises ValueError when a column a rule needs is missing.
    """
    missing = sorted(required_fields(ruleset, as_of) - set(positions.columns))
    if missing:
        raise ValueError(f"positions lack column(s) the rules use: {', '.join(missing)}")
    scored = apply_scorecard(ruleset.scorecard, positions)
    active = ruleset.active_rules(as_of)
    compiled = compile_rules(active)
    hits: list[tuple[int, int]] = []
    if compiled.conditions and len(scored):
        frame = scored.reset_index(drop=True)
        bodies = fact_bodies_for(compiled, frame)
        raw = engine.run_facts(compiled.name, compiled.conditions, bodies)
        hits = [(i, compiled.rule_index[key]) for i, key in raw]
    order = {rule.id: k for k, rule in enumerate(ruleset.rules)}
    fired = _fired_frame(scored, active, order, hits)
    return RuleResult(positions=scored, fired=fired)
