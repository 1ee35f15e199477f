"""Per-ERP nightly round trips on the machine's real servers (issue 7; SPEC §6, §7, §9).

For every ERP: the synthetic business (a few hundred customers, fixed as-of) is loaded into the
ERP's own tables and exported to files; `creditctl run --mode apply` runs the nightly job; then

1. the ERP's rows, read with plain SQL, are the rows before with exactly the plan (plan.csv)
   applied — every planned change is there and nothing else changed — and the connector's
   read_state shows the plan;
2. a second run plans 0 changes and leaves every table byte-for-byte as it was;
3. the first run's positions.csv equals the positions computed from the files export.

The business is what each ERP can hold: Odoo Community has no dunning levels (0 in the data
and in the files), a SAP Business One database is one company (Demo GmbH). ERPNext is read by
SQL (the first run through pymysql, the second through pyodbc, MariaDB's ODBC driver) and written
through its REST API, served by the API stand-in on the same database (tests/erpnext_standin.py).
ERPNext's own validation refuses a limit cut below the customer's outstanding: those rows are
reported, not applied, and the second run plans exactly them again.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Table, create_engine, func, select

from connectors import make_connector
from connectors.synthetic import synthetic_extract
from etl.config import ErpConfig, load_config
from etl.extract import Extract
from etl.pipeline import positions_for
from etl.plan import PLAN_COLUMNS
from etl.quality import validate_extract
from tests.roundtrip_helpers import (
    AS_OF,
    KEYS,
    SET_KINDS,
    URL_ENV,
    assert_audit_is_the_plan,
    assert_same_rows,
    assert_state,
    by_change,
    csv_roundtrip,
    export_files,
    nightly,
    snapshot,
    sorted_positions,
    write_config,
)
from validation.numbers import plain_text

CUSTOMERS = 300
MARIADB = "mysql+pymysql://root@127.0.0.1:3306/{db}?charset=utf8mb4"
MARIADB_ODBC = "mysql+pyodbc://root@127.0.0.1:3306/{db}?driver=MariaDB+Unicode&charset=utf8mb4"
#: sort keys of each frame
FRAME_KEYS = {"companies": ["company"], "customers": KEYS, "open_items": ["company", "item_id"],
              "open_orders": ["company", "order_id"], "open_deliveries": ["company", "delivery_id"],
              "payments": ["company", "item_id"],
              "fx_rates": ["from_currency", "to_currency", "as_of"]}


@pytest.fixture(scope="module")
def business() -> Extract:
    return synthetic_extract(CUSTOMERS, as_of=AS_OF)


# --------------------------------------------------------------------------- the ERPs


@dataclass(frozen=True)
class Erp:
    """One ERP on one server: how to fill it, what it holds and how it shows a plan."""

    id: str
    kind: str
    server: str  # postgresql | mariadb
    load: Callable[[str, Extract], None]
    tables: Callable[[], list[Table]]
    check_rows: Callable[[dict, dict, pd.DataFrame], None]  # (before, after, plan)
    options: dict = field(default_factory=dict)
    companies: tuple[str, ...] = ()  # () = every company of the extract
    second_run_driver: str | None = None  # URL template of the second run (another driver), {db}
    prepare: Callable[[Extract], Extract] = lambda extract: extract
    reads_back_unchanged: bool = True  # the connector's frames equal the prepared extract
    api: bool = False  # writes through ERPNext's API: the stand-in serves the database


def _index(keys: pd.DataFrame) -> pd.Index:
    return pd.MultiIndex.from_frame(keys) if keys.shape[1] > 1 else pd.Index(keys.iloc[:, 0])


def _assert_written(before: pd.DataFrame, after: pd.DataFrame, key: list[str],
                    sets: list[tuple[pd.DataFrame, str, object]], stamp: str | None = None,
                    stamped: pd.DataFrame | None = None) -> None:
    """``after`` is ``before`` with each (keys, column, value) of ``sets`` applied, nothing else;
    the ``stamp`` column (ERPNext's modified) changed on exactly the ``stamped`` rows."""
    b, a = before.set_index(key).sort_index(), after.set_index(key).sort_index()
    expected = b.copy()
    for keys, column, value in sets:
        rows = _index(keys)
        assert rows.isin(b.index).all(), f"plan rows not in the ERP: {column}"
        expected.loc[rows, column] = value.to_numpy() if isinstance(value, pd.Series) else value
    if stamp is not None:
        changed = a[stamp].ne(b[stamp]).to_numpy()
        assert (changed == b.index.isin(_index(stamped))).all(), f"{stamp} changed on other rows than the plan's"
        a, expected = a.drop(columns=stamp), expected.drop(columns=stamp)
    pd.testing.assert_frame_equal(a, expected, check_dtype=False)


# --- ERPNext ---------------------------------------------------------------------------------


def _erpnext_load(url: str, extract: Extract) -> None:
    from connectors.erpnext.fixture import load_extract

    load_extract(url, extract)


def _company_currency(extract: Extract) -> Extract:
    """ERPNext states receivables in the company currency (its Accounts Receivable report)."""
    from connectors.erpnext.fixture import company_currency_extract

    return company_currency_extract(extract)


def _erpnext_tables() -> list[Table]:
    from connectors.erpnext import schema

    return list(schema.metadata.sorted_tables)


def _erpnext_api_rows(before: dict, after: dict, plan: pd.DataFrame) -> None:
    """What ERPNext's own saves leave (the API stand-in does as the recorded site did): the plan's
    values, ``modified`` / ``modified_by`` of every saved document and of a saved customer's limit
    rows, a Version per Customer save, a Label comment per status change, a comment per change."""
    from tests.erpnext_standin import SALES_USER

    api_user = SALES_USER.email
    saved = plan[~plan["change"].isin(["hold_order", "release_order"])][["customer_id"]].drop_duplicates()
    _assert_written(before["tabCustomer"], after["tabCustomer"], ["name"], [
        (by_change(plan, "block")[["customer_id"]], "is_frozen", 1),
        (by_change(plan, "set_prepayment")[["customer_id"]], "payment_terms", "Prepayment"),
        (saved, "modified_by", api_user),
    ], stamp="modified", stamped=saved)
    limits = by_change(plan, "set_limit")[["customer_id", "company", "after"]]
    rows_before = before["tabCustomer Credit Limit"]
    stamped = rows_before[(rows_before["parenttype"] == "Customer") & rows_before["parent"].isin(saved["customer_id"])]
    _assert_written(rows_before, after["tabCustomer Credit Limit"], ["parent", "company"], [
        (limits[["customer_id", "company"]], "credit_limit", limits["after"].astype(float)),
        (stamped[["parent", "company"]], "modified_by", api_user),
    ], stamp="modified", stamped=stamped[["parent", "company"]])
    holds = by_change(plan, "hold_order")
    _assert_written(before["tabSales Order"], after["tabSales Order"], ["name"], [
        (holds[["order_id"]], "status", "On Hold"), (holds[["order_id"]], "modified_by", api_user),
    ], stamp="modified", stamped=holds[["order_id"]])
    comments = after["tabComment"]
    old = comments[comments["name"].isin(before["tabComment"]["name"])]
    pd.testing.assert_frame_equal(old.reset_index(drop=True), before["tabComment"], check_dtype=False)
    new = comments[~comments["name"].isin(before["tabComment"]["name"])]
    # ERPNext's own Label comment per status change, and creditctl's comment per change, with its reason
    labels, ours = new[new["comment_type"] == "Label"], new[new["comment_type"] == "Comment"]
    assert len(labels) + len(ours) == len(new) and set(labels["content"]) <= {"On Hold"}
    assert sorted(labels["reference_name"]) == sorted(holds["order_id"])
    subject = plan["order_id"].where(plan["order_id"].fillna("").ne(""), plan["customer_id"])
    assert sorted(ours["reference_name"]) == sorted(subject) and set(ours["owner"]) == {api_user}
    reasons = ours.assign(subject=ours["reference_name"]).merge(
        plan.assign(subject=subject)[["subject", "change", "reason"]], on="subject")
    assert all(html.escape(r) in c for r, c in zip(reasons["reason"], reasons["content"], strict=True))
    # one Version per Customer save, by the API user (ERPNext writes none for a status change)
    versions = after["tabVersion"]
    customer_changes = plan[~plan["change"].isin(["hold_order", "release_order"])]
    assert before["tabVersion"].empty and len(versions) == len(customer_changes)
    assert set(versions["owner"]) == {api_user} and set(versions["ref_doctype"]) == {"Customer"}
    written = {"tabCustomer": [], "tabCustomer Credit Limit": [], "tabSales Order": [], "tabComment": [],
               "tabVersion": []}
    assert_same_rows(before, after, written)


# --- Odoo ------------------------------------------------------------------------------------


def _odoo_load(version: int) -> Callable[[str, Extract], None]:
    def load(url: str, extract: Extract) -> None:
        from connectors.odoo.fixture import load_extract

        load_extract(url, extract, version)

    return load


def _odoo_tables(version: int) -> Callable[[], list[Table]]:
    def tables() -> list[Table]:
        from connectors.odoo.tables import tables as odoo_tables

        return list(odoo_tables(version).metadata.sorted_tables)

    return tables


def _no_dunning(extract: Extract) -> Extract:
    """Odoo Community has no follow-up levels: the business without dunning levels."""
    return extract.replace(open_items=extract.open_items.assign(dunning_level=0))


def _odoo_rows(version: int) -> Callable[[dict, dict, pd.DataFrame], None]:
    def check(before: dict, after: dict, plan: pd.DataFrame) -> None:
        company_id = dict(zip(before["res_company"]["name"], before["res_company"]["id"], strict=True))
        partners = before["res_partner"]
        pid = dict(zip(zip(partners["company_id"], partners["ref"], strict=True), partners["id"], strict=True))
        terms = before["account_payment_term"]
        prepay = int(terms.loc[terms["name"].map(lambda n: n.get("en_US")) == "Prepayment", "id"].iloc[0])
        plan = plan.assign(cid=plan["company"].map(company_id))
        plan = plan.assign(pid=[pid[(c, r)] for c, r in zip(plan["cid"], plan["customer_id"], strict=True)])
        blocks, limits = by_change(plan, "block"), by_change(plan, "set_limit")
        prepays, holds = by_change(plan, "set_prepayment"), by_change(plan, "hold_order")

        sets = [(blocks[["pid"]], "sale_warn", "block"), (blocks[["pid"]], "sale_warn_msg", "creditctl: " + blocks["reason"])]
        if version == 18:  # company-dependent fields: jsonb keyed by company id
            cur = partners.set_index("id")
            sets += [(limits[["pid"]], "credit_limit", pd.Series(
                [{**(cur.at[p, "credit_limit"] or {}), str(c): float(v)}
                 for p, c, v in zip(limits["pid"], limits["cid"], limits["after"], strict=True)], dtype=object)),
                     (prepays[["pid"]], "property_payment_term_id", pd.Series(
                         [{**(cur.at[p, "property_payment_term_id"] or {}), str(c): prepay}
                          for p, c in zip(prepays["pid"], prepays["cid"], strict=True)], dtype=object))]
        _assert_written(partners, after["res_partner"], ["id"], sets)
        orders = before["sale_order"]
        oid = dict(zip(zip(orders["company_id"], orders["name"], strict=True), orders["id"], strict=True))
        holds = holds.assign(oid=[oid[(c, o)] for c, o in zip(holds["cid"], holds["order_id"], strict=True)])
        _assert_written(orders, after["sale_order"], ["id"], [
            (holds[["oid"]], "x_credit_hold", True), (holds[["oid"]], "x_credit_hold_reason", "creditctl: " + holds["reason"])])
        written = {"res_partner": [], "sale_order": []}
        if version == 17:
            _assert_properties(before["ir_property"], after["ir_property"], limits, prepays, prepay)
            written["ir_property"] = []
        assert_same_rows(before, after, written)

    return check


def _assert_properties(before: pd.DataFrame, after: pd.DataFrame, limits: pd.DataFrame, prepays: pd.DataFrame,
                       prepay: int) -> None:
    """Odoo 17: the (field, partner, company) ir_property values are the old ones with the plan's on top."""
    key = ["name", "res_id", "company_id"]
    values = ["value_float", "value_reference"]
    written = pd.concat([
        pd.DataFrame({"name": "credit_limit", "res_id": "res.partner," + limits["pid"].astype(str),
                      "company_id": limits["cid"], "value_float": limits["after"].astype(float)}),
        pd.DataFrame({"name": "property_payment_term_id", "res_id": "res.partner," + prepays["pid"].astype(str),
                      "company_id": prepays["cid"], "value_reference": f"account.payment.term,{prepay}"}),
    ], ignore_index=True).set_index(key)
    # a written row keeps its other value; a new row has none
    expected = written.combine_first(before.set_index(key)[values])[values].sort_index()
    got = after.set_index(key)[values].sort_index()
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


# --- SAP Business One and canonical: the plan goes to an outbound table ----------------------


def _sap_load(company: str) -> Callable[[str, Extract], None]:
    def load(url: str, extract: Extract) -> None:
        from connectors.sap_b1 import create_schema, load_extract

        create_schema(url)
        load_extract(url, extract, company)

    return load


def _sap_tables() -> list[Table]:
    from connectors.sap_b1 import schema

    return [*schema.metadata.sorted_tables, schema.credit_decisions_out]


def _null(values: pd.Series) -> pd.Series:
    return values.where(values.str.strip() != "", None)


def _sap_rows(before: dict, after: dict, plan: pd.DataFrame) -> None:
    octg = before["OCTG"]
    prepay = str(octg.loc[octg["PymntGroup"] == "Prepayment", "GroupNum"].min())
    expected = pd.DataFrame({
        "company": plan["company"], "customer_id": plan["customer_id"], "change": plan["change"],
        "order_id": _null(plan["order_id"]), "before": _null(plan["before"]),
        "after": _null(plan["after"].where(plan["change"] != "set_prepayment", prepay)),
        "rule_ids": _null(plan["rule_ids"]), "reason": _null(plan["reason"])})
    _assert_outbound(before["credit_decisions_out"], after["credit_decisions_out"], expected, "processed_at")
    assert_same_rows(before, after, {"credit_decisions_out": []})


def _canonical_load(url: str, extract: Extract) -> None:
    from connectors.canonical_schema import load_extract

    load_extract(url, extract)


def _canonical_tables() -> list[Table]:
    from connectors.canonical_schema import canonical_tables

    return list(canonical_tables().metadata.sorted_tables)


def _canonical_rows(before: dict, after: dict, plan: pd.DataFrame) -> None:
    from connectors.canonical_schema import OUTBOUND_TABLE

    # the outbound table takes the plan's ERP columns (plan.csv also names the customer, for people)
    expected = plan[PLAN_COLUMNS].assign(rule_ids=_null(plan["rule_ids"]), reason=_null(plan["reason"]))
    _assert_outbound(before[OUTBOUND_TABLE], after[OUTBOUND_TABLE], expected, "imported_at")
    new = after[OUTBOUND_TABLE]
    assert new.groupby("company")["batch_id"].nunique().eq(1).all()  # one batch per company's apply
    assert_same_rows(before, after, {OUTBOUND_TABLE: []})


def _assert_outbound(before: pd.DataFrame, after: pd.DataFrame, expected: pd.DataFrame, imported: str) -> None:
    """The outbound table holds exactly one row per plan row, not imported yet."""
    assert before.empty
    cols = list(expected.columns)
    order = ["company", "customer_id", "change", "order_id"]
    got = after[cols].astype(object).where(after[cols].notna(), None)
    got = got.sort_values(order, na_position="first").reset_index(drop=True)
    want = expected[cols].astype(object).where(expected[cols].notna(), None)
    want = want.sort_values(order, na_position="first").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want)
    assert after[imported].isna().all() and after["created_at"].notna().all()


