"""One writeback at a time per ERP: the lock in the state store, the Dagster pool, the operator's
`creditctl unlock`, and the blast-radius guard through the CLI (halt = exit 1, nothing written)."""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path

import pandas as pd
import pytest

from assets.resources import lock_names
from assets.writeback import erp_writeback
from tests.cli_helpers import run_cli
from tests.conftest import ROOT
from tests.writeback_helpers import AS_OF, DEMO_STATE_ENV, make_demo, same_state, start_child

BLOCK_ALL = ("version: 1\nname: Block everyone\nguards: {max_new_blocks_percent: 5}\nrules:\n"
             "  - id: block-all\n    when: customer_age_days >= 0\n    then: block\n    reason: Test\n")


def _run(capsys, monkeypatch, config: Path, *extra: str):  # noqa: ANN001, ANN202
    monkeypatch.chdir(ROOT)
    return run_cli(capsys, monkeypatch, "run", "--config", str(config), "--mode", "apply",
                   "--as-of", AS_OF.isoformat(), *extra)


def test_the_writeback_asset_is_in_the_erp_writeback_pool() -> None:
    assert erp_writeback.op.pool == "erp_writeback"


def test_two_runs_at_once_one_applies_the_other_refuses(tmp_path: Path, capsys, monkeypatch) -> None:
    demo = make_demo(150)
    before = demo.state()
    gate = tmp_path / "gate"
    child = start_child(demo, "wait", gate=gate)
    try:
        deadline = time.time() + 90
        while not Path(f"{gate}.inside").exists():  # the child is inside its ERP transaction
            assert child.poll() is None, child.stderr.read()
            assert time.time() < deadline, "the first run never reached its writeback"
            time.sleep(0.05)
        second = _run(capsys, monkeypatch, demo.config_path)
        assert second.code == 1
        assert "another creditctl run (" in second.err
        assert "holds the writeback lock for demo:Demo GmbH: wait for it" in second.err
        assert len(second.err.strip().splitlines()) == 1
        assert same_state(before, demo.state())  # the refused run wrote nothing
    finally:
        gate.write_text("go")
        child.wait(timeout=120)
    assert child.returncode == 0, child.stdout.read() + child.stderr.read()
    first_run = child.stdout.read().split()[0]
    store = demo.store()
    try:
        audit = store.audit()
        assert set(audit["run_id"]) == {first_run} and len(audit) > 0
        assert store.locks() == []
    finally:
        store.dispose()


def test_a_crashed_runs_lock_refuses_until_an_operator_unlocks(capsys, monkeypatch) -> None:
    demo = make_demo(60)
    names = lock_names(demo.config)
    store = demo.store()
    store.start_run("crashed-run", "apply", AS_OF, demo.config.erp.companies)
    store.acquire_lock(names, "crashed-run")  # held by this (live) process: not stale by itself
    store.dispose()
    refused = _run(capsys, monkeypatch, demo.config_path)
    assert refused.code == 1 and "crashed-run" in refused.err and "creditctl unlock" in refused.err

    unlocked = run_cli(capsys, monkeypatch, "unlock", "--config", str(demo.config_path))
    assert unlocked.code == 0 and "2 lock(s) cleared" in unlocked.out
    assert _run(capsys, monkeypatch, demo.config_path).code == 0


def test_blast_radius_halts_with_exit_1_and_no_change_unless_approved(
        tmp_path: Path, capsys, monkeypatch, pg_url: str) -> None:
    monkeypatch.setenv(DEMO_STATE_ENV, pg_url)
    demo = make_demo(60)
    demo.use_rules(BLOCK_ALL, tmp_path)
    before = demo.state()
    halted = _run(capsys, monkeypatch, demo.config_path)
    assert halted.code == 1
    assert "max_new_blocks_percent" in halted.err and "--approve" in halted.err
    assert same_state(before, demo.state())
    store = demo.store()
    try:
        assert store.audit().empty and store.locks() == []
    finally:
        store.dispose()

    approved = _run(capsys, monkeypatch, demo.config_path, "--approve")
    assert approved.code == 0, approved.err
    customers, _ = demo.state()
    assert customers["is_blocked"].all()
    store = demo.store()
    try:
        audit = store.audit()
        assert (audit["change"] == "block").sum() == (~before[0]["is_blocked"]).sum()
        assert set(audit["rule_ids"]) >= {"block-all"}
    finally:
        store.dispose()


