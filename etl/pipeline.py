"""One credit-control evaluation, pure: extract in, positions / decisions / plan out.

The Dagster assets and the CLI both call these functions, so a run from either gives the same
decisions for the same data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from etl.decisions import evaluate_decisions
from etl.extract import Extract
from etl.plan import WritebackPlan, base_limits
from etl.positions import compute_positions
from etl.quality import ValidatedExtract, validate_extract
from etl.rules import RuleSet
from validation.quarantine import QUARANTINE_COLUMNS


@dataclass(frozen=True)
class Evaluation:
    validated: ValidatedExtract
    positions: pd.DataFrame  # SPEC §4, with risk_score / risk_grade
    fired: pd.DataFrame  # company, customer_id, rule_id
    decisions: pd.DataFrame  # SPEC §6.1 without run_id, then name (decide_all)
    quarantine: pd.DataFrame  # validation and FX quarantine together


def positions_for(validated: ValidatedExtract, as_of: dt.date,
                  owned: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Credit positions of the valid rows, and the full quarantine (validation + FX).

    ``credit_limit`` is the ERP's limit now; ``owned`` (etl.plan.tool_owned: this tool's
    provenance) gives ``base_credit_limit``, the limit before this tool's own cuts, which
    ``by_percent`` is taken from (so a cut is never compounded). Without ``owned`` the base is
    the ERP's limit.

    For people (the run folder's CSVs, the report), the positions end with two columns that are
    no rule vocabulary: ``name`` (the customer's, from customers) and ``company_currency`` (the
    currency every amount of the row is in, from companies).
    """
    result = compute_positions(validated.extract, as_of, incomplete=validated.incomplete_customers())
    positions = result.positions
    if owned is not None:
        positions = positions.assign(base_credit_limit=base_limits(positions, owned).to_numpy())
    positions = with_labels(positions, validated.extract)
    quarantine = pd.concat([validated.quarantine, result.quarantine], ignore_index=True)[QUARANTINE_COLUMNS]
    return positions, quarantine


def with_labels(positions: pd.DataFrame, extract: Extract) -> pd.DataFrame:
    """``positions`` plus ``name`` and ``company_currency`` as the last columns ('' when unknown)."""
    keys = ["company", "customer_id"]
    names = extract.customers[keys + ["name"]].drop_duplicates(keys)
    currencies = extract.companies[["company", "currency"]].drop_duplicates("company").rename(
        columns={"currency": "company_currency"})
    labelled = (positions.drop(columns=["name", "company_currency"], errors="ignore")
                .merge(names, on=keys, how="left").merge(currencies, on="company", how="left"))
    labelled.index = positions.index
    return labelled.assign(name=labelled["name"].fillna("").astype(str),
                           company_currency=labelled["company_currency"].fillna("").astype(str))


def decide_all(positions: pd.DataFrame, ruleset: RuleSet,
               as_of: dt.date) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Rules over positions -> (scored positions, fired rules, decisions), at the fixed point
    (etl.decisions.evaluate_decisions): scored positions and fired rules are the last evaluation's.

    When the positions carry ``name`` (:func:`positions_for`), the decisions end with it too: the
    run folder's decisions.csv and plan.csv show whom a decision is about. It is no SPEC §6.1
    column: the state store and `creditctl evaluate`'s CSV leave it out."""
    scored, fired, decisions = evaluate_decisions(positions, ruleset, as_of)
    if "name" in positions.columns:
        keys = ["company", "customer_id"]
        decisions = decisions.merge(positions[keys + ["name"]].drop_duplicates(keys), on=keys, how="left",
                                    validate="one_to_one")
        decisions["name"] = decisions["name"].fillna("").astype(str)
    return scored, fired, decisions


def evaluate(extract: Extract, ruleset: RuleSet, as_of: dt.date,
             owned: pd.DataFrame | None = None) -> Evaluation:
    validated = validate_extract(extract)
    positions, quarantine = positions_for(validated, as_of, owned)
    scored, fired, decisions = decide_all(positions, ruleset, as_of)
    return Evaluation(validated, scored, fired, decisions, quarantine)


