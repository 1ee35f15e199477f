"""OdooConnector on the machine's PostgreSQL, Odoo 17 (ir_property) and 18 (jsonb) schemas.

The fixture writes the synthetic business (the demo's customers, items, orders, history, rates)
as Odoo rows; reading it back must give the same canonical frames, except where Odoo cannot
represent a field (asserted explicitly below).
"""

from __future__ import annotations

import time
from datetime import date

import pandas as pd
import pytest
from sqlalchemy import create_engine, select

from connectors.odoo import OdooConnector
from connectors.odoo.connector import setup
from connectors.odoo.fixture import load_extract
from connectors.odoo.tables import tables
from connectors.synthetic import synthetic_extract
from etl.extract import Extract
from etl.pipeline import evaluate
from etl.plan import PLAN_COLUMNS, build_plan, tool_owned, unapplied
from etl.ports import ConnectorError, ErpConnector, ErpProvenance
from etl.rules import load_ruleset
from tests.conftest import ROOT
from validation.contracts import ENTITIES, empty_frame

VERSIONS = [17, 18]
AS_OF = date(2026, 11, 28)
QUOTED = 'O\'Brien "Trading"; DROP TABLE x --'

#: the sort keys of each frame
KEYS = {"companies": ["company"], "customers": ["company", "customer_id"], "open_items": ["company", "item_id"],
        "open_orders": ["company", "order_id"], "open_deliveries": ["company", "delivery_id"],
        "payments": ["company", "item_id"],
        "fx_rates": ["from_currency", "to_currency", "as_of"]}


@pytest.fixture(scope="module")
def extract() -> Extract:
    return synthetic_extract(150)


def _sorted(frame: pd.DataFrame, entity: str) -> pd.DataFrame:
    return frame.sort_values(KEYS[entity]).reset_index(drop=True)


def _assert_same(got: pd.DataFrame, expected: pd.DataFrame, entity: str) -> None:
    got, expected = _sorted(got, entity), _sorted(expected, entity)
    assert list(got.columns) == list(expected.columns)
    money = [c for c in got.columns if got[c].dtype.kind == "f"]
    pd.testing.assert_frame_equal(got.drop(columns=money), expected.drop(columns=money), check_dtype=True)
    for col in money:
        a, b = got[col], expected[col]
        assert (a.isna() == b.isna()).all(), col
        assert ((a - b).abs().fillna(0) < 1e-6).all(), col


def _load(url: str, extract: Extract, version: int) -> OdooConnector:
    load_extract(url, extract, version)
    return OdooConnector(url, {"version": version, "chunk_size": 37})


def _companies(extract: Extract) -> list[str]:
    return extract.companies["company"].tolist()


@pytest.mark.parametrize("version", VERSIONS)
def test_frames_round_trip(pg_url: str, extract: Extract, version: int) -> None:
    con = _load(pg_url, extract, version)
    assert isinstance(con, ErpConnector)
    companies = _companies(extract)
    for entity in Extract.entities():
        got = getattr(con, f"read_{entity}")(companies)
        expected = getattr(extract, entity)
        if entity == "open_items":
            # Odoo Community has no follow-up (dunning) levels: always 0
            assert (got["dunning_level"] == 0).all()
            expected = expected.assign(dunning_level=0)
        if entity == "customers":
            # no Odoo field for insurance cover / external rating; the synthetic data has none either
            assert got["insured_limit"].isna().all() and got["external_rating"].isna().all()
        _assert_same(got, expected, entity)
        model, _ = ENTITIES[entity]
        model.validate(got)
    con.close()


@pytest.mark.parametrize("version", VERSIONS)
def test_reads_filter_by_company(pg_url: str, extract: Extract, version: int) -> None:
    con = _load(pg_url, extract, version)
    company = _companies(extract)[0]
    for entity in ("customers", "open_items", "open_orders", "payments"):
        got = getattr(con, f"read_{entity}")([company])
        assert set(got["company"]) == {company}
        assert len(got) == (getattr(extract, entity)["company"] == company).sum()
    assert con.read_customers([]).empty and con.read_customers(["nobody"]).empty
    con.close()


