"""The ERPNext connector's writes through ERPNext's REST API, against the API stand-in.

The stand-in (tests/erpnext_standin.py) answers as the recordings of a real ERPNext 15.102 site
(tests/fixtures/erpnext_api) and stores into the generated v15 tables on the machine's MariaDB,
so every test reads the effect back by SQL, as the nightly run does. Each trap the recordings
list is a test here: the client must never fall into it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, select, update

from connectors.erpnext import ErpNextConnector
from connectors.erpnext import schema as t
from etl.plan import PLAN_COLUMNS, unapplied
from etl.ports import ChangesRefused, ConnectorError
from tests.erpnext_standin import SALES_USER, ApiUser, ErpNextStandIn
from tests.test_erpnext import DE, QUOTED, _limit, build_erp

KEY, SECRET = "KEY", "SECRET"
API_USER = SALES_USER.email


@pytest.fixture
def site(mariadb_database: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The hand-built ERPNext of tests/test_erpnext.py on MariaDB, plus a second company's limit
    row for C1 (bypass set) that a limit cut must leave alone."""
    url = f"mysql+pymysql://root@127.0.0.1:3306/{mariadb_database}?charset=utf8mb4"
    build_erp(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(t.customer_credit_limit.insert(), [_limit("l1q", "C1", QUOTED, 777, bypass=1, idx=2)])
    engine.dispose()
    monkeypatch.setenv("ERPNEXT_API_KEY", KEY)
    monkeypatch.setenv("ERPNEXT_API_SECRET", SECRET)
    return url


@contextmanager
def serving(url: str, **kwargs) -> Iterator[ErpNextStandIn]:
    engine = create_engine(url)
    standin = ErpNextStandIn(engine, **kwargs).start()
    try:
        yield standin
    finally:
        standin.stop()
        engine.dispose()


def connector(url: str, standin: ErpNextStandIn, **options) -> ErpNextConnector:
    return ErpNextConnector(url, {"api_url": standin.url, **options})


def plan(*rows: tuple) -> pd.DataFrame:
    """Plan rows (customer, change, order, before, after) of DE, with rule ids and a reason."""
    return pd.DataFrame([{"company": DE, "customer_id": c, "change": ch, "order_id": o, "before": b, "after": a,
                          "rule_ids": "r-1", "reason": f"why {ch}"} for c, ch, o, b, a in rows],
                        columns=PLAN_COLUMNS)


EVERY_KIND = plan(
    ("C1", "block", "", "false", "true"),
    ("C1", "set_limit", "", "10000.00", "4000.00"),            # its own row for DE
    ("C2", "set_prepayment", "", "Split 30/60", "prepayment"),
    ("C2", "set_limit", "", "", "3000.00"),                    # on its group's limit: a row of its own
    ("C3", "unblock", "", "true", "false"),
    ("C3", "unset_prepayment", "", "prepayment", "Net 30"),
    ("C1", "hold_order", "SO-1", "false", "true"),
    ("C2", "release_order", "SO-4", "true", "false"),
)


def rows(url: str, table, *where) -> pd.DataFrame:  # noqa: ANN001 - a Table
    engine = create_engine(url)
    with engine.connect() as conn:
        frame = pd.read_sql(select(table).where(*where), conn)
    engine.dispose()
    return frame


def writes(standin: ErpNextStandIn) -> list[dict]:
    return [r for r in standin.requests if r["method"] in ("POST", "PUT")]


def test_every_change_kind_is_written_through_the_api_and_enforced(site: str) -> None:
    with serving(site) as standin:
        erp = connector(site, standin)
        assert erp.apply(DE, EVERY_KIND) == len(EVERY_KIND)
        customers, orders = erp.read_state([DE])
        assert unapplied(EVERY_KIND, customers, orders).empty

    limits = rows(site, t.customer_credit_limit, t.customer_credit_limit.c.parenttype == "Customer")
    c1 = limits[limits["parent"] == "C1"].set_index("company")
    assert c1.loc[DE, "credit_limit"] == 4000 and c1.loc[DE, "name"] == "l1"  # the row itself, changed
    assert c1.loc[QUOTED, "credit_limit"] == 777 and c1.loc[QUOTED, "bypass_credit_limit_check"] == 1
    c2 = limits[limits["parent"] == "C2"]
    assert c2[["company", "credit_limit", "bypass_credit_limit_check"]].values.tolist() == [[DE, 3000, 0]]

    customers = rows(site, t.customer).set_index("name")
    assert customers.loc["C1", "is_frozen"] == 1 and customers.loc["C3", "is_frozen"] == 0
    assert customers.loc["C2", "payment_terms"] == "Prepayment" and customers.loc["C3", "payment_terms"] == "Net 30"
    # ERPNext's own side effects: modified_by, a Version per customer save, Label comments on holds
    assert set(customers.loc[["C1", "C2", "C3"], "modified_by"]) == {API_USER}
    versions = rows(site, t.version)
    assert set(versions["owner"]) == {API_USER} and set(versions["docname"]) == {"C1", "C2", "C3"}
    changed = [json.loads(d) for d in versions[versions["docname"] == "C1"]["data"]]
    assert ["is_frozen", 0, 1] in [c for d in changed for c in d["changed"]]
    comments = rows(site, t.comment)
    labels = comments[comments["comment_type"] == "Label"]
    assert sorted(labels["reference_name"]) == ["SO-1", "SO-4"]
    # one timeline comment per change, with its reason and rule ids, by the API user
    ours = comments[comments["content"].str.startswith("creditctl:")]
    assert len(ours) == len(EVERY_KIND) and set(ours["owner"]) == {API_USER}
    assert all("(rules: r-1)" in c for c in ours["content"])


def test_the_calls_avoid_every_recorded_trap(site: str) -> None:
    with serving(site) as standin:
        connector(site, standin).apply(DE, EVERY_KIND)
        sent = writes(standin)
    paths = [r["path"] for r in sent]
    # a PUT of credit_limits replaces the whole child table: never sent
    assert not any(r["method"] == "PUT" for r in sent)
    assert not any("credit_limits" in (r["body"] or {}) or "credit_limits" in ((r["body"] or {}).get("fieldname") or {})
                   for r in sent)
    # update_status takes any string and releases the order unchecked: exactly On Hold / Draft
    statuses = [r["body"]["status"] for r in sent if r["path"].endswith(".update_status")]
    assert sorted(statuses) == ["Draft", "On Hold"]
    # "true" as a check value is stored as 0 with a 200: integers only
    frozen = [r["body"]["fieldname"]["is_frozen"] for r in sent if r["path"].endswith("set_value")
              and "is_frozen" in r["body"]["fieldname"]]
    assert frozen == [1, 0] or sorted(frozen) == [0, 1]
    assert all(type(v) is int for v in frozen)
    # comments through add_comment (a Sales User gets 403 on /api/resource/Comment)
    assert "/api/resource/Comment" not in paths
    assert paths.count("/api/method/frappe.desk.form.utils.add_comment") == len(EVERY_KIND)
    # every Customer save carries modified as read (optimistic concurrency)
    assert all("modified" in r["body"]["fieldname"] for r in sent
               if r["path"].endswith("set_value") and r["body"]["doctype"] == "Customer")


def test_a_rerun_sends_nothing(site: str) -> None:
    with serving(site) as standin:
        erp = connector(site, standin)
        erp.apply(DE, EVERY_KIND)
        before = len(standin.requests)
        assert erp.apply(DE, EVERY_KIND) == len(EVERY_KIND)  # everything already there
        assert not [r for r in standin.requests[before:] if r["method"] in ("POST", "PUT")]
    comments = rows(site, t.comment)
    assert (comments["content"].str.startswith("creditctl:")).sum() == len(EVERY_KIND)


def test_a_document_changed_while_writing_is_not_overwritten(site: str) -> None:
    """A person saves C1 between creditctl's GET and its save: 417 TimestampMismatchError."""
    engine = create_engine(site)

    def person_edits(doctype: str, name: str) -> None:
        if doctype == "Customer" and name == "C1":
            with engine.begin() as conn:
                conn.execute(update(t.customer).where(t.customer.c.name == "C1").values(
                    payment_terms="Split 30/60", modified=pd.Timestamp("2030-01-01 10:00:00.123456")))

    with serving(site, before_write=person_edits) as standin:
        with pytest.raises(ChangesRefused) as info:
            connector(site, standin).apply(DE, plan(("C1", "block", "", "false", "true"),
                                                    ("C3", "unblock", "", "true", "false")))
    engine.dispose()
    refused = info.value.refused
    assert refused["customer_id"].tolist() == ["C1"] and refused["status"].tolist() == ["conflict"]
    assert "TimestampMismatchError" in refused["message"].iloc[0] and info.value.applied == 1
    customers = rows(site, t.customer).set_index("name")
    assert customers.loc["C1", "is_frozen"] == 0 and customers.loc["C1", "payment_terms"] == "Split 30/60"
    assert customers.loc["C3", "is_frozen"] == 0


def test_a_field_changed_since_the_nightly_read_is_not_overwritten(site: str) -> None:
    engine = create_engine(site)
    with engine.begin() as conn:  # a person moved C1 to other terms after the read
        conn.execute(update(t.customer).where(t.customer.c.name == "C1").values(payment_terms="Split 30/60"))
    engine.dispose()
    with serving(site) as standin, pytest.raises(ChangesRefused) as info:
        connector(site, standin).apply(DE, plan(("C1", "set_prepayment", "", "Net 30", "prepayment")))
    assert info.value.refused["status"].tolist() == ["conflict"]
    assert rows(site, t.customer, t.customer.c.name == "C1")["payment_terms"].iloc[0] == "Split 30/60"
    assert not writes(standin)


def test_erpnext_validation_refusals_are_reported_per_document(site: str) -> None:
    engine = create_engine(site)
    with engine.begin() as conn:  # C2's own limit, far under its outstanding: ERPNext will not resume SO-4
        conn.execute(t.customer_credit_limit.insert(), [_limit("l2", "C2", DE, 100)])
    engine.dispose()
    cases = plan(("C1", "set_limit", "", "10000.00", "10.00"),        # below C1's outstanding
                 ("C2", "release_order", "SO-4", "true", "false"),    # over C2's limit
                 ("NOPE", "block", "", "false", "true"),              # gone since the read
                 ("C3", "unblock", "", "true", "false"))
    with serving(site) as standin, pytest.raises(ChangesRefused) as info:
        connector(site, standin).apply(DE, cases)
    refused = info.value.refused.set_index("customer_id")
    assert set(refused.index) == {"C1", "C2", "NOPE"} and set(refused["status"]) == {"refused"}
    assert "less than current outstanding" in refused.loc["C1", "message"]
    assert "Credit limit has been crossed" in refused.loc["C2", "message"]
    assert "not found in ERPNext (404)" in refused.loc["NOPE", "message"]
    assert all("\n" not in m for m in refused["message"])
    assert info.value.applied == 1  # C3's unblock went through
    limits = rows(site, t.customer_credit_limit, t.customer_credit_limit.c.name == "l1")
    assert limits["credit_limit"].iloc[0] == 10000
    assert rows(site, t.sales_order, t.sales_order.c.name == "SO-4")["status"].iloc[0] == "On Hold"


@pytest.mark.parametrize(("users", "match"), [
    ({"KEY:OTHER": SALES_USER}, r"refused the API key .*ERPNEXT_API_KEY and ERPNEXT_API_SECRET"),
    ({f"{KEY}:{SECRET}": ApiUser("probe@example.com", ["Sales Manager", "Accounts Manager"])},
     r"may not .*Customer 'C1' \(403 .*give it the role Sales User"),
])
def test_credentials_and_roles_fail_in_one_line_before_anything_is_written(site: str, users, match) -> None:
    with serving(site, users=users) as standin, pytest.raises(ConnectorError, match=match) as info:
        connector(site, standin).apply(DE, plan(("C1", "block", "", "false", "true")))
    assert "\n" not in str(info.value) and not isinstance(info.value, ChangesRefused)
    assert rows(site, t.customer, t.customer.c.name == "C1")["is_frozen"].iloc[0] == 0
    assert rows(site, t.version).empty


def test_settings_errors_name_the_option(site: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConnectorError, match=r"erp.options.api_url is not set.*write_via: sql"):
        ErpNextConnector(site).apply(DE, plan(("C1", "block", "", "false", "true")))
    monkeypatch.delenv("ERPNEXT_API_SECRET")
    with pytest.raises(ConnectorError, match=r"ERPNEXT_API_SECRET .*not set"):
        ErpNextConnector(site, {"api_url": "http://127.0.0.1:1"}).apply(DE, plan(("C1", "block", "", "false", "true")))
    with pytest.raises(ConnectorError, match="write_via"):
        ErpNextConnector(site, {"write_via": "rest"})
    with pytest.raises(ConnectorError, match="api_timeout"):
        ErpNextConnector(site, {"api_timeout": "soon"})


def test_a_server_that_dies_mid_apply_is_completed_by_the_next_apply(site: str) -> None:
    with serving(site, die_after_writes=3) as standin, pytest.raises(ConnectorError) as info:
        connector(site, standin, api_attempts=2, api_timeout=2, api_concurrency=1).apply(DE, EVERY_KIND)
    assert info.value.transient and "next run completes the rest" in str(info.value)
    erp = ErpNextConnector(site)
    customers, orders = erp.read_state([DE])
    assert 0 < len(unapplied(EVERY_KIND, customers, orders)) < len(EVERY_KIND)
    with serving(site) as standin:  # the server is back
        assert connector(site, standin).apply(DE, EVERY_KIND) == len(EVERY_KIND)
    customers, orders = erp.read_state([DE])
    assert unapplied(EVERY_KIND, customers, orders).empty
    # each change's comment exactly once, the interrupted one included
    ours = rows(site, t.comment)["content"]
    assert ours.str.startswith("creditctl:").sum() == len(EVERY_KIND)


def test_a_slow_server_times_out_and_gateway_errors_are_retried(site: str) -> None:
    with serving(site, latency_s=1.0) as standin, pytest.raises(ConnectorError, match=r"no answer within 0.3 s") as info:
        connector(site, standin, api_timeout=0.3, api_attempts=2).apply(DE, plan(("C1", "block", "", "false", "true")))
    assert info.value.transient and "\n" not in str(info.value)
    with serving(site, fail_5xx=2) as standin:
        assert connector(site, standin, api_attempts=3).apply(DE, plan(("C1", "block", "", "false", "true"))) == 1
    assert rows(site, t.customer, t.customer.c.name == "C1")["is_frozen"].iloc[0] == 1


def test_a_missing_prepayment_template_stops_the_company_before_any_call(site: str) -> None:
    with serving(site) as standin, pytest.raises(ConnectorError, match=r"'Vorkasse' not found in ERPNext"):
        connector(site, standin, prepayment_terms="Vorkasse").apply(
            DE, plan(("C1", "set_prepayment", "", "Net 30", "prepayment")))
    assert not standin.requests



def test_the_site_records_what_creditctl_changed(site: str) -> None:
    """A lost state store: the API writes' comments tell which changes were creditctl's (SPEC §6.2)."""
    with serving(site) as standin:
        connector(site, standin).apply(DE, EVERY_KIND)
    provenance = ErpNextConnector(site, {"tool_user": API_USER}).read_provenance([DE])
    assert provenance.marked is False
    cols = ["company", "customer_id", "change", "order_id", "before", "after", "rule_ids"]
    got = provenance.changes[cols].sort_values(cols).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, EVERY_KIND[cols].sort_values(cols).reset_index(drop=True))
    # read as another user, the comments on orders are creditctl's but unexplained: apply is refused
    other = ErpNextConnector(site).read_provenance([DE])
    assert other.changes.empty and other.marked is True


