"""Decisions (SPEC §5.3, §6.1): fired rules combined into one record per customer, at the
fixed point of limit reductions."""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd

from etl.positions import with_credit_limit
from etl.rules import RuleSet, evaluate_rules
from etl.rules.evaluate import key_order, key_rank

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


def _joined(row: np.ndarray, rule: np.ndarray, n: int, ids: np.ndarray, reasons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, its fired rule ids joined by ';' and reasons by ' | ', in rule-file order ('' for none).

    Customers share a few combinations of fired rules: each combination's text is built once
    (a Python join per customer was most of ``decide``'s time).
    """
    id_text = np.full(n, "", dtype=object)
    reason_text = np.full(n, "", dtype=object)
    if not len(row):
        return id_text, reason_text
    rows, group = np.unique(row, return_inverse=True)
    fired = np.zeros((len(rows), len(ids)), dtype=bool)
    fired[group.ravel(), rule] = True
    packed = np.ascontiguousarray(np.packbits(fired, axis=1))
    _, first, which = np.unique(packed.view(np.dtype((np.void, packed.shape[1]))).ravel(),
                                return_index=True, return_inverse=True)
    combo_ids = np.array([";".join(ids[fired[k]]) for k in first], dtype=object)
    combo_reasons = np.array([" | ".join(reasons[fired[k]]) for k in first], dtype=object)
    id_text[rows] = combo_ids[which.ravel()]
    reason_text[rows] = combo_reasons[which.ravel()]
    return id_text, reason_text


def _fired_rows(positions: pd.DataFrame, fired: pd.DataFrame) -> np.ndarray:
    """The row of ``positions`` each fired rule belongs to (-1: a customer not in positions)."""
    if fired.empty:
        return np.zeros(0, dtype=np.int64)
    index = pd.MultiIndex.from_frame(positions[_KEYS].reset_index(drop=True))
    if not index.is_unique:
        raise ValueError("positions list a customer more than once")
    return index.get_indexer(pd.MultiIndex.from_frame(fired[_KEYS].reset_index(drop=True)))


def _decide_rows(positions: pd.DataFrame, fired: pd.DataFrame, ruleset: RuleSet,
                 fired_rows: np.ndarray | None = None) -> pd.DataFrame:
    """:func:`decide`, one row per row of ``positions`` in their order; ``fired_rows`` (RuleResult's)
    spares looking up each fired rule's customer."""
    rules = ruleset.rules
    out = positions[_KEYS].reset_index(drop=True)
    limit = (pd.to_numeric(positions["credit_limit"]).to_numpy(dtype="float64")
             if "credit_limit" in positions else np.full(len(out), np.nan))
    base_limit = (pd.to_numeric(positions["base_credit_limit"]).to_numpy(dtype="float64")
                  if "base_credit_limit" in positions else limit)
    rule = pd.Index([r.id for r in rules]).get_indexer(fired["rule_id"])
    if (rule < 0).any():
        unknown = set(fired["rule_id"].to_numpy()[rule < 0])
        raise ValueError(f"fired rule ids not in the rule set: {', '.join(sorted(map(str, unknown)))}")
    row = _fired_rows(positions, fired) if fired_rows is None else np.asarray(fired_rows, dtype=np.int64)
    row, rule = row[row >= 0], rule[row >= 0]  # customers not in positions get no decision
    if len(np.unique(row * len(rules) + rule)) < len(row):
        raise ValueError("fired lists a rule more than once for a customer")

    action = np.array([r.action for r in rules], dtype=object)
    pct = np.array([np.nan if r.reduce_by_percent is None else float(r.reduce_by_percent) for r in rules])
    to = np.array([np.nan if r.reduce_to is None else float(r.reduce_to) for r in rules])
    n = len(out)
    rank = np.full(n, len(ACTIONS) - 1, dtype=np.int64)
    np.minimum.at(rank, row, np.array([ACTIONS.index(a) for a in action], dtype=np.int64)[rule])
    flags = {"block": action == "block", "hold": np.isin(action, ["block", "hold"]),  # block implies hold
             "require_prepayment": action == "require_prepayment", "_reduced": action == "reduce_limit"}
    for name, of_rule in flags.items():
        flag = np.zeros(n, dtype=bool)
        flag[row[of_rule[rule]]] = True
        flags[name] = flag
    lowest = np.full(n, np.nan)  # fmin skips NaN: the lowest resulting limit
    np.fmin.at(lowest, row, _reduced_limits(limit[row], base_limit[row], pct[rule], to[rule]))

    out["action"] = np.array(ACTIONS, dtype=object)[rank]
    out["block"], out["hold"], out["require_prepayment"] = flags["block"], flags["hold"], flags["require_prepayment"]
    out["credit_limit"] = limit
    reduced = flags["_reduced"]
    new_limit = limit.copy()
    # the lowest of credit_limit and the reductions' limits; NaN reductions leave the limit as it is
    new_limit[reduced] = np.fmin(_cents(limit[reduced]), lowest[reduced]) / 100.0
    out["new_credit_limit"] = new_limit
    out["rule_ids"], out["reasons"] = _joined(row, rule, n, np.array([r.id for r in rules], dtype=object),
                                              np.array([r.reason for r in rules], dtype=object))
    grade = positions["risk_grade"].to_numpy(dtype=object) if "risk_grade" in positions else np.full(n, None)
    out["risk_grade"] = np.where(pd.isna(grade), None, grade)
    if "data_incomplete" in positions:
        incomplete = positions["data_incomplete"]
        out["data_incomplete"] = np.where(incomplete.notna().to_numpy(), incomplete.to_numpy(dtype=object),
                                          False).astype(bool)
    else:
        out["data_incomplete"] = False
    out["ruleset_sha256"] = ruleset.sha256
    return out[[c for c in DECISION_COLUMNS if c != "run_id"]]


def decide(positions: pd.DataFrame, fired: pd.DataFrame, ruleset: RuleSet) -> pd.DataFrame:
    """One decision per customer of ``positions`` (RuleResult.positions), sorted by company, customer_id.

    Columns are DECISION_COLUMNS without run_id. Every fired rule contributes (COLLECT): block
    implies hold; the lowest reduced limit wins (``by_percent`` taken from ``base_credit_limit``,
    the ERP's limit when the column is absent); ``action`` is the most restrictive fired.
    One evaluation only: :func:`evaluate_decisions` iterates it to the fixed point.
    """
    out = _decide_rows(positions, fired, ruleset)
    return out.iloc[key_order(out)].reset_index(drop=True)


#: evaluations per customer before the fixed point is given up (the limit falls through at most
#: as many distinct values as there are reductions, so a real rule set settles in a few)
MAX_EVALUATIONS = 50
_CENT = 0.005


def _fell(decisions: pd.DataFrame) -> np.ndarray:
    """Customers whose new limit is below the limit they were evaluated with (to the cent)."""
    new, limit = decisions["new_credit_limit"], decisions["credit_limit"]
    return (new.notna() & (limit.isna() | (new < limit - _CENT))).to_numpy()


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
    # each evaluation's results, with the rows of ``current`` they are about; a later one wins
    rows = np.arange(len(current))
    result = evaluate_rules(ruleset, current, as_of)
    latest = _decide_rows(result.positions, result.fired, ruleset, result.fired_rows)
    evaluations = [(rows, result, latest)]
    for _ in range(MAX_EVALUATIONS):
        fell = _fell(latest)
        if not fell.any():
            break
        rows = rows[fell]
        again = with_credit_limit(current.iloc[rows].reset_index(drop=True), latest["new_credit_limit"].to_numpy()[fell])
        result = evaluate_rules(ruleset, again, as_of)
        latest = _decide_rows(result.positions, result.fired, ruleset, result.fired_rows)
        evaluations.append((rows, result, latest))
    else:
        raise RuntimeError(f"credit limits still falling after {MAX_EVALUATIONS} evaluations "
                           f"({int(_fell(latest).sum())} customer(s)); check the rule set's reduce_limit rules")
    last = np.zeros(len(current), dtype=np.int64)  # the evaluation each row's results come from
    for k, (at, _, _) in enumerate(evaluations):
        last[at] = k
    scored_parts, fired_parts, decision_parts, order_parts, fired_of = [], [], [], [], []
    for k, (at, res, dec) in enumerate(evaluations):
        mine = last[at] == k
        scored_parts.append(res.positions[mine])
        decision_parts.append(dec[mine])
        order_parts.append(at[mine])
        kept = mine[res.fired_rows]
        fired_parts.append(res.fired[kept])
        fired_of.append(at[res.fired_rows[kept]])
    by_row = np.argsort(np.concatenate(order_parts), kind="stable")  # back to the rows of current
    scored = pd.concat(scored_parts, ignore_index=True).iloc[by_row].reset_index(drop=True)
    decisions = pd.concat(decision_parts, ignore_index=True).iloc[by_row].reset_index(drop=True)
    fired = pd.concat(fired_parts, ignore_index=True)
    order = key_order(current)  # decisions are in current's rows: one order serves both
    rule_order = pd.Index([r.id for r in ruleset.rules]).get_indexer(fired["rule_id"])
    fired = fired.iloc[np.lexsort((rule_order, key_rank(order)[np.concatenate(fired_of)]))].reset_index(drop=True)
    decisions["credit_limit"] = pd.to_numeric(current["credit_limit"]).to_numpy(dtype="float64") \
        if "credit_limit" in current else np.nan  # the ERP's limit, not the last evaluation's
    decisions = decisions.iloc[order].reset_index(drop=True)
    return scored, fired, decisions[[c for c in DECISION_COLUMNS if c != "run_id"]]
