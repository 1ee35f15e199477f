"""Checks every connector runs on a plan before writing anything (etl.plan.PLAN_COLUMNS rows)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import pandas as pd

from etl.plan import CHANGES, PLAN_COLUMNS
from etl.ports import ConnectorError

ORDER_CHANGES = {"hold_order", "release_order"}


class PlanError(ConnectorError, ValueError):
    """The plan itself is malformed (unknown change kind, wrong company, bad value)."""


def blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value)) or str(value).strip() == ""


def text(value: object) -> str:
    return "" if blank(value) else str(value)


def parse_limit(value: object) -> Decimal:
    """A set_limit ``after`` value: a non-negative decimal string."""
    try:
        limit = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise PlanError(f"set_limit: {value!r} is not a decimal amount") from None
    if not limit.is_finite() or limit < 0:
        raise PlanError(f"set_limit: {value!r} is not a non-negative amount")
    return limit


def validate_plan(company: str, changes: pd.DataFrame) -> pd.DataFrame:
    """Check a plan before anything is written; returns PLAN_COLUMNS as text, blanks as ''."""
    missing = [c for c in ("company", "customer_id", "change") if c not in changes.columns]
    if missing:
        raise PlanError(f"plan for {company!r} lacks column(s) {', '.join(missing)} (expected {PLAN_COLUMNS})")
    plan = changes.copy()
    for col in PLAN_COLUMNS:
        if col not in plan.columns:
            plan[col] = ""
    plan = plan[PLAN_COLUMNS].reset_index(drop=True)
    for col in PLAN_COLUMNS:
        plan[col] = plan[col].map(text)
    unknown = sorted(set(plan["change"]) - set(CHANGES))
    if unknown:
        raise PlanError(f"plan for {company!r}: unknown change kind(s) {', '.join(map(repr, unknown))} "
                        f"(known: {', '.join(CHANGES)}); nothing was written")
    other = sorted(set(plan["company"]) - {company})
    if other:
        raise PlanError(f"plan for {company!r} contains rows of other companies: {', '.join(map(repr, other))}")
    if (plan["customer_id"] == "").any():
        raise PlanError(f"plan for {company!r}: a row has no customer_id")
    is_order = plan["change"].isin(list(ORDER_CHANGES))
    if (plan.loc[is_order, "order_id"] == "").any():
        raise PlanError(f"plan for {company!r}: an order change has no order_id")
    plan.loc[~is_order, "order_id"] = ""
    for value in plan.loc[plan["change"] == "set_limit", "after"]:
        parse_limit(value)
    return plan
