"""Validation splits bad rows into quarantine with a reason; the rest flows on (SPEC §3)."""

from __future__ import annotations

import pandas as pd
import pytest

from connectors.files import FilesConnector
from etl.quality import validate_extract
from tests.conftest import ROOT
from validation.quarantine import QUARANTINE_COLUMNS, ContractError, validate_frame

FIXTURE = ROOT / "tests" / "fixtures" / "evaluate"


@pytest.fixture
def extract():
    return FilesConnector(FIXTURE).read_extract()


def test_the_fixture_is_clean(extract) -> None:
    validated = validate_extract(extract)
    assert validated.quarantine.empty
    assert validated.rows["customers"] == 8 and validated.quarantined["customers"] == 0
    assert validated.extract.customers["credit_limit"].dtype == "float64"
    assert validated.extract.open_items["due_date"].dtype == "datetime64[ns]"


def _with_row(extract, entity: str, **changes):
    frame = getattr(extract, entity).copy()
    row = frame.iloc[[0]].copy()
    for column, value in changes.items():
        row[column] = value
    return extract.replace(**{entity: pd.concat([frame, row], ignore_index=True)})


@pytest.mark.parametrize(
    ("entity", "changes", "check"),
    [
        ("open_items", {"item_id": "X1", "amount": "12,5x", "open_amount": "1"}, "amount:not_a_number"),
        ("open_items", {"item_id": "X2", "due_date": "2026-01-01", "doc_date": "2026-02-01"}, "due_not_before_doc"),
        ("open_items", {"item_id": "X3", "doc_type": "invoce"}, "doc_type:not_allowed"),
        ("open_items", {"item_id": "X4", "customer_id": "NOBODY"}, "unknown_customer"),
        ("open_items", {"item_id": "X5", "currency": "euro"}, "currency:not_iso_4217"),
        ("open_orders", {"order_id": "S1", "customer_id": "NOBODY"}, "unknown_customer"),
        ("customers", {"customer_id": "C5"}, "duplicate_key"),
        ("customers", {"customer_id": "C9", "is_blocked": None}, "is_blocked:not_a_boolean"),
        ("customers", {"customer_id": "C9", "on_prepayment": "no"}, "on_prepayment:not_a_boolean"),
    ],
)
def test_a_bad_row_is_quarantined_and_the_rest_flows_on(extract, entity, changes, check) -> None:
    validated = validate_extract(_with_row(extract, entity, **changes))
    q = validated.quarantine
    assert list(q.columns) == QUARANTINE_COLUMNS
    assert check in set(q["check"]), q
    assert set(q["entity"]) == {entity}
    clean = validate_extract(extract)
    for name in ("companies", "open_items", "open_orders", "payments", "fx_rates"):
        if name != entity:
            pd.testing.assert_frame_equal(getattr(validated.extract, name), getattr(clean.extract, name))


def test_duplicate_customer_quarantines_both_rows_and_marks_incomplete(extract) -> None:
    validated = validate_extract(_with_row(extract, "customers", name="Other name"))
    assert "C1" not in set(validated.extract.customers["customer_id"])
    assert ("DE01", "C1") in set(map(tuple, validated.incomplete_customers().values))


def test_a_wrong_column_set_is_one_clear_error(extract) -> None:
    with pytest.raises(ContractError, match=r"^open_items: missing column\(s\) due_date"):
        validate_frame("open_items", extract.open_items.drop(columns=["due_date"]))