@pytest.mark.parametrize("version", VERSIONS)
def test_quoted_company_name(pg_url: str, extract: Extract, version: int) -> None:
    old = _companies(extract)[0]
    frames = {e: f.assign(company=f["company"].replace(old, QUOTED)) if "company" in f.columns else f
              for e, f in extract.frames().items()}
    quoted = Extract(**frames)
    con = _load(pg_url, quoted, version)
    _assert_same(con.read_customers([QUOTED]), quoted.customers[quoted.customers["company"] == QUOTED],
                 "customers")
    customers, _ = con.read_state([QUOTED])
    target = customers[~customers["is_blocked"]].iloc[0]["customer_id"]
    plan = pd.DataFrame([{"company": QUOTED, "customer_id": target, "change": "block", "order_id": "",
                          "before": "", "after": "", "rule_ids": "r1", "reason": "it's \"late\""}])
    assert con.apply(QUOTED, plan[PLAN_COLUMNS]) == 1
    state, _ = con.read_state([QUOTED])
    assert state.set_index("customer_id").loc[target, "is_blocked"]
    con.close()


def _plan(extract: Extract, con: OdooConnector, company: str) -> tuple[pd.DataFrame, dict]:
    customers, orders = con.read_state([company])
    c = customers.set_index("customer_id")
    free = c[~c["is_blocked"] & ~c["on_prepayment"]].index.tolist()
    blocked = c[c["is_blocked"]].index.tolist()
    prepaid = c[c["on_prepayment"]].index.tolist()
    no_limit = c[c["credit_limit"].isna() & ~c["is_blocked"]].index.tolist()
    held = orders[orders["on_hold"]]
    open_ = orders[~orders["on_hold"]]
    rows, expect = [], {}

    def row(customer, change, order="", before="", after="", reason="r"):
        rows.append({"company": company, "customer_id": customer, "change": change, "order_id": order,
                     "before": before, "after": after, "rule_ids": "rule-1", "reason": reason})

    row(free[0], "block", reason="overdue > 90 days")
    expect["block"] = free[0]
    if blocked:
        row(blocked[0], "unblock")
        expect["unblock"] = blocked[0]
    row(free[1], "set_limit", before=str(c.loc[free[1], "credit_limit"]), after="1234.50")
    expect["set_limit"] = free[1]
    if no_limit:
        row(no_limit[0], "set_limit", after="777.00")
        expect["set_limit_new"] = no_limit[0]
    row(free[2], "set_prepayment", before=c.loc[free[2], "payment_terms"], after="prepayment")
    expect["set_prepayment"] = free[2]
    if prepaid:
        row(prepaid[0], "unset_prepayment", after=c.loc[free[3], "payment_terms"])
        expect["unset_prepayment"] = (prepaid[0], c.loc[free[3], "payment_terms"])
    o = open_.iloc[0]
    row(o["customer_id"], "hold_order", order=o["order_id"], reason="over limit")
    expect["hold_order"] = o["order_id"]
    if not held.empty:
        h = held.iloc[0]
        row(h["customer_id"], "release_order", order=h["order_id"])
        expect["release_order"] = h["order_id"]
    return pd.DataFrame(rows)[PLAN_COLUMNS], expect