ERPS = [
    # the first run writes through pymysql, the second reads the result through pyodbc
    Erp("erpnext-mariadb", "erpnext", "mariadb", _erpnext_load, _erpnext_tables, _erpnext_api_rows,
        second_run_driver=MARIADB_ODBC, api=True, prepare=_company_currency),
    Erp("odoo17", "odoo", "postgresql", _odoo_load(17), _odoo_tables(17), _odoo_rows(17), options={"version": 17},
        prepare=_no_dunning),
    Erp("odoo18", "odoo", "postgresql", _odoo_load(18), _odoo_tables(18), _odoo_rows(18), options={"version": 18},
        prepare=_no_dunning),
    Erp("sap_b1-postgresql", "sap_b1", "postgresql", _sap_load("Demo GmbH"), _sap_tables, _sap_rows,
        companies=("Demo GmbH",), reads_back_unchanged=False),  # B1 numbers its documents itself
    Erp("canonical-postgresql", "canonical", "postgresql", _canonical_load, _canonical_tables, _canonical_rows),
    Erp("canonical-mariadb", "canonical", "mariadb", _canonical_load, _canonical_tables, _canonical_rows),
]


# --------------------------------------------------------------------------- the round trip


def _database(request: pytest.FixtureRequest, erp: Erp) -> tuple[str, str]:
    """(URL of a fresh database, URL of the second run: the same or through another driver)."""
    if erp.server == "postgresql":
        url = request.getfixturevalue("pg_url")
        return url, url
    db = request.getfixturevalue("mariadb_database")
    return MARIADB.format(db=db), (erp.second_run_driver or MARIADB).format(db=db)


