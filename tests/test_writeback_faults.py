"""Fault injection (SPEC §6.3): an apply interrupted inside a company's transaction leaves that
company's ERP rows as before and no audit rows; a rerun completes the plan exactly once. Also a
crash between the ERP commit and the audit insert, recovered from the journal.

State store on SQLite and on the machine's PostgreSQL; the ERP is the demo ERPNext SQLite file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_helpers import run_cli
from tests.writeback_helpers import (
    AS_OF,
    DEMO_STATE_ENV,
    Demo,
    fail_after,
    make_demo,
    same_state,
    start_child,
)

FIRST = "Demo GmbH"  # companies are applied in sorted order


@pytest.fixture(params=["sqlite", "postgresql"])
def demo(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Demo:
    if request.param == "postgresql":
        monkeypatch.setenv(DEMO_STATE_ENV, request.getfixturevalue("pg_url"))
    return make_demo(150)


def _exactly_once(demo: Demo) -> None:
    """Every ERP change has exactly one audit row and the ERP shows the final plan."""
    store = demo.store()
    try:
        audit = store.audit()
        assert store.journal_pending().empty
    finally:
        store.dispose()
    erp = audit[~audit["change"].str.startswith("override")]
    assert not erp.duplicated(["company", "customer_id", "change", "order_id"]).any()
    assert (erp["ruleset_sha256"].str.len() == 64).all() and (erp["rule_ids"] != "").all()


def test_injected_exception_rolls_back_the_company_and_a_rerun_applies_once(demo: Demo) -> None:
    before = demo.state()
    with fail_after(demo.erp_path, 2) as seen:
        failed = demo.materialize()
    assert not failed.success and len(seen) == 3
    assert same_state(before, demo.state())  # the failing company rolled back, the next never started
    store = demo.store()
    try:
        assert store.audit(run_id=failed.run_id).empty
        assert store.journal_pending().empty  # the failed attempt's journal rows were dropped
        assert store.run(failed.run_id)["status"] == "failed"
        assert store.locks() == []
    finally:
        store.dispose()

    rerun = demo.materialize()
    assert rerun.success
    plan = rerun.output_for_node("writeback_plan")
    store = demo.store()
    try:
        assert len(store.audit(run_id=rerun.run_id)) == len(plan.changes) > 0
    finally:
        store.dispose()
    _exactly_once(demo)
    again = demo.materialize()
    assert again.success and len(again.output_for_node("writeback_plan").changes) == 0


@pytest.mark.parametrize("demo", ["sqlite"], indirect=True)
def test_killed_apply_leaves_the_erp_as_before_and_the_next_run_completes(
        demo: Demo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    before = demo.state()
    child = start_child(demo, "kill", statements=2)
    child.wait(timeout=120)
    assert child.returncode == -9, child.stderr.read()
    assert same_state(before, demo.state(), FIRST)
    store = demo.store()
    try:
        killed_run = store.locks()[0]["run_id"]  # the killed run still holds its lock
        assert store.audit(run_id=killed_run).empty
        assert set(store.journal_pending()["run_id"]) == {killed_run}
    finally:
        store.dispose()

    monkeypatch.chdir(Path(__file__).parents[1])
    rerun = run_cli(capsys, monkeypatch, "run", "--config", str(demo.config_path), "--mode", "apply",
                    "--as-of", AS_OF.isoformat())
    assert rerun.code == 0, rerun.err
    store = demo.store()
    try:
        assert store.run(killed_run)["status"] == "failed"  # its lock was stale: taken over
        assert store.audit(run_id=killed_run).empty  # nothing of it reached the ERP: journal dropped
        assert store.locks() == []
    finally:
        store.dispose()
    _exactly_once(demo)


@pytest.mark.parametrize("demo", ["postgresql"], indirect=True)
def test_crash_between_erp_commit_and_audit_is_recovered_from_the_journal(demo: Demo) -> None:
    dry = demo.materialize(mode="dry-run")
    changes = dry.output_for_node("writeback_plan").for_company(FIRST)
    sha = dry.output_for_node("credit_rules").sha256
    # what erp_writeback does, up to the ERP commit, then the process "dies"
    store, connector = demo.store(), demo.connector()
    try:
        store.journal_write("crashed-run", FIRST, changes, sha)
        assert connector.apply(FIRST, changes) == len(changes) > 0
    finally:
        connector.close()
        store.dispose()

    # the next run recovers the audit rows; its decisions took their limit base from the audit before
    # that, so with recovered limit cuts it writes nothing and asks for a rerun
    first = demo.materialize()
    assert not first.success
    assert any("run again" in (e.step_failure_data.user_failure_data.description or "")
               for e in first.all_events if e.is_step_failure and e.step_failure_data.user_failure_data)
    run = demo.materialize()
    assert run.success
    assert run.output_for_node("writeback_plan").for_company(FIRST).empty  # already in the ERP
    store = demo.store()
    try:
        recovered = store.audit(run_id="crashed-run")
        assert len(recovered) == len(changes) and recovered["recovered"].all()
        assert set(recovered["ruleset_sha256"]) == {sha}
        assert not store.audit(run_id=run.run_id)["recovered"].any()
    finally:
        store.dispose()
    _exactly_once(demo)
