"""Connector reads never turn a bad or missing database value into a silent 0, False or null."""

from __future__ import annotations

import pandas as pd
import pytest

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


# --------------------------------------------------------------------------- the COPY path (PostgreSQL)

_ROWS = [  # company, customer_id, name, country, credit_limit, days, since, segment, insured, rating, blocked, prepay
    ("A", "2", 'O\'Brien, "Trading"\nsecond line', "", "1234.5", 30, "2020-01-01 10:30", None, None, None, True, False),
    ("A", "10", "Ünïcødé \\ back\tslash", None, None, 0, "2021-05-05", "retail", 1.1, 3, False, None),
    ("B", "1", "", "DE", "0.1", 14, "1999-12-31 23:59:59.5", "", None, None, False, True),
    ("A", "ä", "N", "DE", "12,5x", 30, "2020-01-01", "x", None, None, False, False),
    ("A", None, "null id", "DE", "7", None, "2020-01-01", "x", None, None, False, False),
    ("A", "Z", "N", "DE", "1e3", 60, "2020-01-01", "x", float("nan"), 1, False, False),
]


def _table(pg_url: str):
    from sqlalchemy import (
        Boolean,
        Column,
        DateTime,
        Float,
        Integer,
        MetaData,
        Table,
        Text,
        create_engine,
        insert,
    )

    md = MetaData()
    table = Table("t", md, Column("company", Text), Column("customer_id", Text), Column("name", Text),
                  Column("country", Text), Column("credit_limit", Text), Column("payment_terms_days", Integer),
                  Column("customer_since", DateTime), Column("segment", Text), Column("insured_limit", Float),
                  Column("external_rating", Integer), Column("is_blocked", Boolean), Column("on_prepayment", Boolean))
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        md.create_all(conn)
        conn.execute(insert(table), [dict(zip(table.columns.keys(), r, strict=True)) for r in _ROWS])
    return engine, table


def test_the_copy_path_gives_the_row_paths_frame(pg_url: str, monkeypatch) -> None:
    """NULL vs '', quotes, commas, newlines, tabs, backslashes, non-ASCII, NaN, null flags and
    counts, an unparseable amount (quarantined, not null), code point order with nulls last."""
    from sqlalchemy import select

    import connectors.sql as sql

    engine, table = _table(pg_url)
    template = empty_frame("customers")
    everything = select(*table.columns, table.c.country.label("currency"))
    # without the unparseable amount every chunk is typed by Arrow (the fast conversion)
    parseable = everything.where(table.c.credit_limit.is_distinct_from("12,5x"))
    copies = []
    monkeypatch.setattr(sql, "copy_tables", lambda *a, _f=sql.copy_tables: copies.append(1) or _f(*a))
    with engine.connect() as conn:
        for stmt in (parseable, everything):
            for chunk in (2, 100):
                fast = sql.read_frame(conn, stmt, template, chunk, sort=["company", "customer_id"])
                with monkeypatch.context() as m:
                    m.setattr(sql, "_copy_capable", lambda *a: False)
                    slow = sql.read_frame(conn, stmt, template, chunk, sort=["company", "customer_id"])
                pd.testing.assert_frame_equal(fast, slow, check_exact=True)
            if stmt is parseable:
                assert fast["customer_since"].tolist()[:2] == [pd.Timestamp("2021-05-05"), pd.Timestamp("2020-01-01")]
    engine.dispose()
    assert len(copies) == 4, "the PostgreSQL reads went through COPY"
    assert fast["customer_id"].tolist() == ["10", "2", "Z", "ä", None, "1"]
    assert fast.loc[fast["customer_id"] == "1", "name"].tolist() == [""]
    assert fast.loc[fast["customer_id"] == "1", "segment"].tolist() == [""]
    assert fast.loc[fast["customer_id"] == "10", "country"].tolist() == [None]
    _, quarantine = validate_frame("customers", fast)
    assert {"credit_limit:not_a_number", "on_prepayment:not_a_boolean"} <= set(quarantine["check"])


def test_bound_sql_quotes_like_the_driver(pg_url: str) -> None:
    """COPY takes no parameters: the client-side bound SQL must mean what the bound statement means."""
    from sqlalchemy import create_engine, literal, select, text

    from connectors.sql import bound_sql

    name = 'O\'Brien "Trading"; DROP TABLE x -- \\'
    stmt = select(literal(name).label("s"), (literal(1.0) / literal(3)).label("f"),
                  literal(0.1).label("g"))
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        sql = bound_sql(conn, stmt)
        assert conn.execute(text(sql)).one() == conn.execute(stmt).one()
        assert conn.execute(text(f"SELECT pg_typeof(g)::text FROM ({sql}) q")).scalar() == "double precision"
    engine.dispose()


# --------------------------------------------------------------------------- text numbers and dates (issue 12)


def test_a_thousands_separator_in_a_text_money_column_is_quarantined_not_read_as_5() -> None:
    valid, quarantine = validate_frame("customers", coerce(_customers(credit_limit="5.000"), empty_frame("customers")))
    assert valid["customer_id"].tolist() == ["1"] and valid["credit_limit"].tolist() == [1000.0]
    assert quarantine[["key", "check", "value"]].to_dict("records") == [
        {"key": "A/2", "check": "credit_limit:ambiguous_number", "value": "5.000"}]


