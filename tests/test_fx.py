"""etl.fx: conversion into company currency with the latest rate on or before as_of (SPEC §3)."""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd
import pytest

from etl.extract import Extract
from etl.fx import FX_RATE_MISSING, UNKNOWN_COMPANY, RateTable, convert_to_company_currency
from etl.positions import compute_positions
from validation.contracts import Customers, FxRates, OpenItems
from validation.quarantine import QUARANTINE_COLUMNS

AS_OF = datetime.date(2026, 11, 28)
COMPANIES = pd.DataFrame({"company": ["DE01", "US01"], "currency": ["EUR", "USD"]})


def ts(offset: int) -> pd.Timestamp:
    return pd.Timestamp(AS_OF - datetime.timedelta(days=offset))


def fx(*rows: tuple[str, str, float, int]) -> pd.DataFrame:
    if not rows:
        return Extract.empty().fx_rates
    return FxRates.validate(pd.DataFrame(
        [{"from_currency": f, "to_currency": t, "rate": r, "as_of": ts(o)} for f, t, r, o in rows]))


def docs(*rows: tuple[str, str, float]) -> pd.DataFrame:
    """(company, currency, amount) rows shaped like open orders."""
    return pd.DataFrame({
        "company": [r[0] for r in rows], "order_id": [f"O{i}" for i in range(len(rows))],
        "customer_id": "C1", "currency": [r[1] for r in rows],
        "open_amount": [float(r[2]) for r in rows], "on_hold": False,
    })


def convert(frame: pd.DataFrame, rates: pd.DataFrame, as_of: datetime.date = AS_OF):
    return convert_to_company_currency(frame, "open_orders", ["open_amount"], COMPANIES, rates, as_of, "order_id")


def test_latest_rate_on_or_before_as_of_not_a_later_one() -> None:
    rates = fx(("USD", "EUR", 0.5, 10), ("USD", "EUR", 0.8, 1), ("USD", "EUR", 2.0, -1), ("USD", "EUR", 3.0, -30))
    out, q = convert(docs(("DE01", "USD", 100)), rates)
    assert out["open_amount"].tolist() == [80.0] and q.empty


def test_rate_dated_on_as_of_is_used() -> None:
    rates = fx(("USD", "EUR", 0.5, 10), ("USD", "EUR", 0.8, 0))
    out, _ = convert(docs(("DE01", "USD", 100)), rates)
    assert out["open_amount"].tolist() == [80.0]


def test_same_currency_converts_at_one_without_any_rate() -> None:
    frame = docs(("DE01", "EUR", 12.34), ("US01", "USD", 5.0))
    out, q = convert(frame, fx())
    assert out["open_amount"].tolist() == [12.34, 5.0] and q.empty


def test_same_currency_is_one_even_if_fx_rates_says_otherwise() -> None:
    out, _ = convert(docs(("DE01", "EUR", 10)), fx(("EUR", "EUR", 1.5, 3)))
    assert out["open_amount"].tolist() == [10.0]


def test_inverse_pair_is_used_as_one_over_rate() -> None:
    out, q = convert(docs(("DE01", "USD", 100)), fx(("EUR", "USD", 1.25, 5)))
    assert out["open_amount"].tolist() == [pytest.approx(80.0)] and q.empty


def test_direct_pair_wins_over_a_newer_inverse() -> None:
    out, _ = convert(docs(("DE01", "USD", 100)), fx(("USD", "EUR", 0.9, 30), ("EUR", "USD", 1.25, 1)))
    assert out["open_amount"].tolist() == [90.0]


def test_inverse_pair_only_counts_on_or_before_as_of() -> None:
    out, q = convert(docs(("DE01", "USD", 100)), fx(("EUR", "USD", 1.25, -1)))
    assert out.empty and q["check"].tolist() == [FX_RATE_MISSING]


def test_each_row_gets_its_own_company_currency() -> None:
    frame = docs(("DE01", "USD", 10), ("US01", "EUR", 10), ("US01", "USD", 10), ("DE01", "EUR", 10))
    out, q = convert(frame, fx(("USD", "EUR", 0.8, 3), ("EUR", "USD", 1.2, 3)))
    assert out["open_amount"].tolist() == [8.0, 12.0, 10.0, 10.0]
    assert out["currency"].tolist() == ["EUR", "USD", "USD", "EUR"]  # now the company currency
    assert q.empty


def test_missing_rate_is_quarantined_never_a_silent_zero_or_one() -> None:
    frame = docs(("DE01", "USD", 100), ("DE01", "GBP", 50), ("DE01", "EUR", 7))
    out, q = convert(frame, fx(("USD", "EUR", 0.8, 3), ("GBP", "EUR", 1.1, -2)))
    assert out["order_id"].tolist() == ["O0", "O2"]
    assert out["open_amount"].tolist() == [80.0, 7.0]
    assert list(q.columns) == QUARANTINE_COLUMNS
    assert q.to_dict("records") == [{
        "entity": "open_orders", "company": "DE01", "key": "DE01/O1", "customer_id": "C1",
        "check": "fx_rate_missing", "value": "GBP->EUR on or before 2026-11-28",
    }]


