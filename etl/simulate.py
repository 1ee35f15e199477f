"""Rule-change simulation: what a candidate rule set would decide differently (no writeback)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from etl.extract import Extract
from etl.overrides import apply_overrides
from etl.pipeline import decide_all, positions_for
from etl.quality import validate_extract
from etl.rules import RuleSet

#: the differences a credit manager cares about, in the order they are reported
DELTAS = [
    "newly_blocked", "released_block", "newly_held", "released_hold", "newly_prepayment",
    "released_prepayment", "limit_cut", "limit_cut_less", "rules_changed",
]
DIFF_COLUMNS = [
    "company", "customer_id", "changes", "exposure", "baseline_action", "candidate_action",
    "baseline_new_credit_limit", "candidate_new_credit_limit", "baseline_rule_ids", "candidate_rule_ids",
    "name", "company_currency",  # for people: whom, and the currency of ``exposure`` ('' when unknown)
]
_CENT = 0.005


@dataclass(frozen=True)
class DecisionDiff:
    """One row per customer whose decision differs (DIFF_COLUMNS); ``changes`` is ;-joined DELTAS."""

    rows: pd.DataFrame

    def summary(self) -> pd.DataFrame:
        """Customers and exposure per kind of difference and company currency (amounts of different
        currencies are never added up), in DELTAS order, then currency (kinds with none left out)."""
        # astype(str): an empty diff's column is float, which has no .str
        exploded = self.rows.assign(change=self.rows["changes"].astype(str).str.split(";"),
                                    company_currency=self.rows["company_currency"].fillna("").astype(str))
        exploded = exploded.explode("change")
        grouped = (exploded.groupby(["change", "company_currency"])
                   .agg(customers=("customer_id", "size"), exposure=("exposure", "sum")).reset_index())
        rank = {d: i for i, d in enumerate(DELTAS)}
        grouped = grouped[grouped["change"].isin(list(rank))]
        return (grouped.assign(_rank=grouped["change"].map(rank))
                .sort_values(["_rank", "company_currency"], kind="stable").drop(columns="_rank")
                .reset_index(drop=True)[["change", "company_currency", "customers", "exposure"]])


def diff_decisions(baseline: pd.DataFrame, candidate: pd.DataFrame, positions: pd.DataFrame) -> DecisionDiff:
    """Compare two decision frames (SPEC §6.1 columns) of the same customers."""
    keys = ["company", "customer_id"]
    b, c = baseline.set_index(keys), candidate.set_index(keys)
    index = b.index.union(c.index)  # a customer on one side only counts as "nothing decided" on the other
    b, c = b.reindex(index), c.reindex(index)
    for frame in (b, c):
        for flag in ("block", "hold", "require_prepayment"):
            frame[flag] = frame[flag].astype("boolean").fillna(False).astype(bool)
    flags = {
        "newly_blocked": c["block"] & ~b["block"],
        "released_block": b["block"] & ~c["block"],
        "newly_held": c["hold"] & ~b["hold"],
        "released_hold": b["hold"] & ~c["hold"],
        "newly_prepayment": c["require_prepayment"] & ~b["require_prepayment"],
        "released_prepayment": b["require_prepayment"] & ~c["require_prepayment"],
    }
    b_lim, c_lim = b["new_credit_limit"], c["new_credit_limit"]
    flags["limit_cut"] = (c_lim.notna() & b_lim.isna()) | (c_lim < b_lim - _CENT)
    flags["limit_cut_less"] = (c_lim.isna() & b_lim.notna()) | (c_lim > b_lim + _CENT)
    flags["rules_changed"] = b["rule_ids"].fillna("") != c["rule_ids"].fillna("")
    matrix = pd.DataFrame(flags)[DELTAS].fillna(False).astype(bool)
    differs = matrix.any(axis=1)
    names = np.array(DELTAS, dtype=object)
    changes = [";".join(names[row]) for row in matrix[differs].to_numpy()]  # only differing customers
    labels = positions.drop_duplicates(keys).set_index(keys).reindex(b.index)
    exposure = labels["exposure"]
    name = labels["name"] if "name" in labels else pd.Series("", index=b.index)
    currency = labels["company_currency"] if "company_currency" in labels else pd.Series("", index=b.index)
    rows = pd.DataFrame({
        "changes": changes,
        "exposure": exposure[differs].to_numpy(),
        "baseline_action": b.loc[differs, "action"].to_numpy(),
        "candidate_action": c.loc[differs, "action"].to_numpy(),
        "baseline_new_credit_limit": b_lim[differs].to_numpy(),
        "candidate_new_credit_limit": c_lim[differs].to_numpy(),
        "baseline_rule_ids": b.loc[differs, "rule_ids"].to_numpy(),
        "candidate_rule_ids": c.loc[differs, "rule_ids"].to_numpy(),
        "name": name[differs].fillna("").astype(str).to_numpy(),
        "company_currency": currency[differs].fillna("").astype(str).to_numpy(),
    }, index=b.index[differs]).reset_index()
    return DecisionDiff(rows[DIFF_COLUMNS].sort_values(keys, kind="stable").reset_index(drop=True))


def simulate_rules(extract: Extract, baseline: RuleSet, candidate: RuleSet, as_of: dt.date,
                   owned: pd.DataFrame, overrides: pd.DataFrame) -> tuple[pd.DataFrame, DecisionDiff]:
    """Positions once, each rule set's decisions with the active overrides, and their diff.

    ``owned`` is etl.plan.tool_owned of the audit (the limit base, as in a nightly run);
    ``overrides`` the credit managers' overrides active on ``as_of``.
    """
    positions, _ = positions_for(validate_extract(extract), as_of, owned)
    decided = [apply_overrides(decide_all(positions, rules, as_of)[2], overrides, as_of)
               for rules in (baseline, candidate)]
    return positions, diff_decisions(*decided, positions)
