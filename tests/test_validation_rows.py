"""One test per kind of bad input (issue 5): the row lands in quarantine under the right check
name, its customer is data_incomplete, and nothing else changes.

Each case appends one bad CSV line to a copy of the clean evaluate fixture, so the files
connector's text reading is part of what is tested.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest

from connectors.files import FilesConnector
from etl.pipeline import evaluate
from etl.rules import load_ruleset
from tests.conftest import ROOT
from validation.quarantine import QUARANTINE_COLUMNS

FIXTURE = ROOT / "tests" / "fixtures" / "evaluate"
AS_OF = dt.date(2026, 6, 30)
RULES = load_ruleset([FIXTURE / "rules.yaml"])
ENTITIES = ("companies", "customers", "open_items", "open_orders", "payments", "fx_rates")

ITEM = "DE01,{id},{customer},{doc_type},{doc_date},{due_date},{amount},{open},{currency},0"


def _item(**kw: str) -> str:
    row = {"id": "BAD-1", "customer": "C1", "doc_type": "invoice", "doc_date": "2026-06-01",
           "due_date": "2026-07-01", "amount": "100", "open": "100", "currency": "EUR"} | kw
    return ITEM.format(**row)


def _evaluate(folder: Path):
    return evaluate(FilesConnector(folder).read_extract(), RULES, AS_OF)


@pytest.fixture(scope="module")
def clean():
    result = _evaluate(FIXTURE)
    assert result.quarantine.empty
    return result


def _with_line(tmp_path: Path, entity: str, line: str) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(FIXTURE, folder)
    path = folder / f"{entity}.csv"
    text = path.read_text()
    path.write_text(text + ("" if text.endswith("\n") else "\n") + line + "\n")
    return folder


# (id, entity, CSV line, expected check, quarantine key, customer marked data_incomplete)
CASES = [
    ("null item key", "open_items", _item(id=""), "item_id:null", "DE01/<null, row 7>", "C1"),
    ("null customer key", "customers",
     "DE01,,Nobody GmbH,DE,EUR,1000,30,2020-01-01,retail,,,false,false", "customer_id:null", "DE01/<null, row 8>", None),
    ("negative invoice amount", "open_items", _item(amount="-100", open="-100"), "amount_sign_for_doc_type",
     "DE01/BAD-1", "C1"),
    ("due before doc date", "open_items", _item(doc_date="2026-06-01", due_date="2026-05-01"), "due_not_before_doc",
     "DE01/BAD-1", "C1"),
    ("open larger than amount", "open_items", _item(amount="100", open="150"), "open_within_amount",
     "DE01/BAD-1", "C1"),
    ("open with the wrong sign", "open_items", _item(amount="100", open="-50"), "open_within_amount",
     "DE01/BAD-1", "C1"),
    ("unknown currency code", "open_items", _item(currency="ZZZ"), "currency:not_iso_4217", "DE01/BAD-1", "C1"),
    ("unknown country code", "customers",
     "DE01,C9,Nowhere Ltd,QQ,EUR,1000,30,2020-01-01,retail,,,false,false", "country:not_iso_3166", "DE01/C9", None),
    ("missing FX rate", "open_items", _item(currency="JPY"), "fx_rate_missing", "DE01/BAD-1", "C1"),
    ("orphan open item", "open_items", _item(customer="C99"), "unknown_customer", "DE01/BAD-1", None),
    ("orphan order", "open_orders", "DE01,SO-99,C99,2026-06-28,250,EUR,false", "unknown_customer", "DE01/SO-99", None),
    ("orphan payment", "payments", "DE01,P-99,C99,2026-01-05,2026-02-04,2026-03-16,1000,EUR", "unknown_customer",
     "DE01/P-99", None),
    ("non-numeric amount text", "open_items", _item(amount="\"12,5x\""), "amount:not_a_number", "DE01/BAD-1", "C1"),
    ("dotted date", "open_items", _item(doc_date="28.05.2026"), "doc_date:not_a_date", "DE01/BAD-1", "C1"),
    ("slashed date", "open_items", _item(due_date="2026/07/01"), "due_date:not_a_date", "DE01/BAD-1", "C1"),
    ("impossible date", "open_orders", "DE01,SO-98,C3,2026-02-30,250,EUR,false", "order_date:not_a_date",
     "DE01/SO-98", "C3"),
    ("boolean as yes", "open_orders", "DE01,SO-97,C3,2026-06-28,250,EUR,yes", "on_hold:not_a_boolean",
     "DE01/SO-97", "C3"),
    # "inf" and "nan" are no numbers in the files' grammar (issue 12); an exponent beyond any amount is
    ("infinite amount", "open_items", _item(amount="inf", open="inf"), "amount:not_a_number", "DE01/BAD-1", "C1"),
    ("overflowing exponent", "open_items", _item(amount="1e999", open="1e999"),
     "amount:less_than_or_equal_to(1000000000000000.0)", "DE01/BAD-1", "C1"),
    ("nan as amount", "open_orders", "DE01,SO-96,C3,2026-06-28,nan,EUR,false", "open_amount:not_a_number",
     "DE01/SO-96", "C3"),
    ("negative dunning level", "open_items", "DE01,BAD-1,C1,invoice,2026-06-01,2026-07-01,100,100,EUR,-1",
     "dunning_level:greater_than_or_equal_to(0)", "DE01/BAD-1", "C1"),
]


@pytest.mark.parametrize(("entity", "line", "check", "key", "customer"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_row_is_quarantined_and_nothing_else_changes(tmp_path, clean, entity, line, check, key, customer) -> None:
    result = _evaluate(_with_line(tmp_path, entity, line))
    q = result.quarantine
    assert list(q.columns) == QUARANTINE_COLUMNS
    # exactly the bad row, under the expected check name
    assert set(q["entity"]) == {entity}, q
    assert set(q["key"]) == {key}, q
    assert check in set(q["check"]), q
    # every valid row flows on as before (a row without an FX rate passes its contract and is
    # quarantined when converted, so it is left out of the comparison)
    for name in ENTITIES:
        frame = getattr(result.validated.extract, name)
        if name == entity and check == "fx_rate_missing":
            frame = frame[frame.iloc[:, 1] != key.split("/")[1]].reset_index(drop=True)
        pd.testing.assert_frame_equal(frame, getattr(clean.validated.extract, name))
    # the same decisions, except that the bad row's customer is data_incomplete
    got = result.decisions.set_index(["company", "customer_id"]).sort_index()
    want = clean.decisions.set_index(["company", "customer_id"]).sort_index()
    assert got.index.equals(want.index)
    flagged = got.index[got["data_incomplete"]].tolist()
    assert flagged == ([("DE01", customer)] if customer else [])
    pd.testing.assert_frame_equal(got.drop(columns=["data_incomplete"]), want.drop(columns=["data_incomplete"]))


def test_duplicate_customer_id_quarantines_both_rows_and_decides_nothing_for_it(tmp_path, clean) -> None:
    line = "DE01,C5,Newcomer Twin UG,DE,EUR,5000,30,2026-05-01,retail,,,false,false"
    result = _evaluate(_with_line(tmp_path, "customers", line))
    q = result.quarantine
    customers = q[q["entity"] == "customers"]
    assert set(customers["check"]) == {"duplicate_key"} and len(customers) == 2
    assert set(customers["key"]) == {"DE01/C5"}
    # its documents lose their customer (orphans), nothing else is quarantined
    assert set(q.loc[q["entity"] != "customers", "check"]) <= {"unknown_customer"}
    assert set(q["customer_id"]) == {"C5"}
    # no decision at all for C5 (its ERP state is left as it is); the others unchanged
    got = result.decisions.set_index(["company", "customer_id"]).sort_index()
    want = clean.decisions.set_index(["company", "customer_id"]).sort_index()
    assert ("DE01", "C5") not in got.index
    pd.testing.assert_frame_equal(got, want.drop(index=[("DE01", "C5")]))


def test_frame_rule_names_the_values_and_null_keys_stay_distinct(tmp_path) -> None:
    from validation.quarantine import validate_frame

    folder = _with_line(tmp_path, "open_items", _item(doc_date="2026-06-01", due_date="2026-05-01"))
    for line in (_item(id=""), _item(id="", amount="7", open="7")):
        path = folder / "open_items.csv"
        path.write_text(path.read_text() + line + "\n")
    valid, q = validate_frame("open_items", FilesConnector(folder).read_open_items([]))
    assert len(valid) == 7
    rule = q[q["check"] == "due_not_before_doc"]
    assert rule["value"].tolist() == ["doc_date=2026-06-01, due_date=2026-05-01"]
    # two rows without an item id are two quarantined rows for the share guards, each findable
    assert q.loc[q["check"] == "item_id:null", "key"].tolist() == ["DE01/<null, row 8>", "DE01/<null, row 9>"]


def test_text_columns_holding_other_values_are_still_coerced_to_text() -> None:
    """A text column of strings skips pandera's per-cell type check; one holding numbers (a
    driver's integers) is coerced to text as before, and both give the same valid frame."""
    from connectors.synthetic import synthetic_extract
    from validation.quarantine import validate_frame

    customers = synthetic_extract(30).customers
    as_text = customers.assign(customer_id=[str(1000 + i) for i in range(len(customers))])
    as_numbers = as_text.assign(customer_id=as_text["customer_id"].astype(int).astype(object))
    valid_text, quarantine_text = validate_frame("customers", as_text)
    valid_numbers, quarantine_numbers = validate_frame("customers", as_numbers)
    assert quarantine_text.empty and quarantine_numbers.empty
    assert all(isinstance(v, str) for v in valid_numbers["customer_id"])
    pd.testing.assert_frame_equal(valid_numbers, valid_text)
