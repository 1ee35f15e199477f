"""The database privileges docs/connectors.md documents are enough, and no more (SPEC §6.3).

For each connector the test executes the documented GRANT blocks (parsed from the docs, names
substituted) on the machine's real server, then:

* the read-only user reads every frame and the state (the same frames as the admin reads), and
  its ``apply`` is refused by the database with a permission error, writing nothing;
* the write user applies a plan of every change kind, and the state shows it;
* the write user cannot change a column, or a table, outside the documented list.

Users are created with unique names and dropped afterwards (MariaDB users are server-wide,
PostgreSQL roles cluster-wide).
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

import pandas as pd
import pytest
from sqlalchemy import create_engine, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from connectors.canonical import CanonicalConnector
from connectors.canonical_schema import load_extract as load_canonical
from connectors.erpnext import ErpNextConnector
from connectors.erpnext.setup import check_setup
from connectors.odoo import OdooConnector
from connectors.odoo.fixture import load_extract as load_odoo
from connectors.sap_b1 import SapB1Connector, create_schema
from connectors.sap_b1 import load_extract as load_b1
from connectors.sap_b1 import schema as b1
from connectors.synthetic import synthetic_extract
from etl.extract import Extract
from etl.plan import CHANGES, PLAN_COLUMNS, unapplied
from etl.ports import ConnectorError
from tests.conftest import ROOT
from tests.test_erpnext import DE, build_erp

DOCS = ROOT / "docs" / "connectors.md"
#: <!-- grants <connector> <dbms> <users|read|write> --> followed by a ```sql block
_BLOCK = re.compile(r"<!-- grants (\S+) (\S+) (users|read|write) -->\s*```sql\n(.*?)```", re.S)
DENIED = re.compile(r"denied", re.I)


def doc_blocks() -> dict[tuple[str, str, str], str]:
    blocks: dict[tuple[str, str, str], str] = {}
    for connector, dbms, part, sql in _BLOCK.findall(DOCS.read_text()):
        assert (connector, dbms, part) not in blocks, f"two grant blocks {connector} {dbms} {part} in {DOCS}"
        blocks[(connector, dbms, part)] = sql
    return blocks


def statements(sql: str) -> list[str]:
    """The block's statements (one per ``;`` at a line end), comment lines dropped."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in re.split(r";\s*$", "\n".join(lines), flags=re.M) if s.strip()]


@dataclass(frozen=True)
class Users:
    read: str
    write: str


def _render(sql: str, users: Users, database: str) -> str:
    """The docs' placeholders replaced: the two users and the database ``erp``."""
    sql = re.sub(r"\bcreditctl_read\b", users.read, sql)
    sql = re.sub(r"\bcreditctl_write\b", users.write, sql)
    sql = sql.replace("`erp`.", f"`{database}`.")
    return re.sub(r"\bDATABASE erp\b", f'DATABASE "{database}"', sql)


def _unique_users() -> Users:
    tag = f"{os.getpid()}_{uuid.uuid4().hex[:8]}"
    return Users(read=f"cc_ro_{tag}", write=f"cc_rw_{tag}")


def _user_url(admin_url: str, user: str) -> str:
    # PostgreSQL here trusts local connections (the password is not checked, the grants are)
    url = make_url(admin_url).set(username=user, password="change-me")
    return url.render_as_string(hide_password=False)


@contextmanager
def documented_users(admin_url: str, connectors: list[str], dbms: str) -> Iterator[tuple[str, str]]:
    """Create the two users with the docs' blocks of ``connectors`` (in order); yield their URLs."""
    blocks = doc_blocks()
    database = make_url(admin_url).database
    users = _unique_users()
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        for part in ("users", "read", "write"):
            for connector in connectors:
                sql = blocks.get((connector, dbms, part))
                if sql is None:
                    continue
                rendered = _render(sql, users, database)
                assert users.read in rendered or users.write in rendered, (connector, dbms, part)
                with engine.connect() as conn:
                    for stmt in statements(rendered):
                        conn.execute(text(stmt.replace(":", r"\:")))
        yield _user_url(admin_url, users.read), _user_url(admin_url, users.write)
    finally:
        with engine.connect() as conn:
            if dbms == "mariadb":
                for user in (users.read, users.write):
                    conn.execute(text(f"DROP USER IF EXISTS '{user}'@'%'"))
            else:
                conn.execute(text(f"DROP OWNED BY {users.read}, {users.write}"))
                conn.execute(text(f"DROP ROLE IF EXISTS {users.read}, {users.write}"))
        engine.dispose()


