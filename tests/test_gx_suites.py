"""SPEC §3 contracts as great-expectations suites: derived from the pandera models, run on real GX."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from decimal import Decimal

import pandas as pd
import pandera.pandas as pa
import pytest
from pandera.errors import SchemaErrors
from pandera.typing import Series

from tests.conftest import ROOT
from validation import contracts
from validation.contracts import ENTITIES, empty_frame
from validation.gx_suites import (
    PANDERA_ONLY,
    SUITE_PREFIX,
    GxResult,
    run_suite,
    run_suites,
    suite_for,
    suite_from_model,
)

D = pd.Timestamp


def _frame(entity: str, rows: list[dict]) -> pd.DataFrame:
    """Rows in the contract's column order and dtypes (from validation.contracts.empty_frame)."""
    dtypes = empty_frame(entity).dtypes
    frame = pd.DataFrame(rows, columns=list(dtypes.index))
    return frame.astype(dtypes.to_dict())


VALID_ROWS: dict[str, list[dict]] = {
    "companies": [
        {"company": "ACME-DE", "currency": "EUR"},
        {"company": "ACME-US", "currency": "USD"},
    ],
    "customers": [
        {"company": "ACME-DE", "customer_id": "C1", "name": "Alpha GmbH", "country": "DE",
         "currency": "EUR", "credit_limit": 50_000.0, "payment_terms_days": 30,
         "customer_since": D("2019-03-01"), "segment": "retail", "insured_limit": 40_000.0,
         "external_rating": 3, "is_blocked": False, "on_prepayment": False},
        {"company": "ACME-DE", "customer_id": "C2", "name": "Beta SA", "country": None,
         "currency": "CHF", "credit_limit": None, "payment_terms_days": 0,
         "customer_since": D("2023-01-15"), "segment": None, "insured_limit": None,
         "external_rating": None, "is_blocked": True, "on_prepayment": True},
        {"company": "ACME-US", "customer_id": "C1", "name": "Alpha Inc", "country": "US",
         "currency": "USD", "credit_limit": 0.0, "payment_terms_days": 60,
         "customer_since": D("2020-06-30"), "segment": "wholesale", "insured_limit": 0.0,
         "external_rating": 10, "is_blocked": False, "on_prepayment": False},
    ],
    "open_items": [
        {"company": "ACME-DE", "item_id": "INV-1", "customer_id": "C1", "doc_type": "invoice",
         "doc_date": D("2024-05-01"), "due_date": D("2024-05-31"), "amount": 1_000.0,
         "open_amount": 400.0, "currency": "EUR", "dunning_level": 1},
        {"company": "ACME-DE", "item_id": "CN-1", "customer_id": "C1", "doc_type": "credit_note",
         "doc_date": D("2024-05-10"), "due_date": D("2024-05-10"), "amount": -200.0,
         "open_amount": -200.0, "currency": "EUR", "dunning_level": 0},
        {"company": "ACME-US", "item_id": "INV-1", "customer_id": "C1", "doc_type": "debit_note",
         "doc_date": D("2024-04-01"), "due_date": D("2024-05-01"), "amount": 75.5,
         "open_amount": 75.5, "currency": "USD", "dunning_level": 0},
    ],
    "open_orders": [
        {"company": "ACME-DE", "order_id": "SO-1", "customer_id": "C1", "order_date": D("2024-05-20"),
         "open_amount": 1_200.0, "currency": "EUR", "on_hold": False},
        {"company": "ACME-DE", "order_id": "SO-2", "customer_id": "C2", "order_date": D("2024-05-21"),
         "open_amount": 0.0, "currency": "CHF", "on_hold": True},
    ],
    "open_deliveries": [
        {"company": "ACME-DE", "delivery_id": "DN-1", "customer_id": "C1", "delivery_date": D("2024-05-22"),
         "open_amount": 300.0, "currency": "EUR"},
    ],
    "payments": [
        {"company": "ACME-DE", "item_id": "INV-0", "customer_id": "C1", "doc_date": D("2024-01-01"),
         "due_date": D("2024-01-31"), "paid_date": D("2024-02-05"), "amount": 500.0, "currency": "EUR"},
        {"company": "ACME-US", "item_id": "INV-0", "customer_id": "C1", "doc_date": D("2024-02-01"),
         "due_date": D("2024-03-01"), "paid_date": D("2024-02-20"), "amount": 0.01, "currency": "USD"},
    ],
    "fx_rates": [
        {"from_currency": "USD", "to_currency": "EUR", "rate": 0.92, "as_of": D("2024-05-01")},
        {"from_currency": "USD", "to_currency": "EUR", "rate": 0.93, "as_of": D("2024-05-02")},
        {"from_currency": "CHF", "to_currency": "EUR", "rate": 1.02, "as_of": D("2024-05-01")},
    ],
}