@pytest.mark.parametrize("version", VERSIONS)
def test_apply_every_change_kind(pg_url: str, extract: Extract, version: int) -> None:
    con = _load(pg_url, extract, version)
    # the blocks and holds a person set are no sign of creditctl: nothing of it in the ERP yet
    assert con.read_provenance(_companies(extract)) == ErpProvenance(changes=None, marked=False)
    applied_changes = set()
    for company in _companies(extract):
        plan, expect = _plan(extract, con, company)
        assert con.apply(company, plan) == len(plan)
        applied_changes |= set(plan["change"])
        customers, orders = con.read_state([company])
        c, o = customers.set_index("customer_id"), orders.set_index("order_id")
        assert c.loc[expect["block"], "is_blocked"]
        assert c.loc[expect["set_limit"], "credit_limit"] == pytest.approx(1234.5)
        assert c.loc[expect["set_prepayment"], "on_prepayment"]
        assert o.loc[expect["hold_order"], "on_hold"]
        if "unblock" in expect:
            assert not c.loc[expect["unblock"], "is_blocked"]
        if "set_limit_new" in expect:
            assert c.loc[expect["set_limit_new"], "credit_limit"] == pytest.approx(777.0)
        if "unset_prepayment" in expect:
            customer, terms = expect["unset_prepayment"]
            assert not c.loc[customer, "on_prepayment"] and c.loc[customer, "payment_terms"] == terms
        if "release_order" in expect:
            assert not o.loc[expect["release_order"], "on_hold"]
        # a rerun is idempotent
        before = con.read_state([company])
        con.apply(company, plan)
        after = con.read_state([company])
        pd.testing.assert_frame_equal(before[0], after[0])
        pd.testing.assert_frame_equal(before[1], after[1])
    assert applied_changes == {"block", "unblock", "set_limit", "set_prepayment", "unset_prepayment",
                               "hold_order", "release_order"}
    # now its blocks and holds show (a store without history then refuses to apply)
    assert con.read_provenance(_companies(extract)).marked is True
    # block messages land in sale_warn_msg; the reason of a hold in x_credit_hold_reason
    t = tables(version)
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        msgs = set(conn.execute(select(t.res_partner.c.sale_warn_msg)
                                .where(t.res_partner.c.sale_warn == "block")).scalars())
        reasons = set(conn.execute(select(t.sale_order.c.x_credit_hold_reason)
                                   .where(t.sale_order.c.x_credit_hold)).scalars())
    engine.dispose()
    assert "creditctl: overdue > 90 days" in msgs and "creditctl: over limit" in reasons
    con.close()


@pytest.mark.parametrize("version", VERSIONS)
def test_unset_prepayment_to_nothing(pg_url: str, extract: Extract, version: int) -> None:
    con = _load(pg_url, extract, version)
    company = _companies(extract)[0]
    customers, _ = con.read_state([company])
    target = customers[customers["on_prepayment"]].iloc[0]["customer_id"]
    plan = pd.DataFrame([{"company": company, "customer_id": target, "change": "unset_prepayment", "order_id": "",
                          "before": "", "after": "", "rule_ids": "", "reason": ""}])[PLAN_COLUMNS]
    con.apply(company, plan)
    state = con.read_state([company])[0].set_index("customer_id")
    assert not state.loc[target, "on_prepayment"] and state.loc[target, "payment_terms"] == ""
    con.close()


@pytest.mark.parametrize("version", VERSIONS)
def test_failing_row_rolls_back_the_company(pg_url: str, extract: Extract, version: int) -> None:
    con = _load(pg_url, extract, version)
    company = _companies(extract)[0]
    plan, _ = _plan(extract, con, company)
    before = con.read_state([company])
    bad = pd.concat([plan, pd.DataFrame([{**plan.iloc[-1].to_dict(), "change": "hold_order",
                                          "order_id": "NO-SUCH-ORDER"}])], ignore_index=True)
    with pytest.raises(ConnectorError, match="NO-SUCH-ORDER"):
        con.apply(company, bad)
    unknown = pd.concat([plan, pd.DataFrame([{**plan.iloc[0].to_dict(), "customer_id": "ghost"}])],
                        ignore_index=True)
    with pytest.raises(ConnectorError, match="ghost"):
        con.apply(company, unknown)
    after = con.read_state([company])
    pd.testing.assert_frame_equal(before[0], after[0])
    pd.testing.assert_frame_equal(before[1], after[1])
    con.close()


