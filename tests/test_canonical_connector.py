"""CanonicalConnector on the machine's real PostgreSQL and MariaDB.

The synthetic business (connectors.synthetic) is loaded into the SPEC §3 tables; every read must
give it back, plans go to the outbound table, and read_state shows them until the ERP imports.
"""

from __future__ import annotations

import time
from datetime import date

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine, func, select, text, update

from connectors.canonical import COMPACT_ENTITIES, CanonicalConnector, PlanError
from connectors.canonical_schema import OUTBOUND_TABLE, load_extract
from connectors.sql import compact_frame
from connectors.synthetic import synthetic_extract
from etl.extract import Extract
from etl.pipeline import evaluate
from etl.plan import PLAN_COLUMNS, build_plan, tool_owned, unapplied
from etl.ports import ConnectorError, ErpConnector
from etl.rules import load_ruleset
from tests.conftest import ROOT
from validation.contracts import ENTITIES, empty_frame
from validation.numbers import plain_text

AS_OF = date(2026, 11, 28)
QUOTED = 'O\'Brien "Trading"'
KEYS = {
    "companies": ["company"],
    "customers": ["company", "customer_id"],
    "open_items": ["company", "item_id"],
    "open_orders": ["company", "order_id"],
    "open_deliveries": ["company", "delivery_id"],
    "payments": ["company", "item_id"],
    "fx_rates": ["from_currency", "to_currency", "as_of"],
}


@pytest.fixture(scope="module")
def extract() -> Extract:
    """synthetic_extract(200) plus a company whose code has both quote characters."""
    base = synthetic_extract(200, as_of=AS_OF)
    src = base.customers.iloc[:3]
    quoted_customers = src.assign(company=QUOTED, customer_id=[f"Q'{i}\"" for i in range(3)])
    return base.replace(
        companies=pd.concat([base.companies, pd.DataFrame({"company": [QUOTED], "currency": ["GBP"]})],
                            ignore_index=True),
        customers=pd.concat([base.customers, quoted_customers], ignore_index=True),
    )


def _url(request: pytest.FixtureRequest, backend: str) -> str:
    if backend == "postgresql":
        return request.getfixturevalue("pg_url")
    name = request.getfixturevalue("mariadb_database")
    return f"mysql+pymysql://root@127.0.0.1:3306/{name}?charset=utf8mb4"


@pytest.fixture(params=["postgresql", "mariadb"])
def url(request: pytest.FixtureRequest, extract: Extract) -> str:
    url = _url(request, request.param)
    load_extract(url, extract)
    return url


@pytest.fixture
def erp(url: str):
    connector = CanonicalConnector(url, {"chunk_size": 97})  # several chunks per read
    yield connector
    connector.close()


def companies_of(extract: Extract) -> list[str]:
    return extract.companies["company"].tolist()


