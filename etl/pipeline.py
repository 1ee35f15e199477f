"""One credit-control evaluation, pure: extract in, positions / decisions / plan out.

The Dagster assets and the CLI both call these functions, so a run from either gives the same
decisions for the same data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from etl.decisions import decide
from etl.extract import Extract
from etl.plan import WritebackPlan, build_plan, limit_base
from etl.positions import compute_positions
from etl.quality import ValidatedExtract, validate_extract
from etl.rules import RuleSet, evaluate_rules
from validation.quarantine import QUARANTINE_COLUMNS


class GuardError(RuntimeError):
    """A guard tripped: the run fails closed, nothing is written. One line, says what to do."""


@dataclass(frozen=True)
class Evaluation:
    validated: ValidatedExtract
    positions: pd.DataFrame  # SPEC §4, with risk_score / risk_grade
    fired: pd.DataFrame  # company, customer_id, rule_id
    decisions: pd.DataFrame  # SPEC §6.1 without run_id
    quarantine: pd.DataFrame  # validation and FX quarantine together


def positions_for(validated: ValidatedExtract, as_of: dt.date,
                  owned: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Credit positions of the valid rows, and the full quarantine (validation + FX).

    ``owned`` (etl.plan.tool_owned) sets each credit limit this tool reduced back to the limit
    before the reduction: rules work from the limit a person set, so tonight's decisions do not
    feed on last night's (a rerun decides the same, and "by 25%" is not applied twice).
    """
    extract = validated.extract
    if owned is not None:
        extract = extract.replace(customers=limit_base(extract.customers, owned))
    result = compute_positions(extract, as_of, incomplete=validated.incomplete_customers())
    quarantine = pd.concat([validated.quarantine, result.quarantine], ignore_index=True)[QUARANTINE_COLUMNS]
    return result.positions, quarantine


def decide_all(positions: pd.DataFrame, ruleset: RuleSet,
               as_of: dt.date) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Rules over positions -> (scored positions, fired rules, decisions)."""
    result = evaluate_rules(ruleset, positions, as_of)
    return result.positions, result.fired, decide(result.positions, result.fired, ruleset)


def evaluate(extract: Extract, ruleset: RuleSet, as_of: dt.date,
             owned: pd.DataFrame | None = None) -> Evaluation:
    validated = validate_extract(extract)
    positions, quarantine = positions_for(validated, as_of, owned)
    scored, fired, decisions = decide_all(positions, ruleset, as_of)
    return Evaluation(validated, scored, fired, decisions, quarantine)


def extract_guard_problems(validated: ValidatedExtract, max_quarantine_percent: float) -> list[str]:
    """Extract-level guards: an empty customers / open-items extract, quarantine above its limit."""
    problems = []
    for entity in ("customers", "open_items"):
        if validated.rows[entity] == 0:
            problems.append(f"the {entity} extract is empty: check the ERP connection and companies")
    for entity, share in validated.quarantine_percent().items():
        if share > max_quarantine_percent:
            problems.append(
                f"{share:.2f}% of {entity} rows were quarantined, above guards.max_quarantine_percent "
                f"{max_quarantine_percent:g}: fix the data (see the quarantine) or raise the guard"
            )
    return problems


def blast_radius_problem(plan: WritebackPlan, max_new_blocks_percent: float, approved: bool) -> str | None:
    """The blast-radius guard: too many new blocks halt the writeback unless approved."""
    share = plan.new_blocks_percent()
    if share > max_new_blocks_percent and not approved:
        return (f"{plan.new_blocks} new blocks ({share:.1f}% of {plan.customers} customers) exceed "
                f"guards.max_new_blocks_percent {max_new_blocks_percent:g}: review the plan, then rerun "
                f"with --approve to apply it")
    return None


__all__ = [
    "Evaluation", "GuardError", "blast_radius_problem", "build_plan", "decide_all", "evaluate",
    "extract_guard_problems", "positions_for",
]
