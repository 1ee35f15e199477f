"""The two sensors (SPEC §8, issue 8) on a demo ERP and a real Dagster instance.

- rule change -> one simulation run whose diff names exactly the customers two independent
  evaluations of the old and new rules decide differently, and that writes nothing to the ERP;
- run failure -> one log line, the run failed in the state store, and a mail through a real
  local SMTP server (aiosmtpd).
"""

import datetime as dt
import logging
import os
import socket
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path

import pandas as pd
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    asset,
    asset_check,
    build_run_status_sensor_context,
    build_sensor_context,
    instance_for_test,
    materialize,
)

from assets.definitions import JOB_NAME, build_definitions
from assets.notify import MailConfigError, SmtpSettings
from assets.resources import CreditControlSettings
from assets.sensors import (
    credit_control_failure_sensor,
    failure_details,
    rule_change_simulation_sensor,
)
from assets.simulation import DIFF_FILE, TAG_FROM, TAG_TO
from assets.simulation import JOB_NAME as SIMULATION_JOB
from connectors.demo import DemoConnector
from creditctl.demo import DEMO_STATE_ENV, prepare_demo
from etl.config import data_dir, load_config
from etl.extract import Extract
from etl.pipeline import evaluate
from etl.rules import load_ruleset
from etl.store import StateStore
from tests.conftest import ROOT

AS_OF = dt.date(2026, 11, 28)
POLICY = ROOT / "rules" / "credit_control.yaml"
BAD_RULES = "version: 1\nname: Bad\nrules:\n  - id: typo\n    when: exposur > 1\n    then: block\n"
LINT_ERROR = "unknown field 'exposur'"


def _erp_dump(path: Path) -> list[str]:
    """Every table and row of the demo ERP (SQLite), as SQL text."""
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def _differing(extract: Extract, old: Path, new: Path) -> set[tuple[str, str]]:
    """The customers two independent evaluations of ``old`` and ``new`` rules decide differently."""
    base = evaluate(extract, load_ruleset([old]), AS_OF).decisions
    cand = evaluate(extract, load_ruleset([new]), AS_OF).decisions
    merged = base.merge(cand, on=["company", "customer_id"], suffixes=("_b", "_c"))
    differ = pd.Series(False, index=merged.index)
    for col in ("action", "block", "hold", "require_prepayment", "new_credit_limit", "rule_ids"):
        b, c = merged[f"{col}_b"], merged[f"{col}_c"]
        differ |= ~((b == c) | (b.isna() & c.isna()))
    return set(map(tuple, merged.loc[differ, ["company", "customer_id"]].values))


def _tick(instance: DagsterInstance, settings: CreditControlSettings, cursor: str | None):  # noqa: ANN202
    context = build_sensor_context(instance=instance, cursor=cursor, resources={"settings": settings})
    return rule_change_simulation_sensor.evaluate_tick(context)


