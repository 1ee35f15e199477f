"""Compact text columns: the big extracts hold text as categoricals and Arrow strings, not a
Python ``str`` per cell, and everything downstream gives the same results as with object columns.

The canonical connector reads customers, open items, orders, deliveries and payments with compact
text (connectors.canonical.COMPACT_ENTITIES): the columns of few distinct values
(validation.contracts.CATEGORY_COLUMNS) as categoricals, ids and names as Arrow-backed strings.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from connectors.canonical import COMPACT_ENTITIES, KEYS, CanonicalConnector
from connectors.canonical_schema import load_extract
from connectors.sql import compact_frame
from connectors.synthetic import synthetic_extract
from etl.extract import Extract
from etl.fx import index_codes
from etl.pipeline import decide_all, positions_for
from etl.quality import validate_extract
from etl.rules import load_ruleset
from validation.contracts import CATEGORY_COLUMNS, empty_frame
from validation.numbers import TEXT_DTYPE, compact_text, only_strings, plain_text
from validation.quarantine import validate_frame

AS_OF = date(2026, 11, 28)
ROOT = Path(__file__).resolve().parents[1]


def _text_columns(entity: str) -> list[str]:
    template = empty_frame(entity)
    return [name for name, dtype in template.dtypes.items() if pd.api.types.is_object_dtype(dtype)]


def assert_compact(frame: pd.DataFrame, entity: str) -> None:
    """Every text column of ``frame`` is compact: categorical or Arrow strings, never object."""
    for name in _text_columns(entity):
        dtype = frame[name].dtype
        if name in CATEGORY_COLUMNS:
            assert isinstance(dtype, pd.CategoricalDtype), (entity, name, dtype)
            categories = list(dtype.categories)
            assert categories == sorted(categories), (entity, name, "categories in code-point order")
        else:
            assert dtype == TEXT_DTYPE, (entity, name, dtype)


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(**{c: plain_text(frame[c]) for c in frame.columns if frame[c].dtype.kind == "O"})


def _same(a: object, b: object) -> bool:
    """One cell equal to another: the same type, and the same null or the same value."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if pd.isna(a) or pd.isna(b):
        return bool(pd.isna(a) and pd.isna(b))
    return bool(a == b)


def assert_same_cells(got: pd.DataFrame, want: pd.DataFrame, what: str) -> None:
    """Same columns, dtypes and cells, a null the same null (None stays None), same CSV."""
    got = _plain(got)
    want = _plain(want)
    assert list(got.columns) == list(want.columns), what
    assert got.dtypes.to_dict() == want.dtypes.to_dict(), what
    for name in got.columns:
        for i, (a, b) in enumerate(zip(got[name].tolist(), want[name].tolist(), strict=True)):
            assert _same(a, b), (what, name, i, a, b)
    assert got.to_csv(index=False) == want.to_csv(index=False), what


def broken_extract() -> Extract:
    """synthetic_extract(200) with text cells the contracts quarantine, and null optional text."""
    ex = synthetic_extract(200, as_of=AS_OF)
    items = ex.open_items.copy()
    items.loc[3, "company"] = None
    items.loc[5, "customer_id"] = None
    items.loc[7, "doc_type"] = "bogus"
    items.loc[9, "currency"] = "euro"
    items.loc[11, "item_id"] = items.loc[12, "item_id"]
    items.loc[13, "customer_id"] = "nobody"
    items.loc[15, "currency"] = "JPY"  # a code without a rate: fx_rate_missing
    customers = ex.customers.copy()
    customers.loc[2, "country"] = None
    customers.loc[4, "segment"] = None
    customers.loc[6, "country"] = "XX"
    customers.loc[8, "name"] = None
    customers.loc[10, "segment"] = "Retail"
    return ex.replace(open_items=items, customers=customers)


def compact_extract(ex: Extract) -> Extract:
    return Extract(**{e: compact_frame(f, empty_frame(e)) if e in COMPACT_ENTITIES else f
                      for e, f in ex.frames().items()})


# --------------------------------------------------------------------------- the helpers


def test_compact_text_keeps_values_nulls_and_leaves_other_columns() -> None:
    text = pd.Series(["b", None, "a", "b"], dtype=object)
    cat = compact_text(text, category=True)
    assert isinstance(cat.dtype, pd.CategoricalDtype) and list(cat.cat.categories) == ["a", "b"]
    arrow = compact_text(text, category=False)
    assert arrow.dtype == TEXT_DTYPE
    for compact in (cat, arrow):
        assert compact.isna().tolist() == [False, True, False, False]
        assert plain_text(compact).tolist() == ["b", None, "a", "b"]  # None, never 'None' or 'nan'
    # numbers or mixed values go on as they are, for the contract to coerce or quarantine
    for values in ([1, 2], ["a", 1], [1.5, None]):
        column = pd.Series(values, dtype=object)
        assert compact_text(column, category=True) is column
        assert compact_text(column, category=False) is column


def test_only_strings_knows_the_compact_dtypes() -> None:
    assert only_strings(pd.Series(["a", None], dtype="category"))
    assert only_strings(pd.Series(["a", None], dtype=TEXT_DTYPE))
    assert only_strings(pd.Series([None, None], dtype=TEXT_DTYPE))
    assert only_strings(pd.Series(["a", None], dtype=object))
    assert not only_strings(pd.Series([1, 2], dtype="category"))
    assert not only_strings(pd.Series(["a", 1], dtype=object))


def test_index_codes_of_arrow_strings_are_the_object_lookup() -> None:
    index = pd.Index(["C-1", "C-3", "C-2"], dtype=object)
    values = pd.Series(["C-2", None, "C-9", "C-1", "C-3", "C-2"], dtype=object)
    want = index.get_indexer(values)
    for compact in (values.astype(TEXT_DTYPE), values.astype("category")):
        np.testing.assert_array_equal(index_codes(index, compact), want)