# --------------------------------------------------------------------------- the three checks


def every_change_plan(connector, company: str, terms_blank: bool = False) -> pd.DataFrame:
    """One plan row of each change kind the company's state allows (limits: up to three)."""
    customers, orders = connector.read_state([company])
    customers = customers.sort_values("customer_id")
    free = customers[~customers["is_blocked"] & ~customers["on_prepayment"]]
    blocked = customers[customers["is_blocked"]]
    prepaid = customers[customers["on_prepayment"]]
    terms = "" if terms_blank else next((t for t in free["payment_terms"] if t), "")
    rows = [(free["customer_id"].iloc[0], "block", "", "false", "true"),
            (free["customer_id"].iloc[1], "set_prepayment", "", "", "prepayment")]
    rows += [(cid, "set_limit", "", "", "123.45") for cid in free["customer_id"].iloc[:3]]
    if not blocked.empty:
        rows.append((blocked["customer_id"].iloc[0], "unblock", "", "true", "false"))
    if not prepaid.empty:
        rows.append((prepaid["customer_id"].iloc[0], "unset_prepayment", "", "prepayment", terms))
    open_, held = orders[~orders["on_hold"]], orders[orders["on_hold"]]
    if not open_.empty:
        rows.append((open_["customer_id"].iloc[0], "hold_order", open_["order_id"].iloc[0], "false", "true"))
    if not held.empty:
        rows.append((held["customer_id"].iloc[0], "release_order", held["order_id"].iloc[0], "true", "false"))
    return pd.DataFrame([{"company": company, "customer_id": c, "change": ch, "order_id": o, "before": b,
                          "after": a, "rule_ids": "r-1", "reason": "privileges test"} for c, ch, o, b, a in rows],
                        columns=PLAN_COLUMNS)


def check_read_only(make: Callable[[str], object], admin_url: str, read_url: str, companies: list[str]) -> None:
    """The read-only user reads what the admin reads; its apply is refused and writes nothing."""
    admin, reader = make(admin_url), make(read_url)
    try:
        for entity in Extract.entities():
            got = getattr(reader, f"read_{entity}")(companies)
            pd.testing.assert_frame_equal(got, getattr(admin, f"read_{entity}")(companies), obj=entity)
            # the fixture has no payments history and no deliveries (optional records)
            assert entity in ("payments", "open_deliveries") or not got.empty, entity
        before = reader.read_state(companies)
        for company in companies:
            plan = every_change_plan(reader, company)
            with pytest.raises(ConnectorError, match=DENIED) as info:
                reader.apply(company, plan)
            assert "\n" not in str(info.value)
        after = admin.read_state(companies)
        pd.testing.assert_frame_equal(after[0], before[0])
        pd.testing.assert_frame_equal(after[1], before[1])
    finally:
        admin.close()
        reader.close()


def check_write(make: Callable[[str], object], write_url: str, companies: list[str],
                terms_blank: bool = False) -> set[str]:
    """The write user applies a plan of every change kind the data allows; returns the kinds."""
    writer = make(write_url)
    kinds: set[str] = set()
    try:
        for company in companies:
            plan = every_change_plan(writer, company, terms_blank)
            assert writer.apply(company, plan) == len(plan)
            customers, orders = writer.read_state([company])
            assert unapplied(plan, customers, orders).empty, unapplied(plan, customers, orders)
            kinds |= set(plan["change"])
    finally:
        writer.close()
    assert kinds == set(CHANGES)
    return kinds