def test_dry_run_reports_what_it_planned(capsys, monkeypatch) -> None:
    demo = make_demo(60)
    before = demo.state()
    monkeypatch.chdir(ROOT)
    result = run_cli(capsys, monkeypatch, "run", "--config", str(demo.config_path), "--mode", "dry-run",
                     "--as-of", dt.date(2026, 11, 28).isoformat())
    assert result.code == 0, result.err
    assert "dry-run: nothing was written to the ERP; review the plan in" in result.out
    assert "changes written: 0" in result.out and "changes planned: 0" not in result.out
    assert "plan.csv" in result.out
    assert same_state(before, demo.state())


@pytest.mark.parametrize("mode", ["dry-run", "off"])
def test_a_dry_run_beyond_the_blast_radius_succeeds_and_says_an_apply_needs_approve(
        tmp_path: Path, capsys, monkeypatch, mode: str) -> None:
    demo = make_demo(60)
    demo.use_rules(BLOCK_ALL, tmp_path)
    before = demo.state()
    monkeypatch.chdir(ROOT)
    result = run_cli(capsys, monkeypatch, "run", "--config", str(demo.config_path), "--mode", mode,
                     "--as-of", AS_OF.isoformat())
    assert result.code == 0, result.err
    blocks = int((~before[0]["is_blocked"]).sum())
    note = re.search(rf"{mode}: (an apply of this plan would need --approve: (\d+) new blocks "
                     r"\((\d+\.\d)% of (\d+) customers\) exceed guards\.max_new_blocks_percent 5)\n", result.out)
    assert note is not None, result.out
    assert int(note.group(2)) == blocks and float(note.group(3)) == round(100 * blocks / int(note.group(4)), 1)
    assert f"{mode}: nothing was written to the ERP" in result.out
    assert same_state(before, demo.state())
    # the plan and the report are written, and the run's record carries the note (the report shows it)
    run_id = re.search(r"run id: (\S+)", result.out).group(1)
    plan = pd.read_csv(re.search(r"plan: (\S+)", result.out).group(1), dtype=str)
    assert (plan["change"] == "block").sum() == blocks
    report = Path(re.search(r"report: (\S+)", result.out).group(1)).read_text(encoding="utf-8")
    assert note.group(1) in report
    store = demo.store()
    try:
        run = store.run(run_id)
        assert (run["status"], run["mode"], run["message"]) == ("succeeded", mode, note.group(1))
        assert store.audit().empty and store.locks() == []
    finally:
        store.dispose()


def test_the_blast_radius_check_of_a_dry_run_warns_and_the_writeback_metadata_says_so(tmp_path: Path) -> None:
    from dagster import AssetCheckSeverity

    demo = make_demo(60)
    demo.use_rules(BLOCK_ALL, tmp_path)
    result = demo.materialize(mode="dry-run")
    assert result.success
    (check,) = [e for e in result.get_asset_check_evaluations() if e.check_name == "blast_radius"]
    assert not check.passed and check.severity == AssetCheckSeverity.WARN
    assert check.metadata["message"].value.startswith("an apply of this plan would need --approve: ")
    (written,) = result.asset_materializations_for_node("erp_writeback")
    assert written.metadata["apply_needs_approve"].value is True
    assert written.metadata["message"].value == check.metadata["message"].value
    assert result.asset_materializations_for_node("credit_report")
