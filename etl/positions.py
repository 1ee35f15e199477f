"""Credit positions (SPEC §4): one row per customer, all money in company currency.

Vectorised over integer codes: every customer gets a row number (customers sorted by company,
customer_id), every item / order / payment row is mapped to that number once (one hash lookup
of ``customer_id``, one of ``company``, one of ``currency``), and every sum is an
``np.bincount`` over those numbers, every maximum an ``np.maximum.at``. No Python loop over rows,
no copy of the big frames beyond the few numeric arrays the sums need.

Exactness: each document amount is converted with its rate (unrounded, float64), the per-customer
sums accumulate in frame order and are rounded to cents (half to even) at the end; fields derived
from rounded sums (overdue_amount, exposure, over_limit_amount, uninsured_exposure) are computed
from the rounded parts and rounded again. Ratios (utilisation, dso) are computed from the rounded
sums and left unrounded; the day-weighted means (avg_days_late, late_trend) are rounded to 6
decimals so that, say, "every payment exactly 30 days late" is exactly 30.0.
See docs/positions.md for every field and edge case.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import numpy as np
import pandas as pd

from etl.extract import Extract
from etl.fx import UNKNOWN_COMPANY, RateTable, index_codes
from validation.numbers import plain_text
from validation.quarantine import empty_quarantine, quarantine_rows

#: customer attributes passed through from the customers frame (SPEC §4 first row)
CUSTOMER_ATTRIBUTES = [
    "currency", "country", "segment", "credit_limit", "insured_limit", "external_rating",
    "payment_terms_days", "is_blocked", "on_prepayment",
]

#: the positions frame's columns, in this order (risk_score / risk_grade come from the rules)
POSITION_COLUMNS: list[str] = [
    "company", "customer_id",
    *CUSTOMER_ATTRIBUTES,
    "base_credit_limit",
    "customer_age_days",
    # receivables and aging
    "open_ar", "unapplied_credits", "not_due",
    "overdue_1_30", "overdue_31_60", "overdue_61_90", "overdue_91_plus",
    "overdue_amount", "max_days_overdue", "max_dunning_level",
    # exposure against limits
    "open_orders_amount", "open_deliveries_amount", "exposure", "over_limit_amount", "utilisation", "uninsured_exposure",
    # payment behaviour and sales
    "avg_days_late", "paid_items_365", "has_payment_history", "late_trend",
    "sales_90", "dso",
    "data_incomplete",
]

#: aging buckets: dpd <= 0, 1..30, 31..60, 61..90, >= 91
BUCKETS = ["not_due", "overdue_1_30", "overdue_31_60", "overdue_61_90", "overdue_91_plus"]

SALES_WINDOW_DAYS = 90
HISTORY_WINDOW_DAYS = 365
RECENT_WINDOW_DAYS = 90


@dataclass(frozen=True)
class PositionsResult:
    positions: pd.DataFrame  # POSITION_COLUMNS, one row per customer, sorted by company, customer_id
    quarantine: pd.DataFrame  # QUARANTINE_COLUMNS, rows excluded for a missing rate / unknown company


def cents(values: np.ndarray) -> np.ndarray:
    """Round money to cents, half to even on the float value (numpy's rule); never -0.0."""
    return np.round(values, 2) + 0.0


def _days(series: pd.Series) -> np.ndarray:
    """Dates as integer day numbers (days since 1970-01-01), whatever the datetime unit."""
    return series.to_numpy().astype("datetime64[D]").astype(np.int64)


def _day(value: datetime.date) -> int:
    return int(np.datetime64(value, "D").astype(np.int64))


class _CustomerIndex:
    """Maps (company, customer_id) of any frame to the row number of the customer (-1 = none)."""

    _DENSE_LIMIT = 64_000_000  # entries of the dense (company x id) lookup table

    def __init__(self, customers: pd.DataFrame, table: RateTable) -> None:
        self.n = len(customers)
        self.ids = pd.Index(pd.unique(customers["customer_id"].to_numpy(dtype=object)), dtype=object)
        comp = table.company_codes(customers["company"])
        ids = index_codes(self.ids, customers["customer_id"])
        self.n_ids = len(self.ids)
        rows = np.arange(self.n, dtype=np.intp)
        size = (len(table.companies) + 1) * (self.n_ids + 1)
        if size <= self._DENSE_LIMIT:
            self.dense: np.ndarray | None = np.full((len(table.companies) + 1, self.n_ids + 1), -1, np.intp)
            self.dense[comp, ids] = rows
            self.keys: pd.Index | None = None
        else:
            self.dense = None
            self.keys = pd.Index(comp.astype(np.int64) * (self.n_ids + 1) + ids)

    def locate(self, company_code: np.ndarray, customer_id: pd.Series) -> np.ndarray:
        ids = index_codes(self.ids, customer_id)
        if self.dense is not None:
            return self.dense[company_code, ids]
        assert self.keys is not None
        rows = self.keys.get_indexer(company_code.astype(np.int64) * (self.n_ids + 1) + ids)
        rows[(company_code < 0) | (ids < 0)] = -1
        return rows


@dataclass
class _Rows:
    """The usable rows of one frame: customer row number and rate, plus how to take columns."""

    frame: pd.DataFrame
    row: np.ndarray
    rate: np.ndarray
    take: np.ndarray | None  # positions in frame of the usable rows; None = all rows

    def col(self, name: str, dtype: object = None) -> np.ndarray:
        values = self.frame[name].to_numpy(dtype=dtype)
        return values if self.take is None else values[self.take]

    def equals(self, name: str, value: object) -> np.ndarray:
        """Mask of the cells equal to ``value`` (a null is not), compared in the column's dtype."""
        values = self.frame[name].eq(value).to_numpy(dtype=bool, na_value=False)
        return values if self.take is None else values[self.take]

    def days(self, name: str) -> np.ndarray:
        values = _days(self.frame[name])
        return values if self.take is None else values[self.take]

    def money(self, name: str) -> np.ndarray:
        """The column converted to company currency (unrounded)."""
        return self.col(name, float) * self.rate


def _usable(
    frame: pd.DataFrame,
    entity: str,
    key_column: str,
    table: RateTable,
    customers: _CustomerIndex,
    incomplete: np.ndarray,
    quarantine: list[pd.DataFrame],
) -> _Rows:
    """Resolve customer and rate per row; quarantine rows without a rate and flag their customer.

    Rows whose (company, customer_id) is not a customer are left out: they belong to no position
    (etl.quality.validate_extract quarantines them upstream as unknown_customer).
    """
    company_code = table.company_codes(frame["company"])
    lookup = table.lookup(frame, company_code)
    row = customers.locate(company_code, frame["customer_id"])
    missing = lookup.missing
    usable = row >= 0
    if missing.any():
        quarantine.append(table.quarantine(frame, entity, key_column, lookup))
        incomplete[row[missing & usable]] = True
        usable &= ~missing
    if usable.all():
        return _Rows(frame, row, lookup.rate, None)
    take = np.flatnonzero(usable)
    return _Rows(frame, row[take], lookup.rate[take], take)


def _sum(row: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(row, weights=weights, minlength=n)


def _weighted_mean(row: np.ndarray, weight: np.ndarray, days: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per customer: Σ weight·days / Σ weight (0 where no rows) and the row count."""
    count = np.bincount(row, minlength=n)
    total = _sum(row, weight, n)
    weighted = _sum(row, weight * days, n)
    mean = np.divide(weighted, total, out=np.zeros(n), where=count > 0)
    return mean, count


def _against_limit(exposure: np.ndarray, limit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """over_limit_amount and utilisation of exposures against limits (NaN = no limit)."""
    over = np.where(np.isnan(limit), np.nan, cents(np.maximum(exposure - limit, 0.0)))
    with np.errstate(divide="ignore", invalid="ignore"):
        utilisation = np.where(np.isnan(limit) | (limit == 0), np.nan, exposure / limit)
    return over, utilisation


def with_credit_limit(positions: pd.DataFrame, limit: np.ndarray) -> pd.DataFrame:
    """``positions`` with ``credit_limit`` = ``limit`` (NaN = none) and the fields that depend on it
    (over_limit_amount, utilisation) recomputed: the position as it will be once a cut is applied."""
    out = positions.copy()
    limit = np.asarray(limit, dtype="float64")
    out["credit_limit"] = limit
    exposure = pd.to_numeric(out["exposure"]).to_numpy(dtype="float64")
    out["over_limit_amount"], out["utilisation"] = _against_limit(exposure, limit)
    return out


def compute_positions(
    extract: Extract, as_of: datetime.date, incomplete: pd.DataFrame | None = None
) -> PositionsResult:
    """Compute every customer's credit position on ``as_of`` (SPEC §4).

    ``extract``'s frames are assumed to satisfy their contracts. ``incomplete`` (columns company,
    customer_id; e.g. the upstream quarantine frame) names customers with quarantined rows: they
    are ``data_incomplete``. Items, orders and payments without an FX rate (or of an unknown
    company) are quarantined, left out of every aggregate, and make their customer
    ``data_incomplete``; so does a customer whose company is not in ``companies``.
    """
    as_of = pd.Timestamp(as_of).date()
    customers = extract.customers.sort_values(["company", "customer_id"], kind="stable", ignore_index=True)
    n = len(customers)
    table = RateTable.build(extract.companies, extract.fx_rates, as_of, extra_companies=customers["company"])
    index = _CustomerIndex(customers, table)
    today = _day(as_of)
    flags = np.zeros(n, dtype=bool)
    quarantine: list[pd.DataFrame] = []

    # customers of a company that is not in companies: no company currency, nothing is sure
    unknown = ~table.known_company(table.company_codes(customers["company"]))
    # (validation.quality quarantines and drops these upstream; this guards direct callers)
    if unknown.any():
        flags |= unknown
        bad = customers[unknown]
        quarantine.append(quarantine_rows("customers", bad, UNKNOWN_COMPANY, bad["company"].astype(str)))

    # the positions' text as object cells (a null None) whatever the extract's dtypes: compact
    # text columns (validation.numbers.compact_text) are no concern of the rules and reports
    out: dict[str, object] = {"company": plain_text(customers["company"]),
                              "customer_id": plain_text(customers["customer_id"])}
    for name in CUSTOMER_ATTRIBUTES:
        out[name] = plain_text(customers[name]) if customers[name].dtype.kind not in "biufcmM" else customers[name]
    # the limit a person set: the ERP's limit until etl.pipeline.positions_for knows this tool's cuts
    out["base_credit_limit"] = customers["credit_limit"]
    out["customer_age_days"] = today - _days(customers["customer_since"])

    # ---- open items: receivables, aging, dunning, invoiced sales
    items = _usable(extract.open_items, "open_items", "item_id", table, index, flags, quarantine)
    open_cc = items.money("open_amount")
    open_ar = cents(_sum(items.row, open_cc, n))
    negative = open_cc < 0
    unapplied = cents(-_sum(items.row[negative], open_cc[negative], n))
    positive = np.flatnonzero(open_cc > 0)
    del negative
    dpd = today - items.days("due_date")[positive]
    pos_row = items.row[positive]
    bucket = np.clip((dpd + 29) // 30, 0, 4)  # dpd <=0 ->0, 1..30 ->1, 31..60 ->2, 61..90 ->3, >=91 ->4
    aging = cents(np.bincount(pos_row * 5 + bucket, weights=open_cc[positive], minlength=5 * n).reshape(n, 5))
    max_dpd = np.zeros(n, dtype=np.int64)
    np.maximum.at(max_dpd, pos_row, dpd)  # starts at 0: 0 when nothing is overdue
    del dpd, pos_row, bucket, positive, open_cc
    max_dunning = np.zeros(n, dtype=np.int64)
    np.maximum.at(max_dunning, items.row, items.col("dunning_level", np.int64))
    doc = items.days("doc_date")
    recent = np.flatnonzero((doc > today - SALES_WINDOW_DAYS) & (doc <= today))
    del doc
    invoice = recent[items.equals("doc_type", "invoice")[recent]]
    sales_items = _sum(items.row[invoice], items.col("amount", float)[invoice] * items.rate[invoice], n)
    del items, recent, invoice

    # ---- open orders
    orders = _usable(extract.open_orders, "open_orders", "order_id", table, index, flags, quarantine)
    open_orders = cents(_sum(orders.row, orders.money("open_amount"), n))
    del orders
    deliveries = _usable(extract.open_deliveries, "open_deliveries", "delivery_id", table, index, flags, quarantine)
    open_deliveries = cents(_sum(deliveries.row, deliveries.money("open_amount"), n))
    del deliveries

    # ---- payments: lateness over the history windows, cleared invoices in the sales window
    pay = _usable(extract.payments, "payments", "item_id", table, index, flags, quarantine)
    amount_cc = pay.money("amount")
    doc = pay.days("doc_date")
    recent = (doc > today - SALES_WINDOW_DAYS) & (doc <= today)
    sales_payments = _sum(pay.row[recent], amount_cc[recent], n)
    del doc, recent
    paid = pay.days("paid_date")
    late = np.maximum(paid - pay.days("due_date"), 0)
    in_year = np.flatnonzero((paid > today - HISTORY_WINDOW_DAYS) & (paid <= today))
    is_recent = paid[in_year] > today - RECENT_WINDOW_DAYS
    del paid
    row_y, w_y, late_y = pay.row[in_year], amount_cc[in_year], late[in_year]
    del pay, amount_cc, late, in_year
    mean_year, count_year = _weighted_mean(row_y, w_y, late_y, n)
    mean_recent, count_recent = _weighted_mean(row_y[is_recent], w_y[is_recent], late_y[is_recent], n)
    older = ~is_recent
    mean_older, count_older = _weighted_mean(row_y[older], w_y[older], late_y[older], n)
    del row_y, w_y, late_y, is_recent, older
    both = (count_recent > 0) & (count_older > 0)
    trend = np.where(both, mean_recent - mean_older, 0.0)

    # ---- assemble
    out["open_ar"] = open_ar
    out["unapplied_credits"] = unapplied
    for i, name in enumerate(BUCKETS):
        out[name] = aging[:, i]
    overdue = cents(aging[:, 1] + aging[:, 2] + aging[:, 3] + aging[:, 4])
    out["overdue_amount"] = overdue
    out["max_days_overdue"] = max_dpd
    out["max_dunning_level"] = max_dunning
    out["open_orders_amount"] = open_orders
    out["open_deliveries_amount"] = open_deliveries
    exposure = cents(open_ar + open_orders + open_deliveries)
    out["exposure"] = exposure
    limit = customers["credit_limit"].to_numpy(dtype=float, na_value=np.nan)
    out["over_limit_amount"], out["utilisation"] = _against_limit(exposure, limit)
    insured = np.nan_to_num(customers["insured_limit"].to_numpy(dtype=float, na_value=np.nan), nan=0.0)
    out["uninsured_exposure"] = cents(np.maximum(exposure - insured, 0.0))
    out["avg_days_late"] = np.round(mean_year, 6) + 0.0
    out["paid_items_365"] = count_year.astype(np.int64)
    out["has_payment_history"] = count_year > 0
    out["late_trend"] = np.round(trend, 6) + 0.0
    sales = cents(sales_items + sales_payments)
    out["sales_90"] = sales
    with np.errstate(divide="ignore", invalid="ignore"):
        out["dso"] = np.where(sales == 0, np.nan, open_ar / sales * 90)

    if incomplete is not None and len(incomplete):
        given = index.locate(table.company_codes(incomplete["company"]), incomplete["customer_id"])
        flags[given[given >= 0]] = True
    out["data_incomplete"] = flags

    positions = pd.DataFrame(out, columns=POSITION_COLUMNS)
    for name in ("payment_terms_days",):
        positions[name] = positions[name].astype(np.int64)
    positions["is_blocked"] = positions["is_blocked"].astype(bool)
    positions["on_prepayment"] = positions["on_prepayment"].astype(bool)
    q = pd.concat(quarantine, ignore_index=True) if quarantine else empty_quarantine()
    return PositionsResult(positions, q)
