"""A plain-Python reference for SPEC §4, written straight from the table, one customer at a time.

Deliberately naive: loops over rows, no numpy, no vectorisation. Used by tests/test_positions.py to
check etl.positions.compute_positions field by field. Shared conventions (docs/positions.md):

- money is converted row by row (``amount * rate``, unrounded), summed in the order the rows
  appear, and each sum is rounded to cents at the end (half to even on ``x * 100``); fields made
  of other fields (overdue_amount, exposure, over_limit_amount, uninsured_exposure) use the
  rounded fields and are rounded again;
- avg_days_late and late_trend are rounded to 6 decimals; utilisation and dso are not rounded;
- a row without a rate (or of a company not in companies) is quarantined, left out of every
  field, and makes its customer data_incomplete;
- rows of a customer that is not in customers belong to no position.
"""

from __future__ import annotations

import datetime
import math
from typing import Any

import pandas as pd

from etl.extract import Extract


def cents(x: float) -> float:
    return round(x * 100) / 100


def round6(x: float) -> float:
    return round(x * 1e6) / 1e6


def _date(value: Any) -> datetime.date:
    return pd.Timestamp(value).date()


def _null(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def fx_rate(fx_rows: list[dict], from_cur: str, to_cur: str, as_of: datetime.date) -> float | None:
    """SPEC §3: same currency 1; else the latest rate on or before as_of; else 1 / the latest
    inverse rate; else None."""
    if from_cur == to_cur:
        return 1.0

    def latest(f: str, t: str) -> float | None:
        best = None
        for r in fx_rows:
            if r["from_currency"] == f and r["to_currency"] == t and _date(r["as_of"]) <= as_of:
                if best is None or _date(r["as_of"]) > _date(best["as_of"]):
                    best = r
        return None if best is None else float(best["rate"])

    direct = latest(from_cur, to_cur)
    if direct is not None:
        return direct
    inverse = latest(to_cur, from_cur)
    if inverse is not None:
        return 1.0 / inverse
    return None


def _weighted_late(payments: list[tuple[float, int]]) -> float | None:
    """Amount-weighted mean days late, None when there are no payments."""
    if not payments:
        return None
    total = 0.0
    weighted = 0.0
    for w, late in payments:
        total += w
        weighted += w * late
    return weighted / total


def reference_positions(
    extract: Extract, as_of: datetime.date, incomplete: pd.DataFrame | None = None
) -> tuple[list[dict], set[tuple[str, str, str]]]:
    """(one dict per customer, sorted by company and customer_id; {(entity, key, check)} quarantined,
    key as validation formats it: ``company/document key``)."""
    company_currency = {r["company"]: r["currency"] for r in extract.companies.to_dict("records")}
    fx_rows = extract.fx_rates.to_dict("records")
    quarantined: set[tuple[str, str, str]] = set()
    flagged: set[tuple[str, str]] = set()
    if incomplete is not None:
        flagged |= {(r["company"], r["customer_id"]) for r in incomplete.to_dict("records")}

    def rated(frame: pd.DataFrame, entity: str, key: str) -> dict[tuple[str, str], list[tuple[dict, float]]]:
        """Rows with their rate, by customer, in frame order; rows without a rate quarantined."""
        by_customer: dict[tuple[str, str], list[tuple[dict, float]]] = {}
        for r in frame.to_dict("records"):
            owner = (r["company"], r["customer_id"])
            if r["company"] not in company_currency:
                quarantined.add((entity, f"{r['company']}/{r[key]}", "unknown_company"))
                flagged.add(owner)
                continue
            rate = fx_rate(fx_rows, r["currency"], company_currency[r["company"]], as_of)
            if rate is None:
                quarantined.add((entity, f"{r['company']}/{r[key]}", "fx_rate_missing"))
                flagged.add(owner)
                continue
            by_customer.setdefault(owner, []).append((r, rate))
        return by_customer

    items_by = rated(extract.open_items, "open_items", "item_id")
    orders_by = rated(extract.open_orders, "open_orders", "order_id")
    deliveries_by = rated(extract.open_deliveries, "open_deliveries", "delivery_id")
    payments_by = rated(extract.payments, "payments", "item_id")

    out = []
    customers = sorted(extract.customers.to_dict("records"), key=lambda c: (c["company"], c["customer_id"]))
    for c in customers:
        key = (c["company"], c["customer_id"])
        if c["company"] not in company_currency:
            quarantined.add(("customers", f"{c['company']}/{c['customer_id']}", "unknown_company"))
            flagged.add(key)
        p: dict[str, Any] = {"company": c["company"], "customer_id": c["customer_id"]}
        for name in ("currency", "country", "segment", "credit_limit", "insured_limit", "external_rating",
                     "payment_terms_days", "is_blocked", "on_prepayment"):
            p[name] = c[name]
        p["base_credit_limit"] = c["credit_limit"]  # no provenance here: the ERP's limit
        p["customer_age_days"] = (as_of - _date(c["customer_since"])).days

        # open items
        open_ar = 0.0
        unapplied = 0.0
        buckets = {"not_due": 0.0, "overdue_1_30": 0.0, "overdue_31_60": 0.0, "overdue_61_90": 0.0,
                   "overdue_91_plus": 0.0}
        max_dpd = 0
        max_dunning = 0
        sales_items = 0.0
        for item, rate in items_by.get(key, []):
            open_cc = item["open_amount"] * rate
            open_ar += open_cc
            if open_cc < 0:
                unapplied += open_cc
            dpd = (as_of - _date(item["due_date"])).days
            if open_cc > 0:
                if dpd <= 0:
                    buckets["not_due"] += open_cc
                elif dpd <= 30:
                    buckets["overdue_1_30"] += open_cc
                elif dpd <= 60:
                    buckets["overdue_31_60"] += open_cc
                elif dpd <= 90:
                    buckets["overdue_61_90"] += open_cc
                else:
                    buckets["overdue_91_plus"] += open_cc
                max_dpd = max(max_dpd, dpd)
            max_dunning = max(max_dunning, int(item["dunning_level"]))
            doc_age = (as_of - _date(item["doc_date"])).days  # doc_date in (as_of - 90, as_of]
            if item["doc_type"] == "invoice" and 0 <= doc_age < 90:
                sales_items += item["amount"] * rate
        p["open_ar"] = cents(open_ar)
        p["unapplied_credits"] = cents(-unapplied)
        for name, value in buckets.items():
            p[name] = cents(value)
        p["overdue_amount"] = cents(sum(p[b] for b in ("overdue_1_30", "overdue_31_60", "overdue_61_90",
                                                       "overdue_91_plus")))
        p["max_days_overdue"] = max_dpd
        p["max_dunning_level"] = max_dunning

        # orders, exposure, limits
        orders = 0.0
        for order, rate in orders_by.get(key, []):
            orders += order["open_amount"] * rate
        p["open_orders_amount"] = cents(orders)
        deliveries = 0.0
        for delivery, rate in deliveries_by.get(key, []):
            deliveries += delivery["open_amount"] * rate
        p["open_deliveries_amount"] = cents(deliveries)
        p["exposure"] = cents(p["open_ar"] + p["open_orders_amount"] + p["open_deliveries_amount"])
        limit = None if _null(c["credit_limit"]) else float(c["credit_limit"])
        p["over_limit_amount"] = math.nan if limit is None else cents(max(0.0, p["exposure"] - limit))
        p["utilisation"] = math.nan if limit is None or limit == 0 else p["exposure"] / limit
        insured = 0.0 if _null(c["insured_limit"]) else float(c["insured_limit"])
        p["uninsured_exposure"] = cents(max(0.0, p["exposure"] - insured))

        # payment behaviour
        year: list[tuple[float, int]] = []
        recent: list[tuple[float, int]] = []
        older: list[tuple[float, int]] = []
        sales_payments = 0.0
        for pay, rate in payments_by.get(key, []):
            w = pay["amount"] * rate
            late = max(0, (_date(pay["paid_date"]) - _date(pay["due_date"])).days)
            paid_age = (as_of - _date(pay["paid_date"])).days
            if 0 <= paid_age < 365:  # paid_date in (as_of - 365, as_of]
                year.append((w, late))
                (recent if paid_age < 90 else older).append((w, late))
            doc_age = (as_of - _date(pay["doc_date"])).days
            if 0 <= doc_age < 90:
                sales_payments += w
        mean_year = _weighted_late(year)
        p["avg_days_late"] = 0.0 if mean_year is None else round6(mean_year)
        p["paid_items_365"] = len(year)
        p["has_payment_history"] = len(year) > 0
        mean_recent, mean_older = _weighted_late(recent), _weighted_late(older)
        p["late_trend"] = 0.0 if mean_recent is None or mean_older is None else round6(mean_recent - mean_older)
        p["sales_90"] = cents(sales_items + sales_payments)
        p["dso"] = math.nan if p["sales_90"] == 0 else p["open_ar"] / p["sales_90"] * 90
        p["data_incomplete"] = key in flagged
        out.append(p)
    return out, quarantined