def valid(entity: str) -> pd.DataFrame:
    return _frame(entity, VALID_ROWS[entity])


def _pandera_rejects(entity: str, frame: pd.DataFrame) -> bool:
    model, _ = ENTITIES[entity]
    try:
        model.validate(frame, lazy=True)
    except SchemaErrors:
        return True
    return False


def _sources(entity: str) -> list[str]:
    return [s for e in suite_for(entity).expectations for s in (e.meta or {})["pandera"]]


def _by_type(entity: str, type_: str) -> list[dict]:
    return [e.configuration.kwargs for e in suite_for(entity).expectations if e.expectation_type == type_]


# --- suites derive from the models -------------------------------------------------------------
def test_customers_suite_carries_the_contract() -> None:
    suite = suite_for("customers")
    assert suite.name == SUITE_PREFIX + "customers"
    not_null = {kw["column"] for kw in _by_type("customers", "expect_column_values_to_not_be_null")}
    assert {"company", "customer_id", "name", "is_blocked"} <= not_null
    assert not not_null & {"country", "credit_limit", "segment", "insured_limit", "external_rating"}
    (rating,) = [kw for kw in _by_type("customers", "expect_column_values_to_be_between")
                 if kw["column"] == "external_rating"]
    assert (rating["min_value"], rating["max_value"]) == (1, 10)
    assert not rating.get("strict_min") and not rating.get("strict_max")
    regex = {kw["column"]: kw["regex"] for kw in _by_type("customers", "expect_column_values_to_match_regex")}
    assert regex["currency"] == contracts.ISO_CURRENCY and regex["country"] == contracts.ISO_COUNTRY
    (key,) = _by_type("customers", "expect_compound_columns_to_be_unique")
    assert key["column_list"] == ["company", "customer_id"]
    exists = [kw["column"] for kw in _by_type("customers", "expect_column_to_exist")]
    assert exists == contracts.columns("customers")


def test_other_entities_translate_their_specials() -> None:
    (doc_type,) = _by_type("open_items", "expect_column_values_to_be_in_set")
    assert doc_type == {"column": "doc_type", "value_set": contracts.DOC_TYPES}
    (pair,) = _by_type("open_items", "expect_column_pair_values_a_to_be_greater_than_b")
    assert (pair["column_A"], pair["column_B"], pair["or_equal"]) == ("due_date", "doc_date", True)
    (amount,) = _by_type("payments", "expect_column_values_to_be_between")
    assert amount["column"] == "amount" and amount["min_value"] == 0 and amount["strict_min"] is True
    assert _by_type("companies", "expect_column_values_to_be_unique") == [{"column": "company"}]
    (fx_key,) = _by_type("fx_rates", "expect_compound_columns_to_be_unique")
    assert fx_key["column_list"] == ["from_currency", "to_currency", "as_of"]


@pytest.mark.parametrize("entity", list(ENTITIES))
def test_every_pandera_rule_is_covered_once(entity: str) -> None:
    """Read the rules off the pandera schema independently; the suite must cover each exactly once
    (bounds of one column share one expectation, so this compares sources, not counts)."""
    model, _ = ENTITIES[entity]
    schema = model.to_schema()
    expected = []
    for name, column in schema.columns.items():
        expected.append(f"{name}:exists")
        if not column.nullable:
            expected.append(f"{name}:not_nullable")
        if column.unique:
            expected.append(f"{name}:unique")
        expected += [f"{name}:{check.name}" for check in column.checks]
    if schema.unique:
        expected.append("unique:" + ",".join(schema.unique))
    expected += [f"frame:{check.name}" for check in schema.checks]
    expected.append("strict")
    assert sorted(_sources(entity)) == sorted(expected)


