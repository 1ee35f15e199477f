"""Evaluate a rule set over credit positions: scorecard, derived columns, durable_rules."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import numpy as np
import pandas as pd

from etl.rules import engine
from etl.rules.classes import class_of, questions, representatives
from etl.rules.compiler import CompiledRules, compile_rules
from etl.rules.derive import Evaluator, Vector, column
from etl.rules.facts import encode_column, fact_bodies
from etl.rules.ruleset import Rule, RuleSet
from etl.rules.scorecard import apply_scorecard
from etl.rules.vocabulary import SCORE_FIELDS, Type

FIRED_COLUMNS = ["company", "customer_id", "rule_id"]


@dataclass
class RuleResult:
    positions: pd.DataFrame  # the input plus risk_score (float) and risk_grade (str); null without a scorecard
    fired: pd.DataFrame  # company, customer_id, rule_id: one row per fired rule, by customer then rule order
    fired_rows: np.ndarray  # the row of ``positions`` each row of ``fired`` is about


def required_fields(ruleset: RuleSet, as_of: datetime.date) -> set[str]:
    """Position columns an evaluation on ``as_of`` reads (risk_* come from the scorecard)."""
    used: set[str] = {"company", "customer_id"}
    for rule in ruleset.active_rules(as_of):
        used |= rule.fields_used()
    if ruleset.scorecard is not None:
        used |= ruleset.scorecard.fields_used()
    return used - SCORE_FIELDS


def fact_columns(compiled: CompiledRules, positions: pd.DataFrame) -> dict[str, tuple[Type, Vector]]:
    """Each fact field as the engine sees it: the fields the rules use plus derived columns,
    non-finite numbers null (a fact omits them)."""
    evaluator = Evaluator(positions)
    derived_names = {d.name for d in compiled.derived}
    out: dict[str, tuple[Type, Vector]] = {}
    for name, type_ in compiled.fact_fields.items():
        if name not in derived_names:
            out[name] = (type_, column(positions, name, type_))
    for derived in compiled.derived:
        vec = evaluator.value(derived.expr)
        finite = vec.valid & np.isfinite(vec.data.astype("float64"))
        out[derived.name] = (Type.NUMBER, Vector(vec.data, finite))
    return out


def _bodies(columns: dict[str, tuple[Type, Vector]], rows: np.ndarray) -> list[str]:
    encoded = [encode_column(name, type_, vec.data[rows], vec.valid[rows]) for name, (type_, vec) in columns.items()]
    return fact_bodies(encoded, len(rows))


def fact_bodies_for(compiled: CompiledRules, positions: pd.DataFrame) -> list[str]:
    """The JSON body of each customer's fact: the fields the rules use plus derived columns."""
    return _bodies(fact_columns(compiled, positions), np.arange(len(positions)))


#: customers outside the representatives sent through the engine as well, every evaluation,
#: to prove their class fired what they fire themselves
CHECK_SAMPLE = 512


def _check_rows(classes: np.ndarray, firsts: np.ndarray) -> np.ndarray:
    """Up to CHECK_SAMPLE rows that are not their class's representative, spread over the frame."""
    others = np.setdiff1d(np.arange(len(classes)), firsts, assume_unique=True)
    if len(others) <= CHECK_SAMPLE:
        return others
    return others[np.linspace(0, len(others) - 1, CHECK_SAMPLE).astype(np.int64)]


def engine_hits(compiled: CompiledRules, positions: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(row, rule index) of every fired rule, by row then rule: durable_rules decides one
    representative per class of customers the conditions cannot tell apart (classes.py)."""
    columns = fact_columns(compiled, positions)
    classes = class_of(columns, questions(compiled.conditions), len(positions))
    firsts = representatives(classes)
    checks = _check_rows(classes, firsts)
    sent = np.concatenate([firsts, checks])
    raw = engine.run_facts(compiled.name, compiled.conditions, _bodies(columns, sent))
    keys = list(compiled.conditions)
    column_of = {key: k for k, key in enumerate(keys)}
    fired = np.zeros((len(sent), len(keys)), dtype=bool)
    for i, key in raw:
        fired[i, column_of[key]] = True
    by_class = fired[: len(firsts)]
    wrong = np.flatnonzero((fired[len(firsts):] != by_class[classes[checks]]).any(axis=1))
    if len(wrong):
        row = int(checks[wrong[0]])
        raise engine.RuleEngineError(
            f"customer #{row} fires differently from the customers it was grouped with "
            f"(#{int(firsts[classes[row]])}); a creditctl bug in etl/rules/classes.py, please report it")
    rows, cols = np.nonzero(by_class[classes])
    index = np.array([compiled.rule_index[key] for key in keys], dtype=np.int64)
    return rows.astype(np.int64), index[cols]


def key_order(frame: pd.DataFrame) -> np.ndarray:
    """The stable permutation that sorts ``frame`` by company, customer_id (arange when it is sorted,
    as positions are: checking is far cheaper than sorting a million ids)."""
    keys = ["company", "customer_id"]
    if len(frame) < 2:
        return np.arange(len(frame))
    if all(frame[k].dtype == object for k in keys) and not frame[keys].isna().any().any():
        company, customer = (frame[k].to_numpy() for k in keys)
        try:
            ordered = (company[1:] > company[:-1]) | ((company[1:] == company[:-1]) & (customer[1:] >= customer[:-1]))
        except TypeError:  # not all strings: let pandas order them
            ordered = np.zeros(1, dtype=bool)
        if ordered.all():
            return np.arange(len(frame))
    return frame.reset_index(drop=True).sort_values(keys, kind="stable").index.to_numpy()


def key_rank(order: np.ndarray) -> np.ndarray:
    """Each row's place in the key order ``order`` (:func:`key_order`): the inverse permutation."""
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank


def _fired_frame(positions: pd.DataFrame, rules: tuple[Rule, ...], order: dict[str, int],
                 rows: np.ndarray, rule_index: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    if not len(rows):
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in FIRED_COLUMNS}), rows
    orders = np.array([order[rule.id] for rule in rules], dtype=np.int64)[rule_index]
    by_key = np.lexsort((orders, key_rank(key_order(positions))[rows]))  # by customer, then rule-file order
    rows, rule_index = rows[by_key], rule_index[by_key]
    fired = pd.DataFrame({
        "company": positions["company"].to_numpy(dtype=object)[rows],
        "customer_id": positions["customer_id"].to_numpy(dtype=object)[rows],
        "rule_id": np.array([rule.id for rule in rules], dtype=object)[rule_index],
    })
    return fired, rows


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
    rows = rule_index = np.zeros(0, dtype=np.int64)
    if compiled.conditions and len(scored):
        rows, rule_index = engine_hits(compiled, scored.reset_index(drop=True))
    order = {rule.id: k for k, rule in enumerate(ruleset.rules)}
    fired, fired_rows = _fired_frame(scored, active, order, rows, rule_index)
    return RuleResult(positions=scored, fired=fired, fired_rows=fired_rows)