def test_unknown_company_is_quarantined() -> None:
    out, q = convert(docs(("XX01", "EUR", 100), ("DE01", "EUR", 1)), fx())
    assert out["order_id"].tolist() == ["O1"]
    assert q[["company", "key", "check", "value"]].to_dict("records") == [
        {"company": "XX01", "key": "XX01/O0", "check": UNKNOWN_COMPANY, "value": "XX01"}]


def test_converted_rows_keep_index_and_other_columns() -> None:
    frame = docs(("DE01", "USD", 100), ("DE01", "JPY", 1), ("US01", "USD", 3)).set_index(pd.Index([10, 20, 30]))
    out, q = convert(frame, fx(("USD", "EUR", 0.5, 1)))
    assert out.index.tolist() == [10, 30]
    assert list(out.columns) == list(frame.columns)
    assert out["on_hold"].tolist() == [False, False] and out["customer_id"].tolist() == ["C1", "C1"]
    assert q["key"].tolist() == ["DE01/O1"]


def test_several_amount_columns_and_no_customer_column() -> None:
    frame = pd.DataFrame({"company": ["DE01", "DE01"], "item_id": ["a", "b"], "currency": ["USD", "CHF"],
                          "amount": [10.0, 1.0], "open_amount": [4.0, 1.0]})
    out, q = convert_to_company_currency(frame, "open_items", ["amount", "open_amount"], COMPANIES,
                                         fx(("USD", "EUR", 0.5, 1)), AS_OF, "item_id")
    assert out[["amount", "open_amount"]].to_numpy().tolist() == [[5.0, 2.0]]
    assert q["customer_id"].tolist() == [None] and q["key"].tolist() == ["DE01/b"]


def test_empty_frame() -> None:
    out, q = convert(docs(), fx(("USD", "EUR", 0.5, 1)))
    assert out.empty and list(out.columns) == list(docs().columns)
    assert q.empty and list(q.columns) == QUARANTINE_COLUMNS


def test_categorical_columns() -> None:
    frame = docs(("DE01", "USD", 100), ("US01", "GBP", 1)).astype({"company": "category", "currency": "category"})
    out, q = convert(frame, fx(("USD", "EUR", 0.5, 1)))
    assert out["open_amount"].tolist() == [50.0] and q["check"].tolist() == [FX_RATE_MISSING]


def test_rate_table_matrix() -> None:
    table = RateTable.build(COMPANIES, fx(("USD", "EUR", 0.5, 1), ("GBP", "USD", 1.3, 2)), AS_OF)
    assert table.companies.tolist() == ["DE01", "US01"]
    assert table.currencies.tolist() == ["EUR", "GBP", "USD"]
    m = table.rates
    assert m.shape == (3, 4)
    assert m[0, 0] == 1.0 and np.isnan(m[0, 1]) and m[0, 2] == 0.5
    assert m[1, 0] == 2.0 and m[1, 1] == 1.3 and m[1, 2] == 1.0
    assert np.isnan(m[-1]).all() and np.isnan(m[:, -1]).all()  # code -1 (unknown) looks up NaN


def test_missing_rate_marks_customer_incomplete_in_positions() -> None:
    customers = Customers.validate(pd.DataFrame([{
        "company": c, "customer_id": i, "name": i, "country": None, "currency": "EUR", "credit_limit": 100.0,
        "payment_terms_days": 30, "customer_since": ts(500), "segment": None, "insured_limit": None,
        "external_rating": None, "is_blocked": False, "on_prepayment": False,
    } for c, i in (("DE01", "A"), ("DE01", "B"))]).astype({"insured_limit": float, "external_rating": "Int64"}))
    items = OpenItems.validate(pd.DataFrame([{
        "company": "DE01", "item_id": f"I{n}", "customer_id": cust, "doc_type": "invoice", "doc_date": ts(40),
        "due_date": ts(10), "amount": amt, "open_amount": amt, "currency": cur, "dunning_level": 0,
    } for n, (cust, cur, amt) in enumerate([("A", "SEK", 1000.0), ("A", "EUR", 20.0), ("B", "USD", 10.0)])]))
    ex = Extract.empty().replace(companies=COMPANIES, customers=customers, open_items=items,
                                 fx_rates=fx(("USD", "EUR", 0.5, 1)))
    res = compute_positions(ex, AS_OF)
    p = res.positions.set_index("customer_id")
    assert bool(p.loc["A", "data_incomplete"]) and not bool(p.loc["B", "data_incomplete"])
    assert p.loc["A", "open_ar"] == 20.0  # the SEK item is out of every sum, not counted at 0 or 1
    assert p.loc["B", "open_ar"] == 5.0
    assert res.quarantine[["entity", "key", "customer_id", "check", "value"]].to_dict("records") == [
        {"entity": "open_items", "key": "DE01/I0", "customer_id": "A", "check": "fx_rate_missing",
         "value": "SEK->EUR on or before 2026-11-28"}]