@pytest.mark.parametrize("version", VERSIONS)
def test_missing_prepayment_term_fails(pg_url: str, extract: Extract, version: int) -> None:
    load_extract(pg_url, extract, version)
    con = OdooConnector(pg_url, {"version": version, "prepayment_term": "No Such Term"})
    company = _companies(extract)[0]
    customers, _ = con.read_state([company])
    plan = pd.DataFrame([{"company": company, "customer_id": customers.iloc[0]["customer_id"],
                          "change": "set_prepayment", "order_id": "", "before": "", "after": "",
                          "rule_ids": "", "reason": ""}])[PLAN_COLUMNS]
    with pytest.raises(ConnectorError, match="No Such Term"):
        con.apply(company, plan)
    con.close()


def test_setup_is_idempotent(pg_url: str) -> None:
    from connectors.odoo.tables import create_schema

    create_schema(pg_url, 18)
    assert setup(pg_url) == ["x_credit_hold", "x_credit_hold_reason"]
    assert setup(pg_url) == []
    con = OdooConnector(pg_url)
    assert con.read_open_orders(["nobody"]).empty
    con.close()


def test_orders_read_without_setup(pg_url: str) -> None:
    from connectors.odoo.tables import create_schema

    create_schema(pg_url, 17)
    con = OdooConnector(pg_url, {"version": 17})
    assert con.read_open_orders(["X"]).empty
    con.close()


def test_unreachable_server_names_the_setting() -> None:
    con = OdooConnector("postgresql+psycopg://odoo:s3cret-pw@127.0.0.1:1/odoo")
    start = time.monotonic()
    with pytest.raises(ConnectorError) as info:
        con.read_customers(["X"])
    assert time.monotonic() - start < 10
    message = str(info.value)
    assert "erp.url_env" in message and "s3cret-pw" not in message and "\n" not in message
    with pytest.raises(ConnectorError, match="erp.url_env"):
        setup("postgresql+psycopg://odoo:s3cret-pw@127.0.0.1:1/odoo")


def test_bad_options() -> None:
    with pytest.raises(ConnectorError, match="version"):
        OdooConnector("postgresql+psycopg://x@127.0.0.1/db", {"version": 16})
    with pytest.raises(ConnectorError, match="unknown option"):
        OdooConnector("postgresql+psycopg://x@127.0.0.1/db", {"colour": "red"})


@pytest.mark.parametrize("version", VERSIONS)
def test_pipeline_gives_the_same_decisions_and_a_rerun_plans_nothing(pg_url: str, extract: Extract,
                                                                     version: int) -> None:
    con = _load(pg_url, extract, version)
    companies = _companies(extract)
    ruleset = load_ruleset([ROOT / "rules" / "credit_control.yaml"])
    via_erp = evaluate(Extract(**{e: getattr(con, f"read_{e}")(companies) for e in Extract.entities()}),
                       ruleset, AS_OF)
    # the one documented difference: Odoo Community has no dunning levels
    direct = extract.replace(open_items=extract.open_items.assign(dunning_level=0))
    expected = evaluate(direct, ruleset, AS_OF)
    keys = ["company", "customer_id"]
    for name in ("positions", "decisions"):
        pd.testing.assert_frame_equal(getattr(via_erp, name).sort_values(keys).reset_index(drop=True),
                                      getattr(expected, name).sort_values(keys).reset_index(drop=True),
                                      check_exact=False, atol=1e-6, rtol=0)

    state_c, state_o = con.read_state(companies)
    plan = build_plan(via_erp.decisions, state_c, state_o, tool_owned(pd.DataFrame()), auto_release=True)
    assert not plan.changes.empty
    for company in plan.companies():
        assert con.apply(company, plan.for_company(company)) == len(plan.for_company(company))
    state_c, state_o = con.read_state(companies)
    assert unapplied(plan.changes, state_c, state_o).empty

    audit = plan.changes.assign(id=range(len(plan.changes)))
    rerun = evaluate(Extract(**{e: getattr(con, f"read_{e}")(companies) for e in Extract.entities()}),
                     ruleset, AS_OF, owned=tool_owned(audit))
    again = build_plan(rerun.decisions, state_c, state_o, tool_owned(audit), auto_release=True)
    assert again.changes.empty, again.changes
    con.close()