# --------------------------------------------------------------------------- validation keeps them


def test_validation_keeps_compact_columns_without_a_per_cell_check(monkeypatch) -> None:
    """pandera's ``str`` type maps isinstance over every cell and coerces to object: a compact
    column takes the fast path (no dtype check) and comes out of validation still compact."""
    from pandera.engines import pandas_engine

    calls = []
    original = pandas_engine.NpString.check

    def counting(self, pandera_dtype, data_container=None):
        if data_container is not None:
            calls.append(len(data_container))
        return original(self, pandera_dtype, data_container)

    monkeypatch.setattr(pandas_engine.NpString, "check", counting)
    ex = compact_extract(broken_extract())
    for entity in COMPACT_ENTITIES:
        valid, _ = validate_frame(entity, ex.frames()[entity])
        assert_compact(valid, entity)
    assert calls == [], "pandera checked compact text cell by cell"
    validated = validate_extract(ex)
    for entity in COMPACT_ENTITIES:
        assert_compact(validated.extract.frames()[entity], entity)


def test_object_and_compact_extracts_give_the_same_run() -> None:
    """validation, quarantine, positions, rules and decisions: cell for cell (None stays None)."""
    plain = broken_extract()
    compact = compact_extract(plain)
    for entity in COMPACT_ENTITIES:
        assert_compact(compact.frames()[entity], entity)
    for entity, frame in plain.frames().items():
        valid_o, quarantine_o = validate_frame(entity, frame)
        valid_c, quarantine_c = validate_frame(entity, compact.frames()[entity])
        assert_same_cells(valid_c, valid_o, f"valid {entity}")
        assert_same_cells(quarantine_c, quarantine_o, f"quarantine {entity}")
    vo, vc = validate_extract(plain), validate_extract(compact)
    assert (vo.rows, vo.quarantined) == (vc.rows, vc.quarantined)
    assert_same_cells(vc.quarantine, vo.quarantine, "validate_extract quarantine")
    checks = set(vo.quarantine["check"])
    assert {"company:null", "customer_id:null", "doc_type:not_allowed", "currency:not_iso_4217",
            "duplicate_key", "unknown_customer", "name:null", "country:not_iso_3166"} <= checks, checks
    pos_o, q_o = positions_for(vo, AS_OF)
    pos_c, q_c = positions_for(vc, AS_OF)
    assert "fx_rate_missing" in set(q_o["check"])
    # the positions' text is object, a null None, whatever the extract's dtypes
    for name in ("company", "customer_id", "currency", "country", "segment"):
        assert pos_c[name].dtype == object, name
    assert pos_c["country"].isna().any() and all(v is None for v in pos_c.loc[pos_c["country"].isna(), "country"])
    assert_same_cells(pos_c, pos_o, "positions")
    assert_same_cells(q_c, q_o, "positions quarantine")
    ruleset = load_ruleset([ROOT / "rules" / "credit_control.yaml"])
    for got, want, what in zip(decide_all(pos_c, ruleset, AS_OF), decide_all(pos_o, ruleset, AS_OF),
                               ("scored", "fired", "decisions"), strict=True):
        assert_same_cells(got, want, what)


# --------------------------------------------------------------------------- the canonical connector


@pytest.fixture(params=["postgresql", "mariadb"])
def loaded(request: pytest.FixtureRequest) -> tuple[str, Extract]:
    ex = broken_extract()
    # a database holds what its columns can: drop the cells a NOT NULL column refuses
    items = ex.open_items.dropna(subset=["company", "customer_id"]).drop_duplicates(["company", "item_id"])
    items = items.assign(currency=items["currency"].replace({"euro": "EU1"}))  # a CHAR(3) holds no 'euro'
    ex = ex.replace(open_items=items.reset_index(drop=True),
                    customers=ex.customers.dropna(subset=["name"]).reset_index(drop=True))
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_url")
    else:
        url = f"mysql+pymysql://root@127.0.0.1:3306/{request.getfixturevalue('mariadb_database')}?charset=utf8mb4"
    load_extract(url, ex)
    return url, ex


def test_canonical_reads_are_compact_and_the_state_is_not(loaded) -> None:
    """COPY + Arrow (PostgreSQL) and the cursor (MariaDB) give the same compact frames; a NULL
    text cell stays null; companies, fx_rates and read_state keep object columns."""
    url, ex = loaded
    connector = CanonicalConnector(url, {"chunk_size": 97})
    companies = ex.companies["company"].tolist()
    try:
        for entity in Extract.entities():
            got = getattr(connector, f"read_{entity}")(companies)
            if entity in COMPACT_ENTITIES:
                assert_compact(got, entity)
            else:
                assert all(got[c].dtype == object for c in _text_columns(entity)), entity
            want = ex.frames()[entity].sort_values(KEYS[entity], kind="stable")
            pd.testing.assert_frame_equal(_plain(got), _plain(want.reset_index(drop=True)), check_exact=False,
                                          atol=1e-6, rtol=0)
        customers = connector.read_customers(companies)
        nulls = customers["country"].isna()
        assert nulls.sum() == ex.customers["country"].isna().sum() > 0
        assert not customers["country"].astype(object).isin(["None", "nan", ""]).any()
        assert plain_text(customers["segment"]).loc[customers["segment"].isna()].map(lambda v: v is None).all()
        state_customers, state_orders = connector.read_state(companies)
        for frame in (state_customers, state_orders):
            for name in ("company", "customer_id"):
                assert frame[name].dtype == object
        assert connector.read_customers([]).pipe(assert_compact, "customers") is None
    finally:
        connector.close()