def check_refused(write_url: str, statements_: list[str]) -> None:
    """Each statement (outside the documented columns/tables) is refused for the write user."""
    engine = create_engine(write_url)
    try:
        for stmt in statements_:
            with engine.connect() as conn, pytest.raises(DBAPIError, match=DENIED):
                conn.execute(text(stmt))
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- erpnext (MariaDB)


def test_erpnext_on_mariadb(mariadb_database: str) -> None:
    admin_url = f"mysql+pymysql://root@127.0.0.1:3306/{mariadb_database}?charset=utf8mb4"
    build_erp(admin_url)
    with documented_users(admin_url, ["erpnext"], "mariadb") as (read_url, write_url):
        # the SQL write user serves write_via: sql only (a database no ERPNext application serves)
        sql_writes = partial(ErpNextConnector, options={"write_via": "sql"})
        check_read_only(sql_writes, admin_url, read_url, [DE])
        check_write(sql_writes, write_url, [DE])
        # the read user's grants are all `connector setup erpnext` reads (no API here: that check fails)
        reader = ErpNextConnector(read_url)
        checks = {c.name: c for c in check_setup(reader)}
        reader.close()
        assert checks["read user"].ok, checks["read user"].detail
        assert not checks["API user"].ok and "api_url is not set" in checks["API user"].detail
        # the set_limit of a customer on its group's limit inserted its own row; comments were written
        engine = create_engine(admin_url)
        with engine.connect() as conn:
            own = conn.execute(text("SELECT count(*) FROM `tabCustomer Credit Limit` "
                                    "WHERE parent = 'C2' AND parenttype = 'Customer'")).scalar()
            comments = conn.execute(text("SELECT count(*) FROM tabComment")).scalar()
        engine.dispose()
        assert own == 1 and comments == 2
        check_refused(write_url, [
            "UPDATE tabCustomer SET customer_name = 'x'",
            "UPDATE `tabCustomer Credit Limit` SET company = 'x'",
            "UPDATE `tabSales Order` SET grand_total = 0",
            "UPDATE `tabSales Invoice` SET outstanding_amount = 0",
            "DELETE FROM tabComment",
            "INSERT INTO tabCustomer (name) VALUES ('x')",
        ])


# --------------------------------------------------------------------------- odoo (PostgreSQL)


@pytest.fixture(scope="module")
def extract() -> Extract:
    return synthetic_extract(150)


@pytest.mark.parametrize("version", [17, 18])
def test_odoo_on_postgresql(pg_url: str, extract: Extract, version: int) -> None:
    load_odoo(pg_url, extract, version)
    companies = extract.companies["company"].tolist()

    def make(url: str) -> OdooConnector:
        return OdooConnector(url, {"version": version})

    with documented_users(pg_url, ["odoo", f"odoo-{version}"], "postgresql") as (read_url, write_url):
        check_read_only(make, pg_url, read_url, companies)
        check_write(make, write_url, companies)
        # unset_prepayment to the company default: 17 deletes the partner's ir_property row
        writer = make(write_url)
        company = companies[0]
        customers, _ = writer.read_state([company])
        target = customers[customers["on_prepayment"]]["customer_id"].iloc[0]
        plan = pd.DataFrame([{"company": company, "customer_id": target, "change": "unset_prepayment",
                              "order_id": "", "before": "", "after": "", "rule_ids": "", "reason": ""}])
        assert writer.apply(company, plan[PLAN_COLUMNS]) == 1
        assert not writer.read_state([company])[0].set_index("customer_id").loc[target, "on_prepayment"]
        writer.close()
        refused = ["UPDATE res_partner SET name = 'x'", "UPDATE res_partner SET customer_rank = 0",
                   "UPDATE sale_order SET state = 'cancel'", "UPDATE account_move SET amount_residual = 0",
                   "DELETE FROM sale_order", "INSERT INTO res_partner (name) VALUES ('x')"]
        if version == 17:
            refused += ["UPDATE ir_property SET res_id = 'res.partner,1'", "DELETE FROM ir_model_fields"]
        check_refused(write_url, refused)