@pytest.mark.parametrize("version", VERSIONS)
def test_contacts_roll_up_to_the_commercial_partner(pg_url: str, extract: Extract, version: int) -> None:
    from sqlalchemy import insert, update

    con = _load(pg_url, extract, version)
    company = _companies(extract)[0]
    t = tables(version)
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        aml = t.account_move_line
        order = conn.execute(select(t.sale_order.c.id, t.sale_order.c.name, t.sale_order.c.partner_id)
                             .where(t.sale_order.c.partner_id.in_(select(aml.c.partner_id)
                                                                  .where(aml.c.reconciled.is_(False))))
                             .order_by(t.sale_order.c.id).limit(1)).one()
        contact = conn.execute(insert(t.res_partner).values(
            name="Jane Buyer", ref="CONTACT-1", parent_id=order.partner_id, commercial_partner_id=order.partner_id,
            customer_rank=3, sale_warn="no-message", **({"autopost_bills": "ask"} if version == 18 else {}))
            .returning(t.res_partner.c.id)).scalar()
        conn.execute(update(t.sale_order).where(t.sale_order.c.id == order.id).values(partner_id=contact))
        line = conn.execute(select(aml.c.id, aml.c.move_id)
                            .where(aml.c.reconciled.is_(False), aml.c.partner_id == order.partner_id)
                            .order_by(t.account_move_line.c.id).limit(1)).one()
        conn.execute(update(t.account_move_line).where(t.account_move_line.c.move_id == line.move_id)
                     .values(partner_id=contact))
    engine.dispose()
    assert "CONTACT-1" not in set(con.read_customers([company])["customer_id"])
    _assert_same(con.read_open_orders(_companies(extract)), extract.open_orders, "open_orders")
    expected = extract.open_items.assign(dunning_level=0)
    _assert_same(con.read_open_items(_companies(extract)), expected, "open_items")
    orders = con.read_open_orders(_companies(extract)).set_index("order_id")
    held = orders.loc[order.name]
    plan = pd.DataFrame([{"company": held["company"], "customer_id": held["customer_id"], "change": "hold_order",
                          "order_id": order.name, "before": "", "after": "", "rule_ids": "", "reason": "x"}])
    assert con.apply(held["company"], plan[PLAN_COLUMNS]) == 1
    assert con.read_open_orders([held["company"]]).set_index("order_id").loc[order.name, "on_hold"]
    con.close()


def test_odoo17_payment_term_falls_back_to_the_company_default(pg_url: str, extract: Extract) -> None:
    from sqlalchemy import delete, insert

    con = _load(pg_url, extract, 17)
    company = _companies(extract)[0]
    customers, _ = con.read_state([company])
    target = customers[~customers["on_prepayment"]].iloc[0]["customer_id"]
    t = tables(17)
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        pid = conn.execute(select(t.res_partner.c.id).where(t.res_partner.c.ref == target)).scalar()
        cid = conn.execute(select(t.res_company.c.id).where(t.res_company.c.name == company)).scalar()
        conn.execute(delete(t.ir_property).where(t.ir_property.c.res_id == f"res.partner,{pid}",
                                                 t.ir_property.c.name == "property_payment_term_id"))
        conn.execute(insert(t.ir_property).values(name="property_payment_term_id", res_id=None, company_id=cid,
                                                  fields_id=2, type="many2one",
                                                  value_reference="account.payment.term,1"))
    engine.dispose()
    state = con.read_state([company])[0].set_index("customer_id")
    assert state.loc[target, "payment_terms"] == "1"
    # the company default row is never touched by a write; the partner gets its own row
    plan = pd.DataFrame([{"company": company, "customer_id": target, "change": "set_prepayment", "order_id": "",
                          "before": "1", "after": "", "rule_ids": "", "reason": ""}])[PLAN_COLUMNS]
    con.apply(company, plan)
    state = con.read_state([company])[0].set_index("customer_id")
    assert state.loc[target, "on_prepayment"]
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        default = conn.execute(select(t.ir_property.c.value_reference)
                               .where(t.ir_property.c.res_id.is_(None))).scalars().all()
    engine.dispose()
    assert default == ["account.payment.term,1"]
    con.close()