def test_a_check_added_to_the_model_shows_up_in_the_suite() -> None:
    class Wider(contracts.Customers):
        segment: Series[str] = pa.Field(nullable=True, isin=["retail", "wholesale"])
        payment_terms_days: Series[int] = pa.Field(ge=0, le=180)

    base = suite_from_model(contracts.Customers, "base")
    wider = suite_from_model(Wider, "wider")
    added = {e.expectation_type: e.configuration.kwargs for e in wider.expectations}
    assert len(wider.expectations) == len(base.expectations) + 1
    assert added["expect_column_values_to_be_in_set"] == {"column": "segment", "value_set": ["retail", "wholesale"]}
    (terms,) = [e.configuration.kwargs for e in wider.expectations
                if e.expectation_type == "expect_column_values_to_be_between"
                and e.configuration.kwargs["column"] == "payment_terms_days"]
    assert (terms["min_value"], terms["max_value"]) == (0, 180)


def test_every_supported_check_kind_translates() -> None:
    class Kinds(pa.DataFrameModel):
        a: Series[float] = pa.Field(in_range={"min_value": 0, "max_value": 5, "include_min": False})
        b: Series[str] = pa.Field(str_matches=r"[A-Z]+|x", notin=["NONE"])
        c: Series[str] = pa.Field(str_startswith="DE", str_endswith="-1", str_length={"min_value": 4, "max_value": 9})
        d: Series[int] = pa.Field(eq=1)
        e: Series[int] = pa.Field(ne=0, gt=-1, ge=-3, lt=9)

        class Config:
            strict = "filter"
            unique = ["a"]

    suite = suite_from_model(Kinds, "kinds")
    kinds = [(e.expectation_type, e.configuration.kwargs) for e in suite.expectations]
    assert ("expect_column_values_to_be_between", {"column": "a", "min_value": 0, "max_value": 5, "strict_min": True}) in kinds
    assert ("expect_column_values_to_match_regex", {"column": "b", "regex": r"^(?:[A-Z]+|x)"}) in kinds
    assert ("expect_column_values_to_not_be_in_set", {"column": "b", "value_set": ["NONE"]}) in kinds
    assert ("expect_column_values_to_match_regex", {"column": "c", "regex": "^DE"}) in kinds
    assert ("expect_column_values_to_match_regex", {"column": "c", "regex": r"\-1$"}) in kinds
    assert ("expect_column_value_lengths_to_be_between", {"column": "c", "min_value": 4, "max_value": 9}) in kinds
    assert ("expect_column_values_to_be_in_set", {"column": "d", "value_set": [1]}) in kinds
    assert ("expect_column_values_to_not_be_in_set", {"column": "e", "value_set": [0]}) in kinds
    # the tightest bounds win: gt -1 over ge -3
    assert ("expect_column_values_to_be_between",
            {"column": "e", "min_value": -1, "max_value": 9, "strict_min": True, "strict_max": True}) in kinds
    assert ("expect_column_values_to_be_unique", {"column": "a"}) in kinds
    assert not any(t == "expect_table_columns_to_match_set" for t, _ in kinds)  # strict="filter"


def test_an_untranslatable_check_stops_derivation() -> None:
    class Custom(pa.DataFrameModel):
        a: Series[int] = pa.Field()

        @pa.check("a", name="is_even")
        @classmethod
        def _even(cls, s: pd.Series) -> pd.Series:
            return s % 2 == 0

    class FrameCheck(pa.DataFrameModel):
        a: Series[int] = pa.Field()

        @pa.dataframe_check(name="something_new")
        @classmethod
        def _new(cls, df: pd.DataFrame) -> pd.Series:
            return df["a"] > 0

    with pytest.raises(NotImplementedError, match="is_even"):
        suite_from_model(Custom, "custom")
    with pytest.raises(NotImplementedError, match="something_new"):
        suite_from_model(FrameCheck, "frame")


def test_suite_notes_name_the_model_and_what_stays_pandera_only() -> None:
    notes = " ".join(suite_for("open_items").notes)
    assert "validation.contracts.OpenItems" in notes
    assert all(item.split(":")[0] in notes for item in PANDERA_ONLY)


def test_unknown_entity_is_named() -> None:
    with pytest.raises(KeyError, match="invoices"):
        suite_for("invoices")