# --------------------------------------------------------------------------- sap_b1 (PostgreSQL)


def test_sap_b1_outbound_on_postgresql(pg_url: str, extract: Extract) -> None:
    company = "Demo GmbH"
    create_schema(pg_url)
    load_b1(pg_url, extract, company)
    engine = create_engine(pg_url)
    with engine.begin() as conn:  # a block a person set in B1, so the plan can release one
        conn.execute(update(b1.OCRD).where(b1.OCRD.c.CardCode == extract.customers.loc[
            extract.customers["company"] == company, "customer_id"].max()).values(frozenFor="Y"))
    engine.dispose()
    with documented_users(pg_url, ["sap_b1"], "postgresql") as (read_url, write_url):
        check_read_only(SapB1Connector, pg_url, read_url, [company])
        check_write(SapB1Connector, write_url, [company])
        check_refused(write_url, [
            "UPDATE credit_decisions_out SET processed_at = now()",
            "DELETE FROM credit_decisions_out",
            "UPDATE \"OCRD\" SET \"frozenFor\" = 'Y'",
            "UPDATE \"ORDR\" SET \"Confirmed\" = 'N'",
        ])


def _grants(sql: str) -> set[tuple[str, str]]:
    """(privilege, object) pairs of a block's GRANT statements, object names unquoted, no schema."""
    pairs = set()
    for stmt in statements(sql):
        m = re.match(r"GRANT\s+(.+?)\s+ON\s+(?:SEQUENCE\s+)?(.+?)\s+TO\s", " ".join(stmt.split()), re.I)
        if m is None:
            continue
        privileges = [p.strip().split()[0].upper() for p in m.group(1).split(",")]
        for obj in m.group(2).split(","):
            name = obj.strip().replace('"', "").split(".")[-1]
            pairs |= {(p, name) for p in privileges}
    return pairs


def test_sap_b1_sql_server_grants_match_the_tested_ones() -> None:
    blocks = doc_blocks()
    for part in ("read", "write"):
        tested = {p for p in _grants(blocks[("sap_b1", "postgresql", part)])
                  if not p[1].endswith("_id_seq")}  # SQL Server's IDENTITY needs no sequence grant
        assert _grants(blocks[("sap_b1", "sqlserver", part)]) == tested, part


# --------------------------------------------------------------------------- canonical


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_canonical(request: pytest.FixtureRequest, extract: Extract, backend: str) -> None:
    if backend == "postgresql":
        admin_url = request.getfixturevalue("pg_url")
    else:
        admin_url = (f"mysql+pymysql://root@127.0.0.1:3306/{request.getfixturevalue('mariadb_database')}"
                     "?charset=utf8mb4")
    tables = load_canonical(admin_url, extract)
    companies = extract.companies["company"].tolist()
    with documented_users(admin_url, ["canonical"], backend) as (read_url, write_url):
        check_read_only(CanonicalConnector, admin_url, read_url, companies)
        check_write(CanonicalConnector, write_url, companies, terms_blank=True)
        out = tables.decisions_out.name
        check_refused(write_url, [f"UPDATE {out} SET imported_at = CURRENT_TIMESTAMP", f"DELETE FROM {out}",
                                  "UPDATE customers SET is_blocked = false", "DELETE FROM open_orders"])


def test_every_documented_connector_has_tested_grants() -> None:
    """Each database connector's docs carry users, read and write blocks (what the tests execute)."""
    keys = set(doc_blocks())
    for connector, dbms in [("erpnext", "mariadb"), ("odoo", "postgresql"), ("sap_b1", "postgresql"),
                            ("sap_b1", "sqlserver"), ("canonical", "postgresql"), ("canonical", "mariadb")]:
        for part in ("users", "read", "write") if connector != "odoo" else ("users", "read"):
            assert (connector, dbms, part) in keys, (connector, dbms, part)
    for version in (17, 18):
        assert {(f"odoo-{version}", "postgresql", "read"), (f"odoo-{version}", "postgresql", "write")} <= keys
