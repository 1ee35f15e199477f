"""The state store on SQLite and on the machine's PostgreSQL: migrations, runs, decisions, audit."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from etl.store import LockHeld, StateStore, upgrade


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> StateStore:
    url = f"sqlite:///{tmp_path / 'state.sqlite'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    s = StateStore(url)
    yield s
    s.dispose()


def _changes() -> pd.DataFrame:
    return pd.DataFrame([
        {"company": "C1", "customer_id": "a", "change": "block", "order_id": "", "before": "false",
         "after": "true", "rule_ids": "r1;r2", "reason": "overdue | late"},
        {"company": "C1", "customer_id": "a", "change": "hold_order", "order_id": "SO-1", "before": "false",
         "after": "true", "rule_ids": "r1", "reason": "overdue"},
    ])


def test_schema_is_migrated_in_place_and_reopening_is_a_no_op(store: StateStore) -> None:
    tables = set(sa.inspect(store.engine).get_table_names())
    assert {"runs", "decisions", "audit", "overrides", "locks", "journal", "alembic_version"} <= tables
    again = StateStore(store.url)
    with again.engine.connect() as conn:
        assert conn.execute(sa.text("select version_num from alembic_version")).scalar() == "0002"
    again.dispose()


def test_run_lifecycle_decisions_and_audit(store: StateStore) -> None:
    store.start_run("run-1", "apply", dt.date(2026, 11, 28), ["C1"])
    assert store.run("run-1")["status"] == "running"
    decisions = pd.DataFrame([{
        "company": "C1", "customer_id": "a", "action": "block", "block": True, "hold": True,
        "require_prepayment": False, "credit_limit": 1000.0, "new_credit_limit": float("nan"),
        "rule_ids": "r1", "reasons": "x", "risk_grade": None, "data_incomplete": False, "ruleset_sha256": "f" * 64,
    }])
    store.save_decisions("run-1", decisions)
    assert store.append_audit("run-1", _changes(), "f" * 64) == 2
    store.finish_run("run-1", "succeeded", customers=1, changes=2)
    run = store.run("run-1")
    assert run["status"] == "succeeded" and run["changes"] == 2 and run["finished_at"] is not None
    assert store.last_run()["run_id"] == "run-1"
    saved = store.decisions("run-1")
    assert saved.loc[0, "block"] and pd.isna(saved.loc[0, "new_credit_limit"])
    audit = store.audit(customer_id="a")
    assert audit[["change", "order_id", "rule_ids"]].values.tolist() == [
        ["block", "", "r1;r2"], ["hold_order", "SO-1", "r1"],
    ]
    assert list(audit["id"]) == sorted(audit["id"])


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'state.sqlite'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")


def test_a_0001_store_is_upgraded_in_place_with_its_data(url: str) -> None:
    engine = sa.create_engine(url)
    upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(sa.text(
            "insert into runs (run_id, started_at, status, mode, as_of, companies) "
            "values ('old-run', '2026-11-27 02:00:00+00', 'succeeded', 'apply', '2026-11-27', 'C1')"))
        conn.execute(sa.text(
            "insert into audit (run_id, applied_at, company, customer_id, change, order_id, before, after, "
            "rule_ids, reason, ruleset_sha256) values ('old-run', '2026-11-27 02:00:01+00', 'C1', 'a', 'block', "
            "'', 'false', 'true', 'r1', 'overdue', 'abc')"))
    engine.dispose()
    store = StateStore(url)
    try:
        assert store.run("old-run")["status"] == "succeeded"
        old = store.audit(run_id="old-run")
        assert old[["change", "before", "after", "rule_ids"]].values.tolist() == [["block", "false", "true", "r1"]]
        assert not old.loc[0, "recovered"]
        assert {"overrides", "locks", "journal"} <= set(sa.inspect(store.engine).get_table_names())
        # the migrated store is append-only too
        with pytest.raises(sa.exc.DBAPIError), store.engine.begin() as conn:
            conn.execute(sa.text("delete from audit"))
    finally:
        store.dispose()


def test_audit_rows_cannot_be_updated_or_deleted(store: StateStore) -> None:
    store.append_audit("run-1", _changes(), "f" * 64)
    assert not any(hasattr(store, name) for name in ("update_audit", "delete_audit"))
    for statement in ("update audit set after = 'false'", "delete from audit where change = 'block'"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.execute(sa.text(statement))
    assert len(store.audit(run_id="run-1")) == 2
    assert store.audit(run_id="run-1")["after"].tolist() == ["true", "true"]


def test_journal_commit_audits_exactly_once_and_drop_audits_nothing(store: StateStore) -> None:
    store.journal_write("run-1", "C1", _changes(), "f" * 64)
    assert len(store.journal_pending()) == 2
    assert store.journal_commit("run-1", "C1") == 2
    assert store.journal_commit("run-1", "C1") == 0  # a second commit finds nothing pending
    assert store.journal_pending().empty
    audit = store.audit(run_id="run-1")
    assert len(audit) == 2 and set(audit["ruleset_sha256"]) == {"f" * 64} and not audit["recovered"].any()

    store.journal_write("run-2", "C1", _changes(), "f" * 64)
    store.journal_drop("run-2", "C1")
    assert store.journal_pending().empty and store.audit(run_id="run-2").empty


def test_journal_reconciliation_recovers_applied_rows_and_drops_the_rest(store: StateStore) -> None:
    store.journal_write("run-1", "C1", _changes(), "f" * 64)
    pending = store.journal_pending()
    hold_id = int(pending.loc[pending["change"] == "hold_order", "id"].iloc[0])
    assert store.reconcile_journal(pending, {hold_id}) == (1, 1)
    audit = store.audit(run_id="run-1")
    assert audit["change"].tolist() == ["block"] and audit["recovered"].all()
    assert store.journal_pending().empty
    assert store.reconcile_journal(pending, {hold_id}) == (0, 0)  # already resolved: nothing twice


def test_overrides_are_audited_and_expire(store: StateStore) -> None:
    oid = store.add_override("C1", "a", "exempt", dt.date(2026, 12, 31), "disputed invoice", "alice")
    store.add_override("C1", "b", "force_block", dt.date(2026, 11, 30), "fraud suspicion", "bob")
    assert store.overrides(active_on=dt.date(2026, 11, 28))["customer_id"].tolist() == ["a", "b"]
    assert store.overrides(active_on=dt.date(2026, 12, 1))["customer_id"].tolist() == ["a"]
    store.remove_override(oid, "dispute settled", "alice")
    assert store.overrides(active_on=dt.date(2026, 11, 28))["customer_id"].tolist() == ["b"]
    with pytest.raises(ValueError, match="already removed"):
        store.remove_override(oid, "again", "alice")
    with pytest.raises(ValueError, match="reason"):
        store.add_override("C1", "c", "exempt", dt.date(2026, 12, 31), " ", "alice")
    audit = store.audit()
    assert audit["change"].tolist() == ["override_add", "override_add", "override_remove"]
    assert audit["customer_id"].tolist() == ["a", "b", "a"]
    assert audit.loc[2, "reason"] == "dispute settled" and "exempt until 2026-12-31" in audit.loc[0, "after"]


def test_lock_is_exclusive_released_and_stale_locks_are_taken_over(store: StateStore) -> None:
    store.start_run("run-1", "apply", dt.date(2026, 11, 28), ["C1"])
    store.acquire_lock(["demo:C1", "demo:C2"], "run-1")
    store.start_run("run-2", "apply", dt.date(2026, 11, 28), ["C1"])
    with pytest.raises(LockHeld, match=r"another creditctl run \(run-1, started .*\) holds the writeback lock "
                                       r"for demo:C1: wait for it.*creditctl unlock"):
        store.acquire_lock(["demo:C1"], "run-2")
    store.acquire_lock(["demo:C3"], "run-2")  # other companies are free
    assert store.release_lock("run-1") == 2
    store.acquire_lock(["demo:C1"], "run-2")
    # a holder whose process is gone (a killed run) is stale: taken over, its run marked failed
    with store.engine.begin() as conn:
        conn.execute(sa.text("update locks set holder = :h where run_id = 'run-2'"),
                     {"h": f"{__import__('socket').gethostname()}:999999999"})
    store.acquire_lock(["demo:C1"], "run-3")
    assert store.run("run-2")["status"] == "failed"
    assert [lock["run_id"] for lock in store.locks(["demo:C1"])] == ["run-3"]
    assert [lock["name"] for lock in store.break_lock(["demo:C1"])] == ["demo:C1"]
    assert store.locks() == [lock for lock in store.locks() if lock["name"] == "demo:C3"]


def test_cli_store_upgrade_reports_the_revisions(url: str, capsys, monkeypatch) -> None:
    from tests.cli_helpers import run_cli

    engine = sa.create_engine(url)
    upgrade(engine, "0001")
    engine.dispose()
    monkeypatch.setenv("CREDITCTL_STATE_URL", url)
    first = run_cli(capsys, monkeypatch, "store", "upgrade")
    assert first.code == 0 and "upgraded from revision 0001 to 0002" in first.out
    engine = sa.create_engine(url)
    assert {"overrides", "locks", "journal"} <= set(sa.inspect(engine).get_table_names())
    engine.dispose()
    again = run_cli(capsys, monkeypatch, "store", "upgrade")
    assert again.code == 0 and "already at revision 0002" in again.out


def test_cli_store_upgrade_names_the_store_it_upgraded_with_its_password_hidden(
        pg_url: str, capsys, monkeypatch) -> None:
    from sqlalchemy.engine import make_url

    from tests.cli_helpers import run_cli

    url = make_url(pg_url).set(password="s3cret-pw")
    monkeypatch.setenv("CREDITCTL_STATE_URL", url.render_as_string(hide_password=False))
    shown = url.render_as_string(hide_password=True)
    assert "***" in shown
    first = run_cli(capsys, monkeypatch, "store", "upgrade")
    assert first.code == 0, first.err
    assert first.out.strip() == f"state store {shown} upgraded from revision (empty) to 0002"
    again = run_cli(capsys, monkeypatch, "store", "upgrade")
    assert again.code == 0, again.err
    assert again.out.strip() == f"state store {shown} already at revision 0002"
    assert "s3cret-pw" not in first.out + first.err + again.out + again.err


def test_ensure_run_records_a_run_once(store: StateStore) -> None:
    store.ensure_run("r-1", "apply", dt.date(2026, 11, 28), ["C1"])
    store.finish_run("r-1", "failed", message="boom")
    store.ensure_run("r-1", "dry-run", dt.date(2026, 11, 29), ["C2"])  # a second recorder changes nothing
    run = store.run("r-1")
    assert (run["status"], run["mode"], run["companies"], run["message"]) == ("failed", "apply", "C1", "boom")
