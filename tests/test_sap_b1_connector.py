"""The SAP Business One connector on a real PostgreSQL holding the B1 tables (SPEC §7)."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from sqlalchemy import create_engine, func, select, update
from sqlalchemy.dialects import mssql

from connectors.sap_b1 import SapB1Connector, create_schema, load_extract
from connectors.sap_b1 import read as b1_read
from connectors.sap_b1 import schema as t
from connectors.sap_b1.connector import apply_statements
from connectors.synthetic import synthetic_extract
from etl.plan import PLAN_COLUMNS, build_plan, tool_owned, unapplied
from etl.ports import ConnectorError, ErpConnector
from validation.contracts import ENTITIES

COMPANY = "Demo GmbH"
MONEY = {"credit_limit", "insured_limit", "amount", "open_amount", "rate"}


@pytest.fixture(scope="module")
def extract():
    return synthetic_extract(150)


@pytest.fixture
def b1(pg_url: str, extract):
    create_schema(pg_url)
    keys = load_extract(pg_url, extract, COMPANY)
    return pg_url, keys


def _expected(extract, entity: str, keys: dict[str, dict[str, str]]) -> pd.DataFrame:
    frame = getattr(extract, entity)
    if entity == "fx_rates":  # documented: B1 holds rates into the company currency only
        return frame[frame["to_currency"] == "EUR"]
    frame = frame[frame["company"] == COMPANY].copy()
    if entity == "open_items":  # documented: B1 item ids are <DocNum>[/<InstlmntID>], CN-…, RC-…
        frame["item_id"] = frame["item_id"].map(keys["items"])
    elif entity == "payments":
        frame["item_id"] = frame["item_id"].map(keys["payments"])
    elif entity == "open_orders":  # documented: order_id is ORDR.DocEntry
        frame["order_id"] = frame["order_id"].map(keys["orders"])
    return frame


def _assert_same(actual: pd.DataFrame, expected: pd.DataFrame, entity: str) -> None:
    _, key = ENTITIES[entity]
    a = actual.sort_values(key).reset_index(drop=True)
    e = expected.sort_values(key).reset_index(drop=True)
    assert list(a.columns) == list(e.columns)
    assert len(a) == len(e), entity
    for col in a.columns:
        if col in MONEY:
            pd.testing.assert_series_equal(a[col], e[col].astype(float), check_exact=False, atol=1e-6, rtol=0,
                                           check_names=False, obj=f"{entity}.{col}")
        else:
            assert a[col].astype(object).where(a[col].notna(), None).tolist() == \
                e[col].astype(object).where(e[col].notna(), None).tolist(), f"{entity}.{col}"


def test_is_an_erp_connector() -> None:
    assert isinstance(SapB1Connector("mssql+pyodbc://u:p@dsn"), ErpConnector)


@pytest.mark.parametrize("entity", ["companies", "customers", "open_items", "open_orders", "payments", "fx_rates"])
def test_reads_equal_the_canonical_frames(b1, extract, entity: str) -> None:
    url, keys = b1
    connector = SapB1Connector(url, {"chunk_size": 17})
    actual = getattr(connector, f"read_{entity}")([COMPANY])
    _assert_same(actual, _expected(extract, entity, keys), entity)
    model, _ = ENTITIES[entity]
    model.validate(actual)
    assert getattr(connector, f"read_{entity}")(["Another company"]).empty
    connector.close()


def test_installment_and_document_ids(b1) -> None:
    url, keys = b1
    items = SapB1Connector(url).read_open_items([COMPANY])
    ids = items.set_index("item_id")["doc_type"]
    assert any("/" in i for i in ids.index[ids.eq("invoice")])  # <DocNum>/<InstlmntID>
    assert ids[ids.index.str.startswith("CN-")].eq("credit_note").all()
    assert ids[ids.index.str.startswith("RC-")].eq("payment_on_account").all()


def test_indirect_quotation_inverts_rates(b1) -> None:
    url, _ = b1
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(update(t.OADM).values(DirectRate="N"))
    engine.dispose()
    direct = synthetic_extract(150).fx_rates
    direct = direct[direct["to_currency"] == "EUR"].sort_values(["from_currency", "as_of"]).reset_index(drop=True)
    rates = SapB1Connector(url).read_fx_rates([COMPANY]).sort_values(["from_currency", "as_of"]).reset_index(drop=True)
    assert ((rates["rate"] * direct["rate"]) - 1).abs().max() < 1e-9


def test_every_statement_compiles_for_mssql() -> None:
    statements = {**b1_read.all_statements(company="O'Hara \"Q\" GmbH"), **apply_statements()}
    dialect = mssql.dialect()
    for name, stmt in statements.items():
        sql = str(stmt.compile(dialect=dialect))
        assert sql.strip(), name
        assert "O'Hara" not in sql, f"{name}: company must be a bound parameter"
    sql = str(b1_read.open_orders_stmt("C", "EUR").compile(dialect=dialect))
    assert "[ORDR]" in sql and "[RDR1]" in sql and "CASE WHEN" in sql
    assert "INSERT INTO credit_decisions_out" in str(apply_statements()["insert_out"].compile(dialect=dialect))


def _plan(rows: list[dict]) -> pd.DataFrame:
    base = {"company": COMPANY, "order_id": "", "before": "", "after": "", "rule_ids": "R1", "reason": "test"}
    return pd.DataFrame([{**base, **r} for r in rows])[PLAN_COLUMNS]


def _outbound(url: str) -> pd.DataFrame:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(t.credit_decisions_out).order_by(t.credit_decisions_out.c.id)).mappings().all()
    engine.dispose()
    return pd.DataFrame(rows)


def test_apply_every_change_kind(b1) -> None:
    url, _ = b1
    connector = SapB1Connector(url)
    customers, orders = connector.read_state([COMPANY])
    # a block a person set in B1 (the synthetic GmbH has none) to release
    engine = create_engine(url)
    with engine.begin() as conn:
        last = customers["customer_id"].iloc[-1]
        conn.execute(update(t.OCRD).where(t.OCRD.c.CardCode == last).values(frozenFor="Y", FrozenComm="manual"))
    engine.dispose()
    customers, orders = connector.read_state([COMPANY])
    free = customers[~customers["is_blocked"] & ~customers["on_prepayment"] & customers["credit_limit"].notna()]
    a, b, c = free["customer_id"].iloc[:3]
    order = orders[~orders["on_hold"]].iloc[0]
    held = orders[orders["on_hold"]].iloc[0]
    blocked = customers[customers["is_blocked"]]["customer_id"].iloc[0]
    pre = customers[customers["on_prepayment"]].iloc[0]
    terms_a = customers.set_index("customer_id").loc[a, "payment_terms"]
    plan = _plan([
        {"customer_id": a, "change": "block", "before": "false", "after": "true"},
        {"customer_id": blocked, "change": "unblock", "before": "true", "after": "false"},
        {"customer_id": b, "change": "set_prepayment", "before": terms_a, "after": "prepayment"},
        {"customer_id": pre["customer_id"], "change": "unset_prepayment", "before": "prepayment",
         "after": terms_a},
        {"customer_id": c, "change": "set_limit", "before": "1.00", "after": "123.45"},
        {"customer_id": order["customer_id"], "change": "hold_order", "order_id": order["order_id"],
         "before": "false", "after": "true"},
        {"customer_id": held["customer_id"], "change": "release_order", "order_id": held["order_id"],
         "before": "true", "after": "false"},
    ])
    assert connector.apply(COMPANY, plan) == 7
    out = _outbound(url)
    assert sorted(out["change"]) == sorted(plan["change"])
    assert out["processed_at"].isna().all() and out["company"].eq(COMPANY).all()
    prepay_num = out.loc[out["change"] == "set_prepayment", "after"].iloc[0]
    assert prepay_num.isdigit()  # the prepayment terms' OCTG.GroupNum, for the import job

    state_c, state_o = connector.read_state([COMPANY])
    assert unapplied(plan, state_c, state_o).empty  # read-back verification passes on the overlay
    s = state_c.set_index("customer_id")
    assert s.loc[a, "is_blocked"] and not s.loc[blocked, "is_blocked"]
    assert s.loc[b, "on_prepayment"] and s.loc[b, "payment_terms"] == prepay_num
    assert not s.loc[pre["customer_id"], "on_prepayment"] and s.loc[pre["customer_id"], "payment_terms"] == terms_a
    assert s.loc[c, "credit_limit"] == pytest.approx(123.45)
    assert connector.read_customers([COMPANY]).set_index("customer_id").loc[a, "is_blocked"]

    # the B1 import processes the rows: the tables show the state, the overlay stops
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(update(t.OCRD).where(t.OCRD.c.CardCode == a).values(frozenFor="Y", FrozenComm="creditctl"))
        conn.execute(update(t.OCRD).where(t.OCRD.c.CardCode == blocked).values(frozenFor="N"))
        conn.execute(update(t.OCRD).where(t.OCRD.c.CardCode == b).values(GroupNum=int(prepay_num)))
        conn.execute(update(t.OCRD).where(t.OCRD.c.CardCode == pre["customer_id"]).values(GroupNum=int(terms_a)))
        conn.execute(update(t.OCRD).where(t.OCRD.c.CardCode == c).values(CreditLine=123.45))
        conn.execute(update(t.ORDR).where(t.ORDR.c.DocEntry == int(order["order_id"])).values(Confirmed="N"))
        conn.execute(update(t.ORDR).where(t.ORDR.c.DocEntry == int(held["order_id"])).values(Confirmed="Y"))
        conn.execute(update(t.credit_decisions_out).values(processed_at=func.now()))
    engine.dispose()
    after_c, after_o = connector.read_state([COMPANY])
    pd.testing.assert_frame_equal(after_c, state_c)
    pd.testing.assert_frame_equal(after_o, state_o)


def test_failing_row_rolls_back_the_company(b1) -> None:
    url, _ = b1
    connector = SapB1Connector(url)
    customers, orders = connector.read_state([COMPANY])
    cid = customers["customer_id"].iloc[0]
    plan = _plan([
        {"customer_id": cid, "change": "block", "before": "false", "after": "true"},
        {"customer_id": cid, "change": "set_limit", "before": "", "after": "10.00"},
        {"customer_id": cid, "change": "hold_order", "order_id": "999999", "before": "false", "after": "true"},
    ])
    with pytest.raises(ConnectorError, match="unknown sales order"):
        connector.apply(COMPANY, plan)
    assert _outbound(url).empty
    other = orders[orders["customer_id"] != cid].iloc[0]["order_id"]
    with pytest.raises(ConnectorError, match="another customer"):
        connector.apply(COMPANY, _plan([
            {"customer_id": cid, "change": "block"},
            {"customer_id": cid, "change": "hold_order", "order_id": other}]))
    with pytest.raises(ConnectorError, match="unknown customer"):
        connector.apply(COMPANY, _plan([{"customer_id": "NOPE", "change": "block"}]))
    with pytest.raises(ConnectorError, match="OCTG"):
        SapB1Connector(url, {"prepayment_terms": "Cash up front"}).apply(
            COMPANY, _plan([{"customer_id": cid, "change": "set_prepayment", "after": "prepayment"}]))
    assert _outbound(url).empty
    assert unapplied(plan.iloc[:2], *connector.read_state([COMPANY])).shape[0] == 2


def test_company_code_with_quotes(b1) -> None:
    url, _ = b1
    code = "O'Hara \"Quotes\"; GmbH"
    connector = SapB1Connector(url, {"company": code})
    assert connector.read_companies([code])["company"].tolist() == [code]
    assert connector.read_customers([code])["company"].eq(code).all()
    cid = connector.read_customers([code])["customer_id"].iloc[0]
    assert connector.apply(code, _plan([{"company": code, "customer_id": cid, "change": "block"}])) == 1
    assert _outbound(url)["company"].tolist() == [code]
    assert connector.read_state([code])[0].set_index("customer_id").loc[cid, "is_blocked"]
    with pytest.raises(ConnectorError, match="this B1 database is company"):
        SapB1Connector(url).apply(code, _plan([{"company": code, "customer_id": cid, "change": "block"}]))


def test_unreachable_server_fails_fast_naming_the_setting() -> None:
    connector = SapB1Connector("postgresql+psycopg://sa:s3cret-pw@127.0.0.1:1/b1")
    started = time.monotonic()
    with pytest.raises(ConnectorError) as info:
        connector.read_customers([COMPANY])
    assert time.monotonic() - started < 10
    assert "erp.url_env" in str(info.value) and "s3cret-pw" not in str(info.value)
    with pytest.raises(ConnectorError, match="erp.url_env"):
        SapB1Connector("not a url").read_companies([COMPANY])


def test_unknown_option_is_rejected() -> None:
    with pytest.raises(ConnectorError, match="unknown option"):
        SapB1Connector("mssql+pyodbc://dsn", {"prepayment": "x"})


def test_rerun_plans_nothing_new(b1) -> None:
    url, _ = b1
    connector = SapB1Connector(url)
    customers, orders = connector.read_state([COMPANY])
    with_orders = customers[customers["customer_id"].isin(orders["customer_id"])
                            & customers["credit_limit"].notna() & ~customers["on_prepayment"]]
    pick = with_orders.iloc[:3]
    decisions = pick[["company", "customer_id", "credit_limit"]].assign(
        block=True, hold=True, require_prepayment=True, new_credit_limit=(pick["credit_limit"] * 0.5).round(2),
        data_incomplete=False, rule_ids="R9", reasons="overdue")
    empty_owned = tool_owned(pd.DataFrame())
    first = build_plan(decisions, customers, orders, empty_owned, auto_release=True)
    assert set(first.changes["change"]) == {"block", "hold_order", "set_prepayment", "set_limit"}
    assert connector.apply(COMPANY, first.changes) == len(first.changes)
    customers2, orders2 = connector.read_state([COMPANY])
    assert unapplied(first.changes, customers2, orders2).empty
    again = build_plan(decisions, customers2, orders2, empty_owned, auto_release=True)
    assert again.changes.empty


def test_test_ddl_has_b1_types_on_mssql() -> None:
    from sqlalchemy.schema import CreateTable

    ddl = {tb.name: str(CreateTable(tb).compile(dialect=mssql.dialect()))
           for tb in (t.OCRD, t.OINV, t.INV6, t.ORTT, t.credit_decisions_out)}
    assert "[CardCode] NVARCHAR(15)" in ddl["OCRD"] and "[CreditLine] NUMERIC(19, 6)" in ddl["OCRD"]
    assert "[frozenFor] CHAR(1)" in ddl["OCRD"] and "[CreateDate] DATETIME" in ddl["OCRD"]
    assert "[DocTotalFC] NUMERIC(19, 6)" in ddl["OINV"] and "[CANCELED] CHAR(1)" in ddl["OINV"]
    assert "[InstlmntID] INTEGER NOT NULL" in ddl["INV6"] and "[Rate] NUMERIC(19, 6)" in ddl["ORTT"]
    assert "IDENTITY" in ddl["credit_decisions_out"] and "processed_at DATETIME NULL" in ddl["credit_decisions_out"]


def test_b1_conventions(b1) -> None:
    url, _ = b1
    connector = SapB1Connector(url)
    cid = connector.read_customers([COMPANY])["customer_id"].iloc[0]
    items = connector.read_open_items([COMPANY])
    single = items[(items["doc_type"] == "invoice") & ~items["item_id"].str.contains("/")].iloc[0]
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(update(t.OCRD).where(t.OCRD.c.CardCode == cid).values(Currency="##", CreditLine=0))
        conn.execute(update(t.OINV).where(t.OINV.c.DocNum == int(single["item_id"])).values(CANCELED="Y"))
    engine.dispose()
    row = connector.read_customers([COMPANY]).set_index("customer_id").loc[cid]
    assert row["currency"] == "EUR" and pd.isna(row["credit_limit"])  # '##' = all currencies; 0 = no limit
    assert single["item_id"] not in set(connector.read_open_items([COMPANY])["item_id"])  # cancelled