def _sorted(frame: pd.DataFrame, entity: str) -> pd.DataFrame:
    return frame.sort_values(KEYS[entity]).reset_index(drop=True)


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Compact text columns (categoricals, Arrow strings) as object cells with None for null."""
    return frame.assign(**{c: plain_text(frame[c]) for c in frame.columns if frame[c].dtype.kind == "O"})


def assert_frame_matches(got: pd.DataFrame, expected: pd.DataFrame, entity: str) -> None:
    """``got`` is the loaded ``expected``: same columns and values, its text compact for the big
    entities (categoricals, Arrow strings: connectors.canonical.COMPACT_ENTITIES), else object."""
    assert list(got.columns) == list(expected.columns)
    want = compact_frame(expected, empty_frame(entity)) if entity in COMPACT_ENTITIES else expected
    assert got.dtypes.to_dict() == want.dtypes.to_dict(), entity
    pd.testing.assert_frame_equal(_sorted(_plain(got), entity), _sorted(expected, entity), check_exact=False,
                                  atol=1e-6, rtol=0)


def test_implements_the_port(erp):
    assert isinstance(erp, ErpConnector)


def test_every_read_equals_the_loaded_frame_and_validates(erp, extract):
    companies = companies_of(extract)
    for entity in Extract.entities():
        got = getattr(erp, f"read_{entity}")(companies)
        assert_frame_matches(got, getattr(extract, entity), entity)
        model, _ = ENTITIES[entity]
        model.validate(got)


def test_companies_are_bound_parameters(erp, extract):
    got = erp.read_customers([QUOTED])
    assert set(got["company"]) == {QUOTED} and len(got) == 3
    assert erp.read_companies([QUOTED])["currency"].tolist() == ["GBP"]
    demo = companies_of(extract)[0]
    assert set(erp.read_open_items([demo])["company"]) == {demo}
    assert erp.read_customers(["x' OR '1'='1"]).empty
    assert erp.read_customers([]).empty
    # fx rates are not per company
    assert len(erp.read_fx_rates([QUOTED])) == len(extract.fx_rates)


def test_unknown_option_and_bad_chunk_size():
    with pytest.raises(ConnectorError, match="unknown option.*colour"):
        CanonicalConnector("postgresql+psycopg://x@127.0.0.1/db", {"colour": "red"})
    with pytest.raises(ConnectorError, match="chunk_size"):
        CanonicalConnector("postgresql+psycopg://x@127.0.0.1/db", {"chunk_size": "many"})


def test_schema_and_prefix_options(pg_url, extract):
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA erp")
    engine.dispose()
    load_extract(pg_url, extract, schema="erp", prefix="cc_")
    connector = CanonicalConnector(pg_url, {"schema": "erp", "prefix": "cc_"})
    try:
        assert_frame_matches(connector.read_customers(companies_of(extract)), extract.customers, "customers")
        with pytest.raises(ConnectorError, match="erp.url_env"):
            CanonicalConnector(pg_url).read_customers(companies_of(extract))  # public.customers missing
    finally:
        connector.close()


# --------------------------------------------------------------------------- apply


def _plan_with_every_change(erp: CanonicalConnector, company: str) -> pd.DataFrame:
    customers, orders = erp.read_state([company])
    free = customers[~customers["is_blocked"] & ~customers["on_prepayment"] & customers["credit_limit"].notna()]
    blocked = customers[customers["is_blocked"]].iloc[0]
    prepaid = customers[customers["on_prepayment"]].iloc[0]
    held = orders[orders["on_hold"]].iloc[0]
    open_ = orders[~orders["on_hold"]].iloc[0]
    a, b = free.iloc[0], free.iloc[1]
    rows = [
        (a.customer_id, "block", "", "false", "true"),
        (blocked.customer_id, "unblock", "", "true", "false"),
        (open_.customer_id, "hold_order", open_.order_id, "false", "true"),
        (held.customer_id, "release_order", held.order_id, "true", "false"),
        (b.customer_id, "set_prepayment", "", "", "prepayment"),
        (prepaid.customer_id, "unset_prepayment", "", "prepayment", ""),
        (b.customer_id, "set_limit", "", f"{b.credit_limit:.2f}", f"{b.credit_limit / 2:.2f}"),
    ]
    return pd.DataFrame([{"company": company, "customer_id": c, "change": ch, "order_id": o, "before": bf,
                          "after": af, "rule_ids": "r-1;r-2", "reason": "because"} for c, ch, o, bf, af in rows],
                        columns=PLAN_COLUMNS)


def _outbound(url: str, erp: CanonicalConnector) -> pd.DataFrame:
    engine = create_engine(url)
    with engine.connect() as conn:
        frame = pd.read_sql(select(erp.tables.decisions_out).order_by(erp.tables.decisions_out.c.id), conn)
    engine.dispose()
    return frame


def test_apply_writes_outbound_rows_and_read_state_shows_them(erp, url, extract):
    company = companies_of(extract)[0]
    before_c, before_o = erp.read_state([company])
    plan = _plan_with_every_change(erp, company)
    assert erp.apply(company, plan) == len(plan)

    out = _outbound(url, erp)
    assert out[PLAN_COLUMNS].astype(str).values.tolist() == plan.astype(str).values.tolist()
    assert out["imported_at"].isna().all() and out["batch_id"].nunique() == 1 and out["created_at"].notna().all()

    customers, orders = erp.read_state([company])
    assert unapplied(plan, customers, orders).empty  # erp_state_verified passes
    c = customers.set_index("customer_id")
    rows = plan.set_index("change")
    assert c.at[rows.at["block", "customer_id"], "is_blocked"]
    assert not c.at[rows.at["unblock", "customer_id"], "is_blocked"]
    assert c.at[rows.at["set_prepayment", "customer_id"], "on_prepayment"]
    assert not c.at[rows.at["unset_prepayment", "customer_id"], "on_prepayment"]
    assert c.at[rows.at["set_limit", "customer_id"], "credit_limit"] == pytest.approx(float(rows.at["set_limit", "after"]))
    o = orders.set_index("order_id")
    assert o.at[rows.at["hold_order", "order_id"], "on_hold"]
    assert not o.at[rows.at["release_order", "order_id"], "on_hold"]
    # nothing else moved; the source tables are untouched
    touched = set(plan["customer_id"])
    same = customers[~customers["customer_id"].isin(touched)].reset_index(drop=True)
    pd.testing.assert_frame_equal(same, before_c[~before_c["customer_id"].isin(touched)].reset_index(drop=True))
    assert (orders["on_hold"] != before_o["on_hold"]).sum() == 2
    assert_frame_matches(erp.read_customers([company]),
                         extract.customers[extract.customers["company"] == company], "customers")

    # the ERP imports the rows (and changes its own tables): the source state counts again
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(update(erp.tables.decisions_out).values(imported_at=func.now()))
    engine.dispose()
    after_import, _ = erp.read_state([company])
    pd.testing.assert_frame_equal(after_import, before_c)


def test_latest_pending_row_per_subject_wins(erp, extract):
    company = companies_of(extract)[0]
    customers, _ = erp.read_state([company])
    cid = customers[~customers["is_blocked"] & customers["credit_limit"].notna()].iloc[0]
    row = {"company": company, "customer_id": cid.customer_id, "order_id": "", "rule_ids": "", "reason": ""}
    erp.apply(company, pd.DataFrame([{**row, "change": "block", "before": "false", "after": "true"},
                                      {**row, "change": "set_limit", "before": "", "after": "100.00"}]))
    erp.apply(company, pd.DataFrame([{**row, "change": "unblock", "before": "true", "after": "false"},
                                     {**row, "change": "set_limit", "before": "100.00", "after": "50.00"}]))
    state, _ = erp.read_state([company])
    got = state.set_index("customer_id").loc[cid.customer_id]
    assert not got["is_blocked"] and got["credit_limit"] == pytest.approx(50.0)


def _count_outbound(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        n = conn.exec_driver_sql(f"SELECT COUNT(*) FROM {OUTBOUND_TABLE}").scalar_one()
    engine.dispose()
    return int(n)


def test_a_bad_plan_writes_nothing(erp, url, extract):
    company = companies_of(extract)[0]
    plan = _plan_with_every_change(erp, company)
    bad_kind = pd.concat([plan, plan.iloc[[0]].assign(change="explode")], ignore_index=True)
    with pytest.raises(PlanError, match="unknown change kind.*explode"):
        erp.apply(company, bad_kind)
    with pytest.raises(PlanError, match="other companies"):
        erp.apply(company, plan.assign(company="elsewhere"))
    with pytest.raises(PlanError, match="set_limit"):
        erp.apply(company, plan.assign(after=np.where(plan["change"] == "set_limit", "lots", plan["after"])))
    unknown = pd.concat([plan, plan.iloc[[0]].assign(customer_id="NOPE")], ignore_index=True)
    with pytest.raises(ConnectorError, match="unknown customer.*NOPE"):
        erp.apply(company, unknown)
    wrong_company_order = plan.copy()
    wrong_company_order.loc[wrong_company_order["change"] == "hold_order", "order_id"] = "NO-SUCH-ORDER"
    with pytest.raises(ConnectorError, match="unknown order.*NO-SUCH-ORDER"):
        erp.apply(company, wrong_company_order)
    assert _count_outbound(url) == 0


def test_a_database_error_mid_insert_rolls_back_the_company(url, extract):
    erp = CanonicalConnector(url, {"chunk_size": 2})  # inserts go in statements of 2 rows
    try:
        company = companies_of(extract)[0]
        plan = _plan_with_every_change(erp, company)
        plan.loc[len(plan) - 1, "before"] = "x" * 300  # the last statement overflows varchar(255)
        with pytest.raises(ConnectorError) as info:
            erp.apply(company, plan)
        message = str(info.value)
        assert "erp.url_env" in message and "too long" in message.lower() and "\n" not in message
        assert _count_outbound(url) == 0
        state, orders = erp.read_state([company])
        assert state["is_blocked"].sum() == extract.customers.query("company == @company")["is_blocked"].sum()
    finally:
        erp.close()


# --------------------------------------------------------------------------- pipeline


def _from_connector(erp: CanonicalConnector, companies: list[str]) -> Extract:
    return Extract(**{e: getattr(erp, f"read_{e}")(companies) for e in Extract.entities()})


def test_pipeline_gives_the_same_decisions_and_a_rerun_plans_nothing(erp, extract):
    companies = list(synthetic_extract(200, as_of=AS_OF).companies["company"])
    direct = synthetic_extract(200, as_of=AS_OF)
    ruleset = load_ruleset([ROOT / "rules" / "credit_control.yaml"])
    via_erp = evaluate(_from_connector(erp, companies), ruleset, AS_OF)
    expected = evaluate(direct, ruleset, AS_OF)
    keys = ["company", "customer_id"]
    pd.testing.assert_frame_equal(via_erp.positions.sort_values(keys).reset_index(drop=True),
                                  expected.positions.sort_values(keys).reset_index(drop=True),
                                  check_exact=False, atol=1e-6, rtol=0)
    pd.testing.assert_frame_equal(via_erp.decisions.sort_values(keys).reset_index(drop=True),
                                  expected.decisions.sort_values(keys).reset_index(drop=True),
                                  check_exact=False, atol=1e-6, rtol=0)

    # night 1: plan against read_state and apply per company
    owned = tool_owned(pd.DataFrame())
    state_c, state_o = erp.read_state(companies)
    plan = build_plan(via_erp.decisions, state_c, state_o, owned, auto_release=True)
    assert not plan.changes.empty
    for company in plan.companies():
        assert erp.apply(company, plan.for_company(company)) == len(plan.for_company(company))
    state_c, state_o = erp.read_state(companies)
    assert unapplied(plan.changes, state_c, state_o).empty

    # rerun of the same night, before the ERP imported: nothing new
    audit = plan.changes.assign(id=range(len(plan.changes)))
    rerun = evaluate(_from_connector(erp, companies), ruleset, AS_OF, owned=tool_owned(audit))
    again = build_plan(rerun.decisions, state_c, state_o, tool_owned(audit), auto_release=True)
    assert again.changes.empty, again.changes


def test_unreachable_server_is_one_line_naming_the_setting():
    for url in ("postgresql+psycopg://creditctl:s3cr3t-pw@127.0.0.1:1/erp",
                "mysql+pymysql://creditctl:s3cr3t-pw@127.0.0.1:1/erp"):
        connector = CanonicalConnector(url)
        started = time.monotonic()
        with pytest.raises(ConnectorError) as info:
            connector.read_customers(["DE01"])
        assert time.monotonic() - started < 10
        message = str(info.value)
        assert "erp.url_env" in message and "cannot connect" in message
        assert "s3cr3t-pw" not in message and "\n" not in message


def test_bad_url_hides_the_password():
    with pytest.raises(ConnectorError, match="erp.url_env.*not a valid") as info:
        CanonicalConnector("not a url :// pw=hunter2").read_customers(["DE01"])
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_reads_views_and_streams_in_chunks(request, backend, extract, monkeypatch):
    """The ERP side usually publishes views: here over tables loaded with a prefix."""
    url = _url(request, backend)
    load_extract(url, extract, prefix="src_")
    engine = create_engine(url)
    with engine.begin() as conn:
        for entity in Extract.entities():
            conn.exec_driver_sql(f"CREATE VIEW {entity} AS SELECT * FROM src_{entity}")
    engine.dispose()
    connector = CanonicalConnector(url, {"chunk_size": 50})
    chunks: list[int] = []
    # PostgreSQL streams through COPY (Arrow tables), MariaDB by cursor (frames): count both
    import connectors.sql as sql

    paths: set[str] = set()

    def counting(original):
        def wrapped(*args, **kwargs):
            for chunk in original(*args, **kwargs):
                paths.add(original.__name__)
                chunks.append(chunk[0].num_rows if isinstance(chunk, tuple) else len(chunk))
                yield chunk
        return wrapped

    monkeypatch.setattr(sql, "stream", counting(sql.stream))
    monkeypatch.setattr(sql, "copy_tables", counting(sql.copy_tables))
    try:
        got = connector.read_open_items(companies_of(extract))
        assert_frame_matches(got, extract.open_items, "open_items")
        assert len(chunks) > 1 and max(chunks) <= 50
        assert paths == {"copy_tables" if backend == "postgresql" else "stream"}
        assert_frame_matches(connector.read_customers(companies_of(extract)), extract.customers, "customers")
    finally:
        connector.close()


def test_mariadb_odbc_url_connects_to_the_port_it_names():
    """The MariaDB ODBC driver ignores SQLAlchemy's ``Server=host,port``: every SQL connector passes
    the port (and a connect timeout) as the driver's own keywords, not only ERPNext's."""
    closed = CanonicalConnector("mysql+pyodbc://root@127.0.0.1:1/test?driver=MariaDB+Unicode&charset=utf8mb4")
    with pytest.raises(ConnectorError, match="cannot connect.*(2002|Can't connect)"):
        closed.read_companies(["C1"])
    closed.close()


def test_open_deliveries_are_optional(url: str, extract: Extract) -> None:
    # a database without an open_deliveries view has no deliveries; one with it is read
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE open_deliveries"))
    engine.dispose()
    connector = CanonicalConnector(url)
    try:
        assert connector.read_open_deliveries(companies_of(extract)).empty
        assert len(connector.read_customers(companies_of(extract))) == len(extract.customers)
    finally:
        connector.close()
