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
