"""Decisions (SPEC §5.3, §6.1): fired rules combined into one record per customer, at the
fixed point of limit reductions."""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd

from etl.positions import with_credit_limit
from etl.rules import RuleSet, evaluate_rules

#: SPEC §6.1 decision record; `evaluate` writes these without run_id
DECISION_COLUMNS = [
    "run_id", "company", "customer_id", "action", "block", "hold", "require_prepayment",
    "credit_limit", "new_credit_limit", "rule_ids", "reasons", "risk_grade", "data_incomplete",
    "ruleset_sha256",
]

#: summary action precedence, most restrictive first
ACTIONS = ["block", "hold", "require_prepayment", "reduce_limit", "review", "none"]

_KEYS = ["company", "customer_id"]


def _cents(values: np.ndarray) -> np.ndarray:
    """Amounts to whole cents, half up on the decimal value (1.005 -> 101, not 100).

    Rounding x*100 to 6 places first removes the binary noise of a decimal amount
    (1.005 * 100 == 100.49999999999999) before the half-up step.
    """
    return np.floor(np.round(values * 100.0, 6) + 0.5)


def _reduced_limits(limit: np.ndarray, base: np.ndarray, by_percent: np.ndarray, to: np.ndarray) -> np.ndarray:
    """Each fired reduction's resulting limit in cents (NaN when it leaves the limit as it is).

    by_percent: the BASE limit (the one a person set) in cents times (100 - p)/100, in exact
    integer arithmetic on hundredths of a percent (lint allows two decimals), rounded half up,
    and at most the current limit; NaN without a base. ``to``: min(limit, to), or ``to`` when
    there is no limit. Neither can exceed the current limit, so a limit is never raised.
    """
    limit_cents = _cents(limit)
    base_cents = _cents(base)
    out = np.full(len(limit), np.nan)
    pct = ~np.isnan(by_percent) & ~np.isnan(base_cents) & ~np.isnan(limit_cents)  # no limit: stays null
    if pct.any():
        keep = (10000 - np.round(by_percent[pct] * 100)).astype(np.int64)  # hundredths of a percent kept
        numerator = base_cents[pct].astype(np.int64) * keep
        out[pct] = np.fmin((numerator + 5000) // 10000, limit_cents[pct])  # half up, all terms non-negative
    fixed = ~np.isnan(to)
    if fixed.any():
        target = _cents(to[fixed])
        current = limit_cents[fixed]
        out[fixed] = np.where(np.isnan(current), target, np.fmin(current, target))
    return out


def decide(positions: pd.DataFrame, fired: pd.DataFrame, ruleset: RuleSet) -> pd.DataFrame:
    """One decision per customer of ``positions`` (RuleResult.positions), sorted by company, customer_id.

    Columns are DECISION_COLUMNS without run_id. Every fired rule contributes (COLLECT): block
    implies hold; the lowest reduced limit wins (``by_percent`` taken from ``base_credit_limit``,
    the ERP's limit when the column is absent); ``action`` is the most restrictive fired.
    One evaluation only: :func:`evaluate_decisions` iterates it to the fixed point.
    """
    base = positions[_KEYS].copy()
    base["credit_limit"] = (pd.to_numeric(positions["credit_limit"]).astype("float64")
                            if "credit_limit" in positions else np.nan)
    base["base_credit_limit"] = (pd.to_numeric(positions["base_credit_limit"]).astype("float64")
                                 if "base_credit_limit" in positions else base["credit_limit"])
    base["risk_grade"] = positions["risk_grade"] if "risk_grade" in positions else None
    if "data_incomplete" in positions:
        flags = positions["data_incomplete"]
        base["data_incomplete"] = np.where(flags.notna().to_numpy(), flags.to_numpy(dtype=object), False).astype(bool)
    else:
        base["data_incomplete"] = False
    base = base.reset_index(drop=True)

    meta = pd.DataFrame({
        "rule_id": [r.id for r in ruleset.rules],
        "_order": np.arange(len(ruleset.rules), dtype=np.int64),
        "_action": [r.action for r in ruleset.rules],
        "_pct": [np.nan if r.reduce_by_percent is None else float(r.reduce_by_percent) for r in ruleset.rules],
        "_to": [np.nan if r.reduce_to is None else float(r.reduce_to) for r in ruleset.rules],
        "_reason": [r.reason for r in ruleset.rules],
    })
    hits = fired[[*_KEYS, "rule_id"]].merge(meta, on="rule_id", how="inner", validate="many_to_one")
    unknown = set(fired["rule_id"]) - set(meta["rule_id"])
    if unknown:
        raise ValueError(f"fired rule ids not in the rule set: {', '.join(sorted(map(str, unknown)))}")
    hits = hits.merge(base[[*_KEYS, "credit_limit", "base_credit_limit"]], on=_KEYS, how="inner")
    hits = hits.sort_values([*_KEYS, "_order"], kind="stable")
    hits["_new_cents"] = _reduced_limits(hits["credit_limit"].to_numpy(), hits["base_credit_limit"].to_numpy(),
                                         hits["_pct"].to_numpy(), hits["_to"].to_numpy())
    hits["_rank"] = hits["_action"].map({a: i for i, a in enumerate(ACTIONS)}).astype(np.int64)
    hits["block"] = hits["_action"].eq("block")
    hits["hold"] = hits["_action"].isin(["block", "hold"])  # block implies hold
    hits["require_prepayment"] = hits["_action"].eq("require_prepayment")
    hits["_reduced"] = hits["_action"].eq("reduce_limit")
    grouped = hits.groupby(_KEYS, sort=False)
    summary = grouped.agg(
        _rank=("_rank", "min"),
        block=("block", "any"),
        hold=("hold", "any"),
        require_prepayment=("require_prepayment", "any"),
        _reduced=("_reduced", "any"),
        _new_cents=("_new_cents", "min"),  # skips NaN: the lowest resulting limit
        rule_ids=("rule_id", ";".join),  # hits are in rule-file order within a customer
        reasons=("_reason", " | ".join),
    ).reset_index()

    out = base.merge(summary, on=_KEYS, how="left")
    rank = out["_rank"].fillna(len(ACTIONS) - 1).astype(np.int64)
    out["action"] = np.array(ACTIONS, dtype=object)[rank.to_numpy()]
    for flag in ("block", "hold", "require_prepayment", "_reduced"):
        out[flag] = out[flag].astype("boolean").fillna(False).astype(bool)
    reduced = out["_reduced"].to_numpy()
    new_limit = out["credit_limit"].to_numpy(dtype="float64").copy()
    # the lowest of credit_limit and the reductions' limits; NaN reductions leave the limit as it is
    new_cents = np.fmin(_cents(new_limit[reduced]), out["_new_cents"].to_numpy(dtype="float64")[reduced])
    new_limit[reduced] = new_cents / 100.0
    out["new_credit_limit"] = new_limit
    out["rule_ids"] = out["rule_ids"].fillna("").astype(object)
    out["reasons"] = out["reasons"].fillna("").astype(object)
    out["risk_grade"] = out["risk_grade"].astype(object).where(out["risk_grade"].notna(), None)
    out["ruleset_sha256"] = ruleset.sha256
    out = out.sort_values(_KEYS, kind="stable", ignore_index=True)
    return out[[c for c in DECISION_COLUMNS if c != "run_id"]]


#: evaluations per customer before the fixed point is given up (the limit falls through at most
#: as many distinct values as there are reductions, so a real rule set settles in a few)
MAX_EVALUATIONS = 50
_CENT = 0.005


def _fell(decisions: pd.DataFrame) -> np.ndarray:
    """Customers whose new limit is below the limit they were evaluated with (to the cent)."""
    new, limit = decisions["new_credit_limit"], decisions["credit_limit"]
    return (new.notna() & (limit.isna() | (new < limit - _CENT))).to_numpy()


def _replace(frame: pd.DataFrame, rows: pd.DataFrame, keys: pd.MultiIndex) -> pd.DataFrame:
    """``frame`` without the rows of ``keys`` (company, customer_id), plus ``rows``."""
    mine = pd.MultiIndex.from_frame(frame[_KEYS]).isin(keys)
    return pd.concat([frame[~mine], rows], ignore_index=True)


def evaluate_decisions(positions: pd.DataFrame, ruleset: RuleSet,
                       as_of: datetime.date) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Rules and decisions at the fixed point (SPEC §6.1) -> (scored positions, fired, decisions).

    When reductions lower a customer's limit, the customer is evaluated again with
    ``credit_limit`` = the new limit (over_limit_amount, utilisation, derived columns and the
    scorecard recomputed), until its limit stops falling. Only those customers are evaluated
    again. Each customer's decision, fired rules and scored position are its last evaluation's;
    its ``new_credit_limit`` the lowest reached, its ``credit_limit`` the ERP's (the input's).
    So a cut that puts a customer over its new limit holds its orders the same night, and a
    rerun after the plan is applied decides the same.
    """
    current = positions.reset_index(drop=True)
    if "base_credit_limit" not in current:
        current = current.assign(base_credit_limit=current["credit_limit"] if "credit_limit" in current else np.nan)
    current = current.assign(_row=np.arange(len(current)))
    result = evaluate_rules(ruleset, current, as_of)
    scored, fired = result.positions, result.fired
    decisions = decide(scored, fired, ruleset)
    latest = decisions
    for _ in range(MAX_EVALUATIONS):
        fell = _fell(latest)
        if not fell.any():
            break
        again = current.merge(latest.loc[fell, [*_KEYS, "new_credit_limit"]], on=_KEYS, how="inner")
        again = with_credit_limit(again.drop(columns="new_credit_limit"), again["new_credit_limit"].to_numpy())
        result = evaluate_rules(ruleset, again, as_of)
        latest = decide(result.positions, result.fired, ruleset)
        keys = pd.MultiIndex.from_frame(latest[_KEYS])
        scored = _replace(scored, result.positions, keys)
        fired = _replace(fired, result.fired, keys)
        decisions = _replace(decisions, latest, keys)
    else:
        raise RuntimeError(f"credit limits still falling after {MAX_EVALUATIONS} evaluations "
                           f"({int(_fell(latest).sum())} customer(s)); check the rule set's reduce_limit rules")
    scored = scored.sort_values("_row", kind="stable").drop(columns="_row").reset_index(drop=True)
    order = {r.id: k for k, r in enumerate(ruleset.rules)}
    fired = (fired.assign(_o=fired["rule_id"].map(order))
             .sort_values([*_KEYS, "_o"], kind="stable").drop(columns="_o").reset_index(drop=True))
    erp = current[_KEYS + ["credit_limit"]].rename(columns={"credit_limit": "_erp"})
    decisions = decisions.merge(erp, on=_KEYS, how="left", validate="one_to_one")
    decisions["credit_limit"] = pd.to_numeric(decisions["_erp"]).astype("float64")
    decisions = decisions.drop(columns="_erp").sort_values(_KEYS, kind="stable", ignore_index=True)
    return scored, fired, decisions[[c for c in DECISION_COLUMNS if c != "run_id"]]