def test_rule_change_runs_a_simulation_that_diffs_exactly_and_writes_nothing(tmp_path: Path, monkeypatch) -> None:
    rules = tmp_path / "policy" / "credit_control.yaml"
    rules.parent.mkdir()
    rules.write_text(POLICY.read_text())
    config_path, _ = prepare_demo(customers=200, as_of=AS_OF, rules=rules)
    monkeypatch.setenv("CREDITCTL_CONFIG", str(config_path))
    config = load_config(config_path)
    erp = Path(config.erp.options["path"])
    settings = CreditControlSettings(config_path=str(config_path), as_of=AS_OF.isoformat())
    old_sha = load_ruleset([rules]).sha256

    with instance_for_test() as instance:
        first = _tick(instance, settings, None)
        assert first.run_requests == [] and first.cursor == old_sha
        assert (data_dir() / "rule_snapshots" / old_sha / "credit_control.yaml").read_text() == POLICY.read_text()

        # a stricter hold rule: exposure above 70% of the limit, not 10% above it
        stricter = POLICY.read_text().replace("when: exposure > credit_limit * 1.1",
                                              "when: exposure > credit_limit * 0.7")
        assert stricter != POLICY.read_text()
        rules.write_text(stricter)
        new_sha = load_ruleset([rules]).sha256
        second = _tick(instance, settings, first.cursor)
        assert len(second.run_requests) == 1 and second.cursor == new_sha
        request = second.run_requests[0]
        assert request.run_key == new_sha
        assert request.tags[TAG_FROM] == old_sha and request.tags[TAG_TO] == new_sha

        rules.write_text(POLICY.read_text())  # the run compares the snapshots, not the live files
        erp_before = _erp_dump(erp)
        job = build_definitions().resolve_job_def(request.job_name or SIMULATION_JOB)
        assert job.name == SIMULATION_JOB
        result = job.execute_in_process(run_config=request.run_config, instance=instance, tags=request.tags)
        assert result.success
        run = instance.get_run_by_id(result.run_id)
        assert run.tags[TAG_FROM] == old_sha and run.tags[TAG_TO] == new_sha

        assert _erp_dump(erp) == erp_before  # nothing written to the ERP
        store = StateStore(config.state_url(data_dir()))
        try:
            assert store.audit().empty
            assert store.run(result.run_id) is None  # a simulation is not a credit-control run
        finally:
            store.dispose()

        connector = DemoConnector(erp, config.erp.options)
        extract = Extract(**{e: getattr(connector, f"read_{e}")(config.erp.companies) for e in Extract.entities()})
        candidate = tmp_path / "stricter.yaml"
        candidate.write_text(stricter)
        expected = _differing(extract, POLICY, candidate)
        assert expected, "the stricter hold rule should change some decisions on the demo"

        diff = pd.read_csv(data_dir() / "runs" / result.run_id / DIFF_FILE, dtype={"customer_id": str, "company": str})
        assert set(map(tuple, diff[["company", "customer_id"]].values)) == expected
        newly_held = int(diff["changes"].str.contains("newly_held").sum())
        assert newly_held > 0 and not diff["changes"].str.contains("released|newly_blocked").any()
        output = next(e for e in result.events_for_node("simulate_rule_change")
                      if e.event_type == DagsterEventType.STEP_OUTPUT)
        meta = {k: v.value for k, v in output.step_output_data.metadata.items()}
        assert meta["affected_customers"] == len(expected)
        assert meta["newly_held"] == newly_held and meta["newly_blocked"] == 0 and meta["released"] == 0
        assert meta["exposure_affected"] == pytest.approx(diff["exposure"].sum(), abs=0.01)
        assert meta["baseline_sha256"] == old_sha and meta["candidate_sha256"] == new_sha
        top = diff.sort_values("exposure", ascending=False).iloc[0]
        assert f"| {top['customer_id']} " in meta["customers"] and "→ hold" in meta["customers"]

        # the files are unchanged since the last tick (the cursor): no new run
        rules.write_text(stricter)
        third = _tick(instance, settings, second.cursor)
        assert third.run_requests == [] and third.cursor in (None, new_sha)
        assert "unchanged" in (third.skip_message or "")

        # a change that does not lint is not simulated; the cursor keeps the last good rules
        rules.write_text(BAD_RULES)
        broken = _tick(instance, settings, second.cursor)
        assert broken.run_requests == [] and broken.cursor in (None, new_sha)
        assert LINT_ERROR in broken.skip_message