# --- running on real frames --------------------------------------------------------------------
@pytest.mark.parametrize("entity", list(ENTITIES))
def test_a_valid_frame_passes(entity: str) -> None:
    frame = valid(entity)
    assert not _pandera_rejects(entity, frame), "test data out of contract"
    result = run_suite(entity, frame)
    assert result == GxResult(entity, True, len(suite_for(entity).expectations), [], 0, None)


def _set(column: str, value: object, row: int = 0) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        frame.loc[row, column] = value
        return frame
    return change


def _duplicate_first(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([frame, frame.iloc[[0]]], ignore_index=True)


BAD = [
    ("customers", "null key", _set("customer_id", None), "expect_column_values_to_not_be_null(customer_id)"),
    ("customers", "duplicate key", _duplicate_first, "expect_compound_columns_to_be_unique(company,customer_id)"),
    ("customers", "rating 11", _set("external_rating", 11), "expect_column_values_to_be_between(external_rating)"),
    ("customers", "rating 0", _set("external_rating", 0, row=2), "expect_column_values_to_be_between(external_rating)"),
    ("customers", "currency eur", _set("currency", "eur"), "expect_column_values_to_match_regex(currency)"),
    ("customers", "country DEU", _set("country", "DEU"), "expect_column_values_to_match_regex(country)"),
    ("customers", "negative limit", _set("credit_limit", -1.0), "expect_column_values_to_be_between(credit_limit)"),
    ("open_items", "doc_type invoce", _set("doc_type", "invoce"), "expect_column_values_to_be_in_set(doc_type)"),
    ("open_items", "due before doc", _set("due_date", D("2024-04-30")),
     "expect_column_pair_values_a_to_be_greater_than_b(due_date,doc_date)"),
    ("open_items", "open above amount", _set("open_amount", 1_000.01),
     "expect_table_row_count_to_equal(open_within_amount)"),
    ("open_items", "open with wrong sign", _set("open_amount", 50.0, row=1),
     "expect_table_row_count_to_equal(open_within_amount)"),
    ("open_orders", "negative open", _set("open_amount", -0.01), "expect_column_values_to_be_between(open_amount)"),
    ("payments", "amount 0", _set("amount", 0.0), "expect_column_values_to_be_between(amount)"),
    ("companies", "duplicate company", _duplicate_first, "expect_column_values_to_be_unique(company)"),
    ("fx_rates", "rate 0", _set("rate", 0.0), "expect_column_values_to_be_between(rate)"),
    ("fx_rates", "duplicate rate", _duplicate_first,
     "expect_compound_columns_to_be_unique(from_currency,to_currency,as_of)"),
]


@pytest.mark.parametrize(("entity", "_label", "change", "expected"), BAD, ids=[b[1] for b in BAD])
def test_one_bad_row_fails_with_its_expectation_named(
    entity: str, _label: str, change: Callable[[pd.DataFrame], pd.DataFrame], expected: str
) -> None:
    frame = change(valid(entity))
    assert _pandera_rejects(entity, frame), "pandera must reject the same frame"
    result = run_suite(entity, frame)
    assert not result.success
    assert result.failed == [expected]
    expected_rows = 2 if "unique" in expected else 1  # both copies of a duplicated key are flagged
    assert result.unexpected_rows == expected_rows


def test_wrong_columns_fail_without_crashing() -> None:
    frame = valid("customers").drop(columns=["segment"]).assign(extra=1)
    result = run_suite("customers", frame)
    assert not result.success
    assert result.failed == ["expect_column_to_exist(segment)", "expect_table_columns_to_match_set()"]


def test_raw_extract_with_decimal_amounts_is_judged_like_pandera() -> None:
    """SQL drivers hand amounts over as Decimal (object columns); pandera coerces them, so must GX."""
    frame = valid("open_items")
    frame["amount"] = [Decimal("1000"), Decimal("-200"), Decimal("75.5")]
    frame["open_amount"] = [Decimal("400"), Decimal("-200"), Decimal("75.5")]
    assert frame["amount"].dtype == object and not _pandera_rejects("open_items", frame)
    assert run_suite("open_items", frame).success
    frame.loc[1, "open_amount"] = Decimal("-200.01")
    assert _pandera_rejects("open_items", frame)
    result = run_suite("open_items", frame)
    assert (result.failed, result.unexpected_rows) == (["expect_table_row_count_to_equal(open_within_amount)"], 1)


def test_frame_rule_agrees_with_pandera_at_the_edges() -> None:
    """The pandas query behind open_within_amount flags exactly the rows pandera's check does."""
    # amounts of both signs, each on a document type whose sign it has (amount_sign_for_doc_type)
    grid = [(a, o) for a in (100.0, -100.0)
            for o in (100.0, 100.004, 100.006, 50.0, 0.0, 0.004, 0.006, -0.004, -50.0, -100.004, -100.006)]
    base = VALID_ROWS["open_items"][0]
    rows = [{**base, "item_id": f"I{i}", "doc_type": "invoice" if a > 0 else "credit_note", "amount": a,
             "open_amount": o} for i, (a, o) in enumerate(grid)]
    frame = _frame("open_items", rows)
    with pytest.raises(SchemaErrors) as caught:
        contracts.OpenItems.validate(frame, lazy=True)
    cases = caught.value.failure_cases
    assert set(cases["check"]) == {"open_within_amount"}
    pandera_bad = cases["index"].nunique()
    result = run_suite("open_items", frame)
    assert result.failed == ["expect_table_row_count_to_equal(open_within_amount)"]
    assert result.unexpected_rows == pandera_bad
    assert 0 < pandera_bad < len(grid)


def test_same_frame_twice_in_one_process() -> None:
    frame = valid("open_items")
    first = run_suite("open_items", frame)
    second = run_suite("open_items", frame)
    assert first == second and first.success


def test_data_docs_index_mentions_the_suite(tmp_path) -> None:
    result = run_suite("customers", _set("currency", "eur")(valid("customers")), docs_dir=tmp_path)
    assert result.docs_index == tmp_path / "customers" / "index.html"
    assert result.docs_index.is_file()
    html = result.docs_index.read_text(encoding="utf-8")
    assert SUITE_PREFIX + "customers" in html
    assert "Failed" in html
    (page,) = (tmp_path / "customers" / "validations").rglob("*.html")
    assert "eur" in page.read_text(encoding="utf-8")  # the unexpected value is shown


def test_run_suites_validates_each_entity_into_its_own_docs(tmp_path) -> None:
    frames = {entity: valid(entity) for entity in ENTITIES}
    frames["payments"] = _set("amount", -5.0)(frames["payments"])
    results = run_suites(frames, docs_dir=tmp_path)
    assert list(results) == list(ENTITIES)
    assert {e for e, r in results.items() if not r.success} == {"payments"}
    assert {r.docs_index for r in results.values()} == {tmp_path / e / "index.html" for e in ENTITIES}
    assert all(r.docs_index.is_file() for r in results.values())


def test_a_run_is_quiet(capfd: pytest.CaptureFixture[str]) -> None:
    run_suite("open_items", _set("doc_type", "invoce")(valid("open_items")))
    out, err = capfd.readouterr()
    assert out == "" and not re.search(r"Calculating Metrics|\d+%\|", err), err[:300]


def test_analytics_are_off_before_gx_is_imported() -> None:
    source = (ROOT / "validation" / "gx_suites.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    first_gx = min(n.lineno for n in ast.walk(tree)
                   if isinstance(n, ast.Import | ast.ImportFrom)
                   and "great_expectations" in ast.unparse(n))
    assert re.search(r'^os\.environ\["GX_ANALYTICS_ENABLED"\] = "false"$', source, re.M)
    setting = source.index('os.environ["GX_ANALYTICS_ENABLED"]')
    assert source[:setting].count("\n") + 1 < first_gx


def test_compact_text_columns_are_judged_like_object_columns() -> None:
    """A connector's compact text (categoricals, Arrow strings) reaches GX as it is: same verdict."""
    from validation.contracts import CATEGORY_COLUMNS
    from validation.numbers import compact_text

    bad = valid("customers").assign(segment=None)
    bad.loc[bad.index[0], "currency"] = "euro"
    bad.loc[bad.index[1], "name"] = None
    compact = bad.assign(**{c: compact_text(bad[c], c in CATEGORY_COLUMNS) for c in bad.columns})
    assert isinstance(compact["currency"].dtype, pd.CategoricalDtype)
    assert isinstance(compact["customer_id"].dtype, pd.StringDtype)
    expected = run_suite("customers", bad)
    assert expected.failed == ["expect_column_values_to_not_be_null(name)",
                               "expect_column_values_to_match_regex(currency)"]
    assert expected.unexpected_rows == 2
    assert run_suite("customers", compact) == expected
