"""The rule vocabulary: the SPEC §4 credit-position fields a condition may name, with types."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import StrEnum


class Type(StrEnum):
    """Value types of the expression language (``null`` is the type of the literal only)."""

    NUMBER = "number"
    STRING = "string"
    BOOLEAN = "boolean"
    NULL = "null"


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: Type
    nullable: bool
    description: str


def _f(name: str, type_: Type, nullable: bool, description: str) -> FieldSpec:
    return FieldSpec(name, type_, nullable, description)


N, S, B = Type.NUMBER, Type.STRING, Type.BOOLEAN

#: every field a rule may use, in SPEC §4 order; money is in company currency
FIELDS: dict[str, FieldSpec] = {f.name: f for f in [
    _f("company", S, False, "company code"),
    _f("currency", S, False, "customer billing currency (ISO-4217)"),
    _f("country", S, True, "customer country (ISO-3166 alpha-2)"),
    _f("segment", S, True, "industry / customer group"),
    _f("credit_limit", N, True, "credit limit in force in the ERP now; null = no limit set"),
    _f("base_credit_limit", N, True, "the limit a person last set, before this tool's own cuts; "
                                     "= credit_limit when this tool never cut it"),
    _f("insured_limit", N, True, "trade-credit-insurance cover"),
    _f("external_rating", N, True, "external rating 1 (best) .. 10 (worst)"),
    _f("payment_terms_days", N, False, "standard payment terms in days"),
    _f("is_blocked", B, False, "customer blocked in the ERP now"),
    _f("on_prepayment", B, False, "customer on prepayment terms in the ERP now"),
    _f("customer_age_days", N, False, "days since customer_since"),
    _f("open_ar", N, False, "sum of open items (credit notes and payments reduce it)"),
    _f("unapplied_credits", N, False, "open credit notes and payments on account, as a positive number"),
    _f("not_due", N, False, "open invoices not yet due"),
    _f("overdue_1_30", N, False, "open invoices 1-30 days past due"),
    _f("overdue_31_60", N, False, "open invoices 31-60 days past due"),
    _f("overdue_61_90", N, False, "open invoices 61-90 days past due"),
    _f("overdue_91_plus", N, False, "open invoices more than 90 days past due"),
    _f("overdue_amount", N, False, "sum of the four overdue buckets"),
    _f("max_days_overdue", N, False, "largest days past due of an open invoice, 0 if none"),
    _f("open_orders_amount", N, False, "uninvoiced value of open sales orders"),
    _f("open_deliveries_amount", N, False, "uninvoiced value of deliveries not counted in an open order"),
    _f("exposure", N, False, "open_ar + open_orders_amount + open_deliveries_amount"),
    _f("over_limit_amount", N, True, "max(0, exposure - credit_limit); null without a limit"),
    _f("utilisation", N, True, "exposure / credit_limit; null without a limit or with limit 0"),
    _f("uninsured_exposure", N, False, "max(0, exposure - insured_limit)"),
    _f("avg_days_late", N, False, "amount-weighted mean days late of invoices paid in the last 365 days"),
    _f("paid_items_365", N, False, "number of invoices paid in the last 365 days"),
    _f("has_payment_history", B, False, "paid_items_365 > 0"),
    _f("late_trend", N, False, "avg days late of the last 90 days minus that of the 275 days before"),
    _f("sales_90", N, False, "invoiced in the last 90 days"),
    _f("dso", N, True, "days sales outstanding: open_ar / sales_90 * 90; null when sales_90 is 0"),
    _f("max_dunning_level", N, False, "highest dunning level of an open item, 0 if none"),
    _f("risk_score", N, True, "scorecard points; null without a scorecard"),
    _f("risk_grade", S, True, "scorecard grade; null without a scorecard"),
    _f("data_incomplete", B, False, "some of the customer's rows were quarantined"),
]}

#: fields the scorecard computes (a scorecard may not use them itself)
SCORE_FIELDS = frozenset({"risk_score", "risk_grade"})

#: keys allowed in a `scope:` mapping, each naming a string field
SCOPE_KEYS = ("company", "segment", "country")


def suggest(name: str, candidates: list[str] | tuple[str, ...] | None = None) -> str | None:
    """The closest known name, for a did-you-mean hint."""
    pool = list(FIELDS) if candidates is None else list(candidates)
    match = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    if not match and "_" not in name and candidates is None:
        # 'overdue' -> 'overdue_amount': try prefix matches for bare words
        prefixed = [f for f in pool if f.startswith(name)]
        match = prefixed[:1]
    return match[0] if match else None