def _frames(connector, companies: list[str]) -> Extract:  # noqa: ANN001 - an ErpConnector
    return Extract(**{e: getattr(connector, f"read_{e}")(companies) for e in Extract.entities()})


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Compact text columns (categoricals, Arrow strings: tests/test_compact_frames.py) as the
    object cells they hold, a null None."""
    return frame.assign(**{c: plain_text(frame[c]) for c in frame.columns
                           if isinstance(frame[c].dtype, pd.CategoricalDtype | pd.StringDtype)})


def _assert_frames_equal(got: Extract, expected: Extract) -> None:
    for entity, frame in expected.frames().items():
        keys = FRAME_KEYS[entity]
        pd.testing.assert_frame_equal(
            _plain(getattr(got, entity)).sort_values(keys).reset_index(drop=True),
            frame.sort_values(keys).reset_index(drop=True), check_exact=False, atol=1e-6, rtol=0, obj=entity)


def _positions_from_files(folder: Path, companies: list[str]) -> pd.DataFrame:
    files = make_connector(ErpConfig(kind="files", companies=companies, options={"path": str(folder)}))
    validated = validate_extract(_frames(files, companies))
    positions, quarantine = positions_for(validated, AS_OF)
    assert quarantine.empty, quarantine.head()
    return sorted_positions(csv_roundtrip(positions))


@pytest.mark.parametrize("erp", ERPS, ids=[e.id for e in ERPS])
def test_nightly_run_round_trip(erp: Erp, business: Extract, request: pytest.FixtureRequest, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    url, second_url = _database(request, erp)
    data = erp.prepare(business)
    companies = list(erp.companies) or data.companies["company"].tolist()
    erp.load(url, data)
    files = export_files(data, tmp_path / "files")  # the same business, exported before any run
    options = dict(erp.options)
    if erp.api:  # reads by SQL, writes through the API stand-in on the same database
        from tests.erpnext_standin import ErpNextStandIn

        engine = create_engine(url)
        standin = ErpNextStandIn(engine).start()
        request.addfinalizer(engine.dispose)
        request.addfinalizer(standin.stop)
        options["api_url"] = standin.url
        monkeypatch.setenv("ERPNEXT_API_KEY", "KEY")
        monkeypatch.setenv("ERPNEXT_API_SECRET", "SECRET")
    config = write_config(tmp_path / "creditctl.yaml", erp.kind, companies, options)
    monkeypatch.setenv(URL_ENV, url)
    connector = make_connector(load_config(config).erp)
    if erp.reads_back_unchanged:
        _assert_frames_equal(_frames(connector, companies), data)
    tables = erp.tables()
    before = snapshot(url, tables)
    state_before = connector.read_state(companies)

    first = nightly(capsys, monkeypatch, config)
    plan = first.plan
    assert SET_KINDS <= set(plan["change"]), plan["change"].value_counts()
    assert set(plan["company"]) == set(companies)
    if erp.api:  # ERPNext's own validation refuses a limit below the customer's outstanding, nothing else
        assert set(first.refused["change"]) == {"set_limit"} and set(first.refused["status"]) == {"refused"}
        assert SET_KINDS <= set(first.applied["change"])  # the business has both kinds of cuts
        assert "less than current outstanding" in first.record["message"]
    else:
        assert first.refused.empty
    # (1) the ERP's rows hold exactly the plan, seen with plain SQL and through the connector
    after = snapshot(url, tables)
    erp.check_rows(before, after, first.applied)
    assert_state(connector, companies, state_before, first.applied)
    assert_audit_is_the_plan(first)

    # (2) a second run finds the ERP in the decided state: nothing written; planned again is only
    # what the ERP refused the first time (nothing for a database ERP)
    monkeypatch.setenv(URL_ENV, second_url)
    second = nightly(capsys, monkeypatch, config)
    keys = ["company", "customer_id", "change", "order_id"]
    assert sorted(map(tuple, second.plan[keys].values)) == sorted(map(tuple, first.refused[keys].values))
    assert second.audit.empty and second.record["changes"] == 0
    assert_same_rows(after, snapshot(url, tables))

    # (3) the positions from the ERP are those from the files export of the same business
    assert pd.read_csv(first.folder / "quarantine.csv").empty
    got = sorted_positions(pd.read_csv(first.folder / "positions.csv"))
    pd.testing.assert_frame_equal(got, _positions_from_files(files, companies), check_exact=False,
                                  atol=1e-6, rtol=1e-9)
    connector.close()


# --------------------------------------------------------------------------- the ERPNext fixture


def _corner_cases(extract: Extract) -> Extract:
    """The business plus what the synthetic mix lacks: a partly used payment on account, a debit
    note, a partly allocated credit note, a lone first installment with dunnings, and a customer
    in both companies (one tabCustomer, a credit limit per company)."""
    gmbh = extract.customers[(extract.customers["company"] == "Demo GmbH") & (extract.customers["currency"] == "EUR")]
    cust = gmbh.iloc[0]
    twin = gmbh.iloc[[1]].assign(company="Demo Inc", currency="USD", credit_limit=4321.0)
    base = {"company": "Demo GmbH", "customer_id": cust["customer_id"], "currency": "EUR", "dunning_level": 0}
    day = pd.Timestamp(AS_OF) - pd.Timedelta(days=20)
    items = pd.DataFrame([
        {**base, "item_id": "RT-POA-1", "doc_type": "payment_on_account", "doc_date": day, "due_date": day,
         "amount": -500.0, "open_amount": -120.25},
        {**base, "item_id": "RT-JV-1", "doc_type": "debit_note", "doc_date": day, "due_date": day,
         "amount": 80.0, "open_amount": 80.0},
        {**base, "item_id": "RT-CN-1", "doc_type": "credit_note", "doc_date": day, "due_date": day,
         "amount": -300.0, "open_amount": -100.0},
        {**base, "item_id": "RT-INV-1/1", "doc_type": "invoice", "doc_date": day,
         "due_date": day + pd.Timedelta(days=30), "amount": 1000.0, "open_amount": 400.0, "dunning_level": 2},
    ]).astype(extract.open_items.dtypes.to_dict())
    return extract.replace(open_items=pd.concat([extract.open_items, items], ignore_index=True),
                           customers=pd.concat([extract.customers, twin], ignore_index=True))


def test_erpnext_fixture_reads_back_as_the_extract(tmp_path: Path) -> None:
    """load_extract into the ERPNext tables, read through ErpNextConnector: the same frames."""
    from connectors.erpnext import ErpNextConnector
    from connectors.erpnext.fixture import load_extract

    extract = _company_currency(_corner_cases(synthetic_extract(120, as_of=AS_OF, seed=11)))
    url = f"sqlite:///{tmp_path / 'erpnext.sqlite'}"
    load_extract(url, extract)
    connector = ErpNextConnector(url, {"chunk_size": 53})
    try:
        _assert_frames_equal(_frames(connector, extract.companies["company"].tolist()), extract)
    finally:
        connector.close()
    engine = create_engine(url)
    from connectors.erpnext import schema as t

    with engine.connect() as conn:  # installments are a payment schedule, dunnings are documents
        rows = conn.execute(select(t.payment_schedule.c.idx, t.payment_schedule.c.payment_amount)
                            .where(t.payment_schedule.c.parent == "RT-INV-1").order_by("idx")).all()
        dunnings = conn.execute(select(t.overdue_payment.c.payment_schedule)
                                .where(t.overdue_payment.c.sales_invoice == "RT-INV-1")).scalars().all()
        customers = conn.execute(select(func.count()).select_from(t.customer)).scalar()
    engine.dispose()
    assert [tuple(r) for r in rows] == [(1, 1000.0), (2, 0.0)]
    assert len(dunnings) == 2 and all(dunnings)
    assert customers == extract.customers["customer_id"].nunique() < len(extract.customers)  # customers are global