def test_odoo18_payment_term_falls_back_to_ir_default(pg_url: str, extract: Extract) -> None:
    from sqlalchemy import insert, update

    con = _load(pg_url, extract, 18)
    company = _companies(extract)[0]
    customers, _ = con.read_state([company])
    target = customers[~customers["on_prepayment"]].iloc[0]["customer_id"]
    t = tables(18)
    p = t.res_partner
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        cid = conn.execute(select(t.res_company.c.id).where(t.res_company.c.name == company)).scalar()
        conn.execute(update(p).where(p.c.ref == target).values(property_payment_term_id=None))
        conn.execute(insert(t.ir_default).values(field_id=2, company_id=cid, json_value="1"))
    engine.dispose()
    state = con.read_state([company])[0].set_index("customer_id")
    assert state.loc[target, "payment_terms"] == "1"
    con.close()


def test_cli_connector_setup_odoo_adds_the_hold_fields_once(pg_url, tmp_path, capsys, monkeypatch) -> None:
    import sqlalchemy as sa

    from connectors.odoo.tables import create_schema
    from tests.cli_helpers import run_cli

    create_schema(pg_url, 18)
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:  # an Odoo without creditctl's custom fields yet (addon and term present)
        conn.execute(sa.text("ALTER TABLE sale_order DROP COLUMN IF EXISTS x_credit_hold, "
                             "DROP COLUMN IF EXISTS x_credit_hold_reason"))
        conn.execute(sa.text("INSERT INTO ir_module_module (name, state) VALUES ('creditctl_credit_control', "
                             "'installed')"))
        conn.execute(sa.text("""INSERT INTO account_payment_term (name, sequence) VALUES ('{"en_US": "Prepayment"}', 10)"""))
    config = tmp_path / "creditctl.yaml"
    config.write_text("erp: {kind: odoo, url_env: ODOO_URL, companies: [A]}\nrules: [r.yaml]\n")
    monkeypatch.setenv("ODOO_URL", pg_url)
    first = run_cli(capsys, monkeypatch, "connector", "setup", "odoo", "--config", str(config))
    assert first.code == 0, first.err
    assert "ok   hold fields: added x_credit_hold, x_credit_hold_reason to sale_order" in first.out
    columns = {c["name"] for c in sa.inspect(engine).get_columns("sale_order")}
    assert {"x_credit_hold", "x_credit_hold_reason"} <= columns
    again = run_cli(capsys, monkeypatch, "connector", "setup", "odoo", "--config", str(config))
    assert again.code == 0 and "already has" in again.out
    engine.dispose()