def test_a_nightly_run_cut_short_by_a_dead_server_is_completed_by_the_next(
        mariadb_database: str, tmp_path, capsys, monkeypatch) -> None:
    """SPEC §6.3 through the whole job: the journal, the read-back of what landed, the next night."""
    from connectors.erpnext.fixture import load_extract
    from connectors.synthetic import synthetic_extract
    from etl.config import data_dir, load_config
    from etl.store import StateStore
    from tests.cli_helpers import run_cli
    from tests.roundtrip_helpers import AS_OF, URL_ENV, nightly, write_config

    url = f"mysql+pymysql://root@127.0.0.1:3306/{mariadb_database}?charset=utf8mb4"
    business = synthetic_extract(150, as_of=AS_OF)
    load_extract(url, business)
    companies = business.companies["company"].tolist()
    monkeypatch.setenv(URL_ENV, url)
    monkeypatch.setenv("ERPNEXT_API_KEY", KEY)
    monkeypatch.setenv("ERPNEXT_API_SECRET", SECRET)

    def config(standin: ErpNextStandIn) -> Path:
        return write_config(tmp_path / "creditctl.yaml", "erpnext", companies,
                            {"api_url": standin.url, "api_attempts": 2, "api_timeout": 2, "api_concurrency": 1})

    with serving(url, die_after_writes=7) as standin:
        cfg = config(standin)
        first = run_cli(capsys, monkeypatch, "run", "--config", str(cfg), "--mode", "apply",
                        "--as-of", AS_OF.isoformat())
    assert first.code == 1 and "next run completes the rest" in first.err
    assert first.err.strip().count("\n") == 0, first.err
    store = StateStore(load_config(cfg).state_url(data_dir()))
    try:
        assert store.journal_pending().empty  # read back at once: what landed is audited, the rest dropped
        recovered = store.audit()
        assert 0 < len(recovered) and recovered["recovered"].all()
    finally:
        store.dispose()

    with serving(url) as standin:  # the server is back: the next night completes the plan
        second = nightly(capsys, monkeypatch, config(standin))
        third = nightly(capsys, monkeypatch, config(standin))
    keys = ["company", "customer_id", "change", "order_id"]
    done = {tuple(r) for r in recovered[keys].values} | {tuple(r) for r in second.applied[keys].values}
    assert not done & {tuple(r) for r in second.refused[keys].values}
    assert len(second.applied) > 0 and not ({tuple(r) for r in recovered[keys].values}
                                            & {tuple(r) for r in second.plan[keys].values})
    # the third night finds everything in place; only what ERPNext refuses is planned again
    assert sorted(map(tuple, third.plan[keys].values)) == sorted(map(tuple, second.refused[keys].values))
    assert third.record["changes"] == 0


def test_every_change_of_a_customer_deleted_while_writing_is_reported(site: str) -> None:
    engine = create_engine(site)

    def person_deletes(doctype: str, name: str) -> None:
        if (doctype, name) == ("Customer", "C1"):
            with engine.begin() as conn:
                conn.execute(t.customer.delete().where(t.customer.c.name == "C1"))

    with serving(site, before_write=person_deletes) as standin, pytest.raises(ChangesRefused) as info:
        connector(site, standin).apply(DE, plan(("C1", "block", "", "false", "true"),
                                                ("C1", "set_limit", "", "10000.00", "4000.00")))
    engine.dispose()
    refused = info.value.refused
    assert refused["change"].tolist() == ["block", "set_limit"] and info.value.applied == 0
    assert all("not found in ERPNext (404)" in m for m in refused["message"])