# --- run failure --------------------------------------------------------------------------------
@dataclass
class FailedRun:
    config_path: Path
    instance: DagsterInstance
    run: DagsterRun
    failure_event: object  # DagsterEvent (RUN_FAILURE)
    cursor: str | None  # the failure sensor's cursor from before the run
    failed_steps: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FailedRun]:
    """The nightly job on a demo ERP whose rule file does not lint: a real failed run (once per module)."""
    folder = tmp_path_factory.mktemp("failed_run")
    bad = folder / "bad.yaml"
    bad.write_text(BAD_RULES)
    with pytest.MonkeyPatch.context() as mp, instance_for_test() as instance:
        mp.setenv("CREDITCTL_DATA_DIR", str(folder / "data"))
        for name in ("CREDITCTL_DEMO_STATE_URL", "CREDITCTL_STATE_URL", "DAGSTER_HOME"):
            mp.delenv(name, raising=False)
        config_path, _ = prepare_demo(customers=60, as_of=AS_OF, rules=bad)
        mp.setenv("CREDITCTL_CONFIG", str(config_path))
        # the daemon's first tick only sets the cursor: runs that fail after it are reported
        cursor = credit_control_failure_sensor.evaluate_tick(build_sensor_context(instance=instance)).cursor
        job = build_definitions().resolve_job_def(JOB_NAME)
        partition = {"partition_key": job.partitions_def.get_partition_keys()[0]} if job.partitions_def else {}
        result = job.execute_in_process(instance=instance, raise_on_error=False, **partition)
        assert not result.success
        steps = [e.step_key for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE]
        yield FailedRun(config_path, instance, result.dagster_run, result.get_run_failure_event(), cursor, steps)


def _evaluate_failure_sensor(failed: FailedRun) -> None:
    context = build_run_status_sensor_context(
        sensor_name="credit_control_failure_sensor", dagster_event=failed.failure_event,
        dagster_instance=failed.instance, dagster_run=failed.run,
    ).for_run_failure()
    credit_control_failure_sensor(context)


@pytest.fixture
def failure_env(failed_run: FailedRun, monkeypatch, tmp_path: Path) -> FailedRun:
    monkeypatch.setenv("CREDITCTL_CONFIG", str(failed_run.config_path))
    # each test records the shared failed run in a state store of its own
    monkeypatch.setenv(DEMO_STATE_ENV, f"sqlite:///{tmp_path / 'state.sqlite'}")
    for name in [n for n in os.environ if n.startswith("CREDITCTL_SMTP_")] + ["DAGSTER_WEBSERVER_URL"]:
        monkeypatch.delenv(name, raising=False)
    return failed_run


def _store(failed: FailedRun) -> StateStore:
    return StateStore(load_config(failed.config_path).state_url())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Inbox:
    def __init__(self) -> None:
        self.envelopes: list = []
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802 - aiosmtpd hook
        self.envelopes.append(envelope)
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:  # noqa: ANN001
        self.logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret")


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, _Inbox]]:
    inbox = _Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=inbox.authenticate,
                            auth_require_tls=False)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


def test_failure_sensor_logs_records_and_mails(failure_env: FailedRun, smtp_server, monkeypatch, caplog) -> None:
    port, inbox = smtp_server
    run_id = failure_env.run.run_id
    monkeypatch.setenv("CREDITCTL_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CREDITCTL_SMTP_PORT", str(port))
    monkeypatch.setenv("CREDITCTL_SMTP_USER", "creditctl")
    monkeypatch.setenv("CREDITCTL_SMTP_PASSWORD", "s3cret")
    monkeypatch.setenv("CREDITCTL_SMTP_STARTTLS", "false")
    monkeypatch.setenv("CREDITCTL_SMTP_FROM", "creditctl@example.com")
    monkeypatch.setenv("CREDITCTL_SMTP_TO", "credit@example.com, ops@example.com")
    monkeypatch.setenv("DAGSTER_WEBSERVER_URL", "http://dagster.example:3000/")

    with caplog.at_level(logging.INFO, logger="creditctl"):
        _evaluate_failure_sensor(failure_env)

    lines = [r for r in caplog.records if r.name == "creditctl" and r.levelno == logging.ERROR]
    assert len(lines) == 1
    step = failure_env.failed_steps[0]
    assert run_id in lines[0].getMessage() and JOB_NAME in lines[0].getMessage()
    assert f"at step {step}:" in lines[0].getMessage() and LINT_ERROR in lines[0].getMessage()
    assert "\n" not in lines[0].getMessage()

    store = _store(failure_env)
    try:
        row = store.run(run_id)
    finally:
        store.dispose()
    assert row is not None and row["status"] == "failed" and row["finished_at"] is not None
    assert LINT_ERROR in row["message"] and row["message"].startswith(f"{step}: ")
    config = load_config(failure_env.config_path)
    companies = failure_env.run.tags.get("dagster/partition") or ",".join(config.erp.companies)
    assert row["companies"] == companies and row["mode"] == config.writeback

    assert inbox.logins == [(b"creditctl", b"s3cret")]
    assert len(inbox.envelopes) == 1
    envelope = inbox.envelopes[0]
    assert envelope.mail_from == "creditctl@example.com"
    assert envelope.rcpt_tos == ["credit@example.com", "ops@example.com"]
    mail = message_from_bytes(envelope.original_content, policy=policy.default)
    assert mail["Subject"] == f"creditctl: {JOB_NAME} failed (run {run_id})"
    body = mail.get_content()
    assert LINT_ERROR in body and f"Step:  {step}" in body
    assert str((data_dir() / "runs" / run_id).resolve()) in body
    assert f"http://dagster.example:3000/runs/{run_id}" in body