def extract_guard_problems(validated: ValidatedExtract, max_quarantine_percent: float, *,
                           quarantine: pd.DataFrame | None = None,
                           previous_customers: int | None = None,
                           max_customer_drop_percent: float = 10.0) -> list[str]:
    """Extract-level guards (SPEC §3, §5.1); any problem fails the run closed, nothing is written.

    - the customers or open-items extract is empty;
    - the customer extract shrank by more than ``max_customer_drop_percent`` since the last
      successful run (``previous_customers``: its customer count, None when there is none to
      compare with);
    - an entity's quarantine share is above ``max_quarantine_percent``: of ``quarantine`` when
      given (e.g. validation plus missing FX rates, from :func:`positions_for`), else of the
      validation quarantine.
    """
    problems = []
    for entity in ("customers", "open_items"):
        if validated.rows[entity] == 0:
            problems.append(f"the {entity} extract is empty: check the ERP connection and companies")
    if validated.rows["customers"]:
        drop = customer_drop_problem(previous_customers, validated.rows["customers"], max_customer_drop_percent)
        if drop:
            problems.append(drop)
    shares = (validated.quarantine_percent() if quarantine is None
              else quarantine_percent(validated.rows, quarantine))
    for entity, share in shares.items():
        if share > max_quarantine_percent:
            problems.append(
                f"{share:.2f}% of {entity} rows were quarantined, above guards.max_quarantine_percent "
                f"{max_quarantine_percent:g}: fix the data (see the quarantine) or raise the guard"
            )
    return problems


def quarantine_percent(rows: dict[str, int], quarantine: pd.DataFrame) -> dict[str, float]:
    """Percent of each entity's rows (``rows``: rows read) with at least one quarantine record."""
    distinct = quarantine.groupby("entity")["key"].nunique() if len(quarantine) else pd.Series(dtype=int)
    return {e: (100.0 * min(int(distinct.get(e, 0)), n) / n if n else 0.0) for e, n in rows.items()}


def customer_drop_problem(previous: int | None, current: int, max_percent: float) -> str | None:
    """The customer-drop guard: the customer extract shrank more than ``max_percent`` since the
    last successful run (``previous`` customers; None = nothing to compare with)."""
    if not previous or current >= previous:
        return None
    drop = 100.0 * (previous - current) / previous
    if drop <= max_percent:
        return None
    return (f"the customer extract shrank from {previous} to {current} customers ({drop:.1f}%) since the last "
            f"successful run, above guards.max_customer_drop_percent {max_percent:g}: check the ERP extract, "
            f"or raise the guard if customers were really removed")


def previous_customer_count(last_run: dict | None, companies: list[str] | tuple[str, ...]) -> int | None:
    """The customer count of the last successful run (StateStore.last_run()) when it covered the
    same companies; None otherwise (nothing to compare with)."""
    if not last_run or last_run.get("customers") is None:
        return None
    if sorted(str(last_run.get("companies") or "").split(",")) != sorted(companies):
        return None
    return int(last_run["customers"])


def _blast_radius_excess(plan: WritebackPlan, max_new_blocks_percent: float) -> str | None:
    """How far the plan's new blocks exceed the guard (count and share), or None within it."""
    share = plan.new_blocks_percent()
    if share <= max_new_blocks_percent:
        return None
    return (f"{plan.new_blocks} new blocks ({share:.1f}% of {plan.customers} customers) exceed "
            f"guards.max_new_blocks_percent {max_new_blocks_percent:g}")


def blast_radius_problem(plan: WritebackPlan, max_new_blocks_percent: float, approved: bool) -> str | None:
    """The blast-radius guard: too many new blocks halt the writeback unless approved."""
    excess = _blast_radius_excess(plan, max_new_blocks_percent)
    if excess is not None and not approved:
        return f"{excess}: review the plan, then rerun with --approve to apply it"
    return None


def blast_radius_note(plan: WritebackPlan, max_new_blocks_percent: float) -> str | None:
    """For a run that writes nothing (dry-run, off): that an apply of this plan would need --approve.

    The guard halts only an apply; a dry-run beyond it succeeds and says so (an approval is given
    per run, so even a dry-run with --approve says it)."""
    excess = _blast_radius_excess(plan, max_new_blocks_percent)
    return None if excess is None else f"an apply of this plan would need --approve: {excess}"


__all__ = [
    "Evaluation", "blast_radius_note", "blast_radius_problem", "customer_drop_problem", "decide_all",
    "evaluate", "extract_guard_problems", "positions_for", "previous_customer_count", "quarantine_percent",
]
