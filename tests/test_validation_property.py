"""Property (issue 5): random corruption of a valid extract never raises an unhandled exception
and never yields an automatic release for a customer with corrupted rows."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.files import FilesConnector
from etl.extract import Extract
from etl.pipeline import evaluate
from etl.plan import build_plan, tool_owned
from etl.rules import load_ruleset
from tests.conftest import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "evaluate"
AS_OF = dt.date(2026, 6, 30)
RULES = load_ruleset([FIXTURE / "rules.yaml"])
CLEAN = FilesConnector(FIXTURE).read_extract()
RELEASES = ("unblock", "release_order", "unset_prepayment")

# values that break a cell whatever the rest of its row holds (JPY is a real code without an FX
# rate in the fixture: the row is quarantined when converted)
BAD_DATE = ["28.11.2026", "2026/11/28", "11/28/2026", "2026-02-30", "yesterday", "", "20261128"]
BAD_CURRENCY = ["ZZZ", "eur", "Euro", "", "JPY"]
BAD = {
    "customers": {
        "credit_limit": ["-1", "ten", "1.000,00"], "payment_terms_days": ["-5", "30 days", "7.5", ""],
        "customer_since": BAD_DATE, "currency": BAD_CURRENCY[:4], "country": ["Germany", "QQ", "de"],
        "is_blocked": [None, "yes", "1"], "on_prepayment": [None, "no"], "external_rating": ["0", "11", "AA"],
        "name": [""],
    },
    "open_items": {
        "item_id": [""], "doc_type": ["invoce", "INVOICE", ""], "doc_date": BAD_DATE, "due_date": BAD_DATE,
        "amount": ["abc", "12,5x", "", "0"], "open_amount": ["abc", "", "1e999x"], "currency": BAD_CURRENCY,
        "dunning_level": ["-1", "1.5", "high"],
    },
    "open_orders": {
        "order_id": [""], "order_date": BAD_DATE, "open_amount": ["-5", "n/a", ""], "currency": BAD_CURRENCY,
        "on_hold": [None, "yes"],
    },
    "payments": {
        "item_id": [""], "doc_date": BAD_DATE, "due_date": BAD_DATE, "paid_date": BAD_DATE,
        "amount": ["-5", "0", "x", ""], "currency": BAD_CURRENCY,
    },
}


@st.composite
def corruptions(draw) -> list[tuple[str, int, str, object]]:
    out = []
    for _ in range(draw(st.integers(1, 4))):
        entity = draw(st.sampled_from(sorted(BAD)))
        row = draw(st.integers(0, len(getattr(CLEAN, entity)) - 1))
        column = draw(st.sampled_from(sorted(BAD[entity])))
        out.append((entity, row, column, draw(st.sampled_from(BAD[entity][column]))))
    return out


def _corrupt(changes: list[tuple[str, int, str, object]]) -> tuple[Extract, set[tuple[str, str]]]:
    frames = {e: getattr(CLEAN, e).copy() for e in Extract.entities()}
    touched = set()
    for entity, row, column, value in changes:
        frame = frames[entity]
        frame[column] = frame[column].astype(object)
        # as the files connector reads it: an empty cell is null
        frame.iat[row, frame.columns.get_loc(column)] = None if value == "" else value
        touched.add((frame.at[row, "company"], frame.at[row, "customer_id"]))
    return Extract(**frames), touched


def _state_all_set_by_this_tool():
    """ERP state where this tool blocked every customer, held every order and set prepayment."""
    customers = CLEAN.customers[["company", "customer_id"]].assign(
        is_blocked=True, on_prepayment=True,
        credit_limit=pd.to_numeric(CLEAN.customers["credit_limit"]), payment_terms="Prepayment")
    orders = CLEAN.open_orders[["company", "order_id", "customer_id"]].assign(on_hold=True)
    audit = pd.concat([
        customers[["company", "customer_id"]].assign(change="block", order_id=None, before="false", after="true"),
        customers[["company", "customer_id"]].assign(change="set_prepayment", order_id=None, before="Net 30",
                                                     after="Prepayment"),
        orders[["company", "customer_id", "order_id"]].assign(change="hold_order", before="false", after="true"),
    ], ignore_index=True)
    audit["rule_ids"], audit["reason"] = "test", "test"
    audit["id"] = range(1, len(audit) + 1)
    return customers, orders, tool_owned(audit)


STATE = _state_all_set_by_this_tool()


def _released(extract: Extract) -> set[tuple[str, str]]:
    decisions = evaluate(extract, RULES, AS_OF).decisions
    plan = build_plan(decisions, STATE[0], STATE[1], STATE[2], auto_release=True)
    releases = plan.changes[plan.changes["change"].isin(RELEASES)]
    return set(zip(releases["company"], releases["customer_id"], strict=True))


def test_the_clean_extract_releases_what_no_rule_asks_for() -> None:
    # the property below is not vacuous: without corruption, customers do get released
    assert len(_released(CLEAN)) >= 3


@pytest.mark.filterwarnings("ignore")
@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(corruptions())
def test_corruption_never_crashes_and_never_releases_a_corrupted_customer(changes) -> None:
    extract, touched = _corrupt(changes)
    released = _released(extract)  # no exception: bad rows are quarantined, not raised
    assert not released & touched, (changes, released & touched)
