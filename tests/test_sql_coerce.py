"""Connector reads never turn a bad or missing database value into a silent 0, False or null."""

from __future__ import annotations

import pandas as pd

from connectors.sql import coerce
from validation.contracts import empty_frame
from validation.quarantine import validate_frame


def _customers(**overrides) -> pd.DataFrame:
    row = {"company": "A", "customer_id": "1", "name": "N", "country": "DE", "currency": "EUR",
           "credit_limit": 1000, "payment_terms_days": 30, "customer_since": "2020-01-01", "segment": None,
           "insured_limit": None, "external_rating": None, "is_blocked": 0, "on_prepayment": 1}
    rows = [row, {**row, "customer_id": "2", **overrides}]
    return pd.DataFrame.from_records(rows)


def test_clean_values_get_the_contract_dtypes() -> None:
    out = coerce(_customers(), empty_frame("customers"))
    assert out.dtypes.equals(empty_frame("customers").dtypes)
    assert out["on_prepayment"].tolist() == [True, True] and out["is_blocked"].tolist() == [False, False]


def test_a_null_flag_is_quarantined_not_read_as_false() -> None:
    valid, quarantine = validate_frame("customers", coerce(_customers(is_blocked=None), empty_frame("customers")))
    assert valid["customer_id"].tolist() == ["1"]
    assert quarantine["check"].tolist() == ["is_blocked:not_a_boolean"]


def test_text_in_a_money_column_is_quarantined_not_read_as_no_limit() -> None:
    valid, quarantine = validate_frame("customers", coerce(_customers(credit_limit="12,5x"), empty_frame("customers")))
    assert valid["customer_id"].tolist() == ["1"] and valid["credit_limit"].tolist() == [1000.0]
    assert quarantine["check"].tolist() == ["credit_limit:not_a_number"]


def test_a_null_count_is_quarantined_not_read_as_zero() -> None:
    valid, quarantine = validate_frame("customers", coerce(_customers(payment_terms_days=None), empty_frame("customers")))
    assert valid["customer_id"].tolist() == ["1"]
    assert set(quarantine["key"]) == {"A/2"}
    assert "payment_terms_days:null" in set(quarantine["check"])