def test_failure_sensor_without_smtp_only_logs_and_closes_the_running_row(failure_env: FailedRun, caplog) -> None:
    run_id = failure_env.run.run_id
    store = _store(failure_env)
    try:  # as credit_positions records a run before its guards
        store.start_run(run_id, "dry-run", AS_OF, ["Demo GmbH"])
        with caplog.at_level(logging.INFO, logger="creditctl"):
            _evaluate_failure_sensor(failure_env)
        row = store.run(run_id)
    finally:
        store.dispose()
    records = [r for r in caplog.records if r.name == "creditctl"]
    assert [r.levelno for r in records] == [logging.ERROR] and run_id in records[0].getMessage()
    assert row["status"] == "failed" and LINT_ERROR in row["message"]
    assert row["mode"] == "dry-run" and row["companies"] == "Demo GmbH" and row["as_of"] == AS_OF


def test_failure_sensor_survives_an_smtp_server_that_is_down(failure_env: FailedRun, monkeypatch, caplog) -> None:
    monkeypatch.setenv("CREDITCTL_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CREDITCTL_SMTP_PORT", str(_free_port()))  # nothing listens there
    monkeypatch.setenv("CREDITCTL_SMTP_TO", "credit@example.com")
    with caplog.at_level(logging.INFO, logger="creditctl"):
        _evaluate_failure_sensor(failure_env)
    warnings = [r.getMessage() for r in caplog.records if r.name == "creditctl" and r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "not sent" in warnings[0] and failure_env.run.run_id in warnings[0]
    store = _store(failure_env)
    try:
        assert store.run(failure_env.run.run_id)["status"] == "failed"
    finally:
        store.dispose()


def test_failure_sensor_tick_reports_only_the_credit_control_jobs(failure_env: FailedRun, caplog) -> None:
    """As the daemon evaluates it: a failed run of another job in the instance is passed over."""
    other = materialize([_plan_like, _guard, _side_effect], instance=failure_env.instance, raise_on_error=False)
    assert not other.success
    context = build_sensor_context(instance=failure_env.instance, cursor=failure_env.cursor)
    with caplog.at_level(logging.INFO, logger="creditctl"):
        tick = credit_control_failure_sensor.evaluate_tick(context)
    assert [r.dagster_run.run_id for r in tick.dagster_run_reactions] == [failure_env.run.run_id]
    assert all(r.error is None for r in tick.dagster_run_reactions)
    lines = [r.getMessage() for r in caplog.records if r.name == "creditctl"]
    assert len(lines) == 1 and failure_env.run.run_id in lines[0] and other.run_id not in lines[0]


# a plan, its blocking guard and the side effect it protects: a run stopped by a check
@asset
def _plan_like() -> int:
    return 1


@asset_check(asset=_plan_like, name="guard", blocking=True)
def _guard() -> AssetCheckResult:
    return AssetCheckResult(passed=False, severity=AssetCheckSeverity.ERROR,
                            metadata={"message": "12 new blocks exceed guards.max_new_blocks_percent 5\nmore"})


@asset(deps=[_plan_like])
def _side_effect() -> None:
    raise AssertionError("a failed blocking check must keep this from running")


def test_failure_details_name_the_failed_blocking_check() -> None:
    with instance_for_test() as instance:
        result = materialize([_plan_like, _guard, _side_effect], instance=instance, raise_on_error=False)
        assert not result.success
        context = build_run_status_sensor_context(
            sensor_name="credit_control_failure_sensor", dagster_event=result.get_run_failure_event(),
            dagster_instance=instance, dagster_run=result.dagster_run,
        ).for_run_failure()
        step, error = failure_details(context)
    assert error == "check _plan_like:guard failed: 12 new blocks exceed guards.max_new_blocks_percent 5"
    assert step.startswith("_plan_like")


def test_rule_snapshot_follows_includes_and_detects_their_change(tmp_path: Path) -> None:
    """An included file is part of the hash and of the snapshot, at its place relative to the includer."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "shared").mkdir()
    main = tmp_path / "rules" / "main.yaml"
    main.write_text("version: 1\nname: Main\ninclude: [../shared/limits.yaml]\nrules:\n"
                    "  - {id: dso, when: dso > 75, then: review, reason: DSO above 75 days}\n")
    shared = tmp_path / "shared" / "limits.yaml"
    shared.write_text("version: 1\nname: Limits\nrules:\n"
                      "  - {id: over, when: exposure > credit_limit * 1.1, then: hold, reason: Over}\n")
    config = tmp_path / "c.yaml"
    config.write_text(f"erp: {{kind: files, companies: [A], options: {{path: {tmp_path}}}}}\nrules: [{main}]\n")
    settings = CreditControlSettings(config_path=str(config))
    old_sha = load_ruleset([main]).sha256

    with instance_for_test() as instance:
        first = _tick(instance, settings, None)
        shared.write_text(shared.read_text().replace("* 1.1", "* 1.0"))
        second = _tick(instance, settings, first.cursor)
    assert first.cursor == old_sha and len(second.run_requests) == 1
    ops = second.run_requests[0].run_config["ops"]["simulate_rule_change"]["config"]
    baseline, candidate = load_ruleset(ops["baseline_rules"]), load_ruleset(ops["candidate_rules"])
    assert (baseline.sha256, candidate.sha256) == (old_sha, load_ruleset([main]).sha256) == (
        ops["baseline_sha256"], ops["candidate_sha256"])
    assert [r.id for r in baseline.rules] == ["dso", "over"]
    included = Path(baseline.paths[1])
    assert included.is_relative_to(data_dir() / "rule_snapshots" / old_sha) and "* 1.1" in included.read_text()


def test_smtp_settings_come_from_the_environment_only() -> None:
    assert SmtpSettings.from_env({}) is None  # no host: mail is off
    settings = SmtpSettings.from_env({"CREDITCTL_SMTP_HOST": "mail.local", "CREDITCTL_SMTP_TO": "a@x.org,, b@y.org ",
                                      "CREDITCTL_SMTP_STARTTLS": "TRUE"})
    assert (settings.port, settings.recipients, settings.starttls, settings.user) == (
        25, ("a@x.org", "b@y.org"), True, None)
    for env, name in (({"CREDITCTL_SMTP_PORT": "smtp"}, "CREDITCTL_SMTP_PORT"),
                      ({"CREDITCTL_SMTP_STARTTLS": "maybe"}, "CREDITCTL_SMTP_STARTTLS"),
                      ({"CREDITCTL_SMTP_TO": ""}, "CREDITCTL_SMTP_TO")):
        with pytest.raises(MailConfigError, match=name):
            SmtpSettings.from_env({"CREDITCTL_SMTP_HOST": "mail.local", "CREDITCTL_SMTP_TO": "a@x.org", **env})