def _many_customers(n: int) -> Extract:
    """One company, ``n`` customers with one confirmed order each, in blocks of known state."""
    i = pd.RangeIndex(n)
    ids = pd.Series([f"C{k:05d}" for k in i])
    customers = pd.DataFrame({
        "company": "Big GmbH", "customer_id": ids, "name": "Customer " + ids, "country": "DE", "currency": "EUR",
        "credit_limit": pd.Series([None if k % 2 else 5000.0 for k in i], dtype="float64"),
        "payment_terms_days": 30, "customer_since": pd.Timestamp("2020-01-01"), "segment": None,
        "insured_limit": float("nan"), "external_rating": pd.array([pd.NA] * n, dtype="Int64"),
        "is_blocked": (i >= 1000) & (i < 1500), "on_prepayment": (i >= 3000),
    })[list(empty_frame("customers").columns)]
    orders = pd.DataFrame({"company": "Big GmbH", "order_id": "SO" + ids, "customer_id": ids,
                           "order_date": pd.Timestamp("2026-11-01"), "open_amount": 100.0, "currency": "EUR",
                           "on_hold": (i >= 1500) & (i < 2000)})
    return Extract.empty().replace(companies=pd.DataFrame({"company": ["Big GmbH"], "currency": ["EUR"]}),
                                   customers=customers, open_orders=orders)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_plan_of_thousands_of_changes_is_a_few_set_based_statements(pg_url: str, version: int) -> None:
    from sqlalchemy import event

    n = 3200
    load_extract(pg_url, _many_customers(n), version)
    con = OdooConnector(pg_url, {"version": version})
    state, _ = con.read_state(["Big GmbH"])
    term_30 = state.set_index("customer_id").loc["C00000", "payment_terms"]
    rows = []

    def row(k: int, change: str, order: str = "", after: str = "", reason: str = "") -> None:
        rows.append({"company": "Big GmbH", "customer_id": f"C{k:05d}", "change": change, "order_id": order,
                     "before": "", "after": after, "rule_ids": "r", "reason": reason})

    for k in range(0, 1000):
        row(k, "block", reason=f"overdue {k}")
    for k in range(1000, 1500):
        row(k, "unblock")
    for k in range(1500, 2500):  # odd customers have no limit yet (Odoo 17: the ir_property row is inserted)
        row(k, "set_limit", after=f"{k}.50")
    for k in range(2500, 3000):
        row(k, "set_prepayment")
    for k in range(3000, n):  # back to the 30-day term, or to no partner value at all
        row(k, "unset_prepayment", after=term_30 if k % 2 else "")
    for k in range(0, 1500):
        row(k, "hold_order", order=f"SOC{k:05d}", reason=f"held {k}")
    for k in range(1500, 2000):
        row(k, "release_order", order=f"SOC{k:05d}")
    plan = pd.DataFrame(rows)[PLAN_COLUMNS]

    statements: list[str] = []
    event.listen(con.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    start = time.monotonic()
    assert con.apply("Big GmbH", plan) == len(plan) == 5200
    elapsed = time.monotonic() - start
    print(f"apply: {len(plan)} changes, {len(statements)} statements, {elapsed:.2f} s")
    assert len(statements) <= 20, statements  # one per change kind (two or three on Odoo 17), not per row
    assert elapsed < 5, f"{len(plan)} changes took {elapsed:.1f} s"

    customers, orders = con.read_state(["Big GmbH"])
    c, o = customers.set_index("customer_id"), orders.set_index("order_id")
    k = pd.Series(range(n), index=[f"C{x:05d}" for x in range(n)])
    assert c["is_blocked"].equals((k >= 0) & (k < 1000)), "every block and unblock landed"
    limits = c.loc[k.index[1500:2500], "credit_limit"]
    assert (limits == [x + 0.5 for x in range(1500, 2500)]).all()
    assert c.loc[k.index[2500:3000], "on_prepayment"].all()
    assert not c.loc[k.index[3000:], "on_prepayment"].any()
    restored = c.loc[k.index[3000:], "payment_terms"]
    assert (restored[k.iloc[3000:] % 2 == 1] == term_30).all() and (restored[k.iloc[3000:] % 2 == 0] == "").all()
    held = o["on_hold"].rename(lambda x: x[2:])
    assert held.equals((k >= 0) & (k < 1500)), "every hold and release landed"
    t = tables(version)
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        msg = dict(conn.execute(select(t.res_partner.c.ref, t.res_partner.c.sale_warn_msg)
                                .where(t.res_partner.c.sale_warn == "block")).all())
        why = dict(conn.execute(select(t.sale_order.c.name, t.sale_order.c.x_credit_hold_reason)
                                .where(t.sale_order.c.x_credit_hold)).all())
    engine.dispose()
    assert msg == {f"C{x:05d}": f"creditctl: overdue {x}" for x in range(1000)}  # attributable
    assert why == {f"SOC{x:05d}": f"creditctl: held {x}" for x in range(1500)}
    con.close()


def test_a_failing_copy_read_is_one_line_naming_the_setting(pg_url: str) -> None:
    """Reads stream through COPY on the raw psycopg connection; its errors still read like any other."""
    con = OdooConnector(pg_url)  # an empty database: no Odoo tables
    with pytest.raises(ConnectorError) as info:
        con.read_open_items(["X"])
    message = str(info.value)
    assert message.startswith("cannot read open items (erp.url_env): ") and "account_move_line" in message
    assert "\n" not in message
    con.close()