def test_text_numbers_outside_the_grammar_are_not_guessed() -> None:
    for text, check in [("1_000", "credit_limit:not_a_number"), ("nan", "credit_limit:not_a_number"),
                        (" 5000 ", None), ("1e3", None)]:
        valid, quarantine = validate_frame("customers",
                                           coerce(_customers(credit_limit=text), empty_frame("customers")))
        if check is None:
            assert quarantine.empty and valid["credit_limit"].tolist() == [1000.0, float(text)]
        else:
            assert quarantine[["check", "value"]].to_dict("records") == [{"check": check, "value": text}]


def test_a_text_date_that_is_not_iso_is_quarantined_not_guessed() -> None:
    # pandas would read 28.11.2020 as 28 November and 11/12/2020 as 11 December or 12 November,
    # the format guessed from the first row
    for first, text in (("2020-01-01", "28.11.2020"), ("01.02.2020", "28.11.2020"), ("11/12/2020", "11/13/2020")):
        frame = _customers(customer_since=text)
        frame.loc[0, "customer_since"] = first
        valid, quarantine = validate_frame("customers", coerce(frame, empty_frame("customers")))
        bad = [first, text] if first != "2020-01-01" else [text]
        assert quarantine[["check", "value"]].to_dict("records") == [
            {"check": "customer_since:not_a_date", "value": v} for v in bad]


def test_the_copy_path_reads_text_numbers_in_the_grammar_too(pg_url: str, monkeypatch) -> None:
    """Arrow would parse a text column's 5.000 as 5: text numbers go through coerce on both paths."""
    from sqlalchemy import Boolean, Column, MetaData, Table, Text, create_engine, insert, select

    import connectors.sql as sql

    md = MetaData()
    names = list(empty_frame("customers").columns)
    flags = ("is_blocked", "on_prepayment")
    table = Table("t", md, *[Column(n, Boolean if n in flags else Text) for n in names])
    rows = [("A", "1", "N", "DE", "EUR", "5.000", "30", "2020-01-01", None, None, None, True, False),
            ("A", "2", "N", "DE", "EUR", "1234.5", "30", "28.11.2020", None, "1e3", "3", False, False),
            ("A", "3", "N", "DE", "EUR", "7", "14", "2020-01-01", None, None, None, False, True)]
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        md.create_all(conn)
        conn.execute(insert(table), [dict(zip(names, r, strict=True)) for r in rows])
    copies = []
    monkeypatch.setattr(sql, "copy_tables", lambda *a, _f=sql.copy_tables: copies.append(1) or _f(*a))
    template = empty_frame("customers")
    with engine.connect() as conn:
        for chunk in (1, 100):
            fast = sql.read_frame(conn, select(table), template, chunk, sort=["company", "customer_id"])
            with monkeypatch.context() as m:
                m.setattr(sql, "_copy_capable", lambda *a: False)
                slow = sql.read_frame(conn, select(table), template, chunk, sort=["company", "customer_id"])
            pd.testing.assert_frame_equal(fast, slow, check_exact=True)
            valid, quarantine = validate_frame("customers", fast)
            assert quarantine[["key", "check", "value"]].to_dict("records") == [
                {"key": "A/1", "check": "credit_limit:ambiguous_number", "value": "5.000"},
                {"key": "A/2", "check": "customer_since:not_a_date", "value": "28.11.2020"}]
            assert valid["credit_limit"].tolist() == [7.0]
    engine.dispose()
    assert copies, "the PostgreSQL reads went through COPY"


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_the_canonical_connector_reads_text_columns_in_the_grammar(request, backend: str) -> None:
    """A customers view whose limits and dates are text, as ERP exports often are."""
    from sqlalchemy import create_engine

    from connectors.canonical import CanonicalConnector
    from connectors.canonical_schema import load_extract
    from connectors.synthetic import synthetic_extract

    if backend == "postgresql":
        url = request.getfixturevalue("pg_url")
    else:
        url = f"mysql+pymysql://root@127.0.0.1:3306/{request.getfixturevalue('mariadb_database')}?charset=utf8mb4"
    extract = synthetic_extract(20)
    load_extract(url, extract, prefix="src_")
    customers = extract.customers.copy()
    customers["credit_limit"] = customers["credit_limit"].map(lambda v: None if pd.isna(v) else f"{v:.2f}")
    customers["customer_since"] = customers["customer_since"].dt.strftime("%Y-%m-%d")
    first, second = customers["customer_id"].iloc[0], customers["customer_id"].iloc[1]
    customers.loc[0, "credit_limit"] = "5.000"
    customers.loc[1, "customer_since"] = "28.11.2020"
    engine = create_engine(url)
    customers.to_sql("customers", engine, index=False)
    engine.dispose()
    connector = CanonicalConnector(url)
    try:
        frame = connector.read_customers(extract.companies["company"].tolist())
    finally:
        connector.close()
    valid, quarantine = validate_frame("customers", frame)
    company = customers["company"].iloc[0]
    assert quarantine[["key", "check", "value"]].to_dict("records") == [
        {"key": f"{company}/{first}", "check": "credit_limit:ambiguous_number", "value": "5.000"},
        {"key": f"{customers['company'].iloc[1]}/{second}", "check": "customer_since:not_a_date", "value": "28.11.2020"}]
    want = extract.customers.set_index(["company", "customer_id"])["credit_limit"]
    # the keys' text is compact (categorical, Arrow strings): looked up as the strings they hold
    got = valid.astype({"company": object, "customer_id": object}).set_index(["company", "customer_id"])["credit_limit"]
    pd.testing.assert_series_equal(got, want.loc[got.index].round(2), check_exact=False)
