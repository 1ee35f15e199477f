"""Sensors of the code location (SPEC §8, issue 8); build_definitions() registers ``sensors`` and ``jobs``.

- ``rule_change_simulation_sensor``: when the rule files named in the run config change (their
  sha256, as RuleSet.sha256), request a ``rule_change_simulation`` run of the new files against
  the previous ones. The cursor is the hash of the last rule set seen; each set is snapshotted
  (assets/simulation.py) so the previous files are still there to compare with.
- ``credit_control_failure_sensor``: a failed nightly or simulation run is logged in one line,
  recorded as failed in the state store, and mailed when CREDITCTL_SMTP_HOST is set (assets/notify.py).

Both are STOPPED by default: switch them on in the UI (Automation) with the daemon running.
"""


import datetime as dt
import logging
import os
import smtplib
from zoneinfo import ZoneInfo

from dagster import (
    DagsterEventType,
    DefaultSensorStatus,
    JobDefinition,
    RunFailureSensorContext,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    define_asset_job,
    run_failure_sensor,
    sensor,
)

from assets import simulation
from assets.failures import first_failure
from assets.notify import MailConfigError, RunFailure, run_url, send_failure_mail
from assets.resources import CreditControlSettings
from etl.config import ConfigError, data_dir, load_config
from etl.rules import RuleLintError, load_ruleset
from etl.store import StateStore

#: assets.definitions.JOB_NAME (that module imports this one, so the name is repeated here)
NIGHTLY_JOB = "nightly_credit_control"
CONFIG_ENV = "CREDITCTL_CONFIG"
logger = logging.getLogger("creditctl")


# --- rule change -> simulation ------------------------------------------------------------------
@sensor(name="rule_change_simulation_sensor", job=simulation.rule_change_simulation, minimum_interval_seconds=60,
        default_status=DefaultSensorStatus.STOPPED,
        description="When the configured rule files change (sha256), simulates the new rules against the previous "
                    "ones on the ERP's current data and reports the decision diff. Never writes to the ERP.")
def rule_change_simulation_sensor(context: SensorEvaluationContext,
                                  settings: CreditControlSettings) -> SensorResult | SkipReason:
    try:
        config = settings.config()
        ruleset = load_ruleset(config.rules)
    except ConfigError as exc:
        return SkipReason(str(exc))
    except RuleLintError as exc:  # the cursor keeps the last good set: the fixed files are compared with it
        first = str(exc).splitlines()[0] if str(exc) else "lint failed"
        return SkipReason(f"the rule files do not lint, nothing to simulate until they do ({first}); "
                          "see `creditctl rules check`")
    previous = context.cursor or None
    if previous == ruleset.sha256:
        return SkipReason(f"rule files unchanged (sha256 {ruleset.sha256[:12]})")
    candidate = simulation.snapshot_rules(ruleset, config.rules)
    baseline = simulation.read_snapshot(previous) if previous else None
    if baseline is None:  # first evaluation, or the snapshots were deleted: nothing to compare with
        return SensorResult(cursor=ruleset.sha256, skip_reason=SkipReason(
            f"recorded rule files {ruleset.sha256[:12]}; their next change will be simulated against them"))
    context.log.info(f"rule files changed: {previous[:12]} -> {ruleset.sha256[:12]}; requesting a simulation")
    run_config = {"ops": {"simulate_rule_change": {"config": {
        "baseline_rules": [str(p) for p in baseline.rules],
        "candidate_rules": [str(p) for p in candidate.rules],
        "baseline_sha256": baseline.sha256,
        "candidate_sha256": candidate.sha256,
        "as_of": settings.as_of,
    }}}}
    request = RunRequest(run_key=candidate.sha256, run_config=run_config,
                         tags={simulation.TAG_FROM: baseline.sha256, simulation.TAG_TO: candidate.sha256})
    return SensorResult(run_requests=[request], cursor=candidate.sha256)


# --- run failure -> log line, state store, mail -------------------------------------------------
# monitored by name only (Dagster compares run job names): a stand-in for the job object that
# assets.definitions builds, which cannot be imported here without an import cycle
_nightly_by_name = define_asset_job(NIGHTLY_JOB)


@run_failure_sensor(name="credit_control_failure_sensor",
                    monitored_jobs=[_nightly_by_name, simulation.rule_change_simulation],
                    default_status=DefaultSensorStatus.STOPPED, minimum_interval_seconds=30,
                    description="A failed nightly or simulation run: one log line, the run marked failed in the "
                                "state store, and an e-mail when CREDITCTL_SMTP_HOST is set.")
def credit_control_failure_sensor(context: RunFailureSensorContext) -> None:
    run = context.dagster_run
    step, error = failure_details(context)
    failure = RunFailure(run_id=run.run_id, job=run.job_name, step=step, error=error,
                         folder=str((data_dir() / "runs" / run.run_id).resolve()), url=run_url(run.run_id))
    context.log.error(failure.line())
    logger.error(failure.line())
    # each of the two side effects is tried on its own: a broken store must not swallow the mail
    try:
        _record_failure(run.run_id, run.job_name, run.tags.get("dagster/partition"), f"{step}: {error}")
    except Exception as exc:  # noqa: BLE001 - reported, the sensor carries on
        _warn(context, f"creditctl: run {run.run_id} not recorded in the state store: {_first_line(str(exc))}")
    try:
        sent_to = send_failure_mail(failure)
    except (MailConfigError, smtplib.SMTPException, OSError) as exc:
        _warn(context, f"creditctl: failure mail for run {run.run_id} not sent: {type(exc).__name__}: "
                       f"{_first_line(str(exc)) or 'no detail'}")
    else:
        if sent_to:
            context.log.info(f"failure mail for run {run.run_id} sent to {sent_to}")


def failure_details(context: RunFailureSensorContext) -> tuple[str, str]:
    """(failing step, first line of the error) of a failed run.

    A failed blocking check stopped the run, so its message comes first (the step failure it
    causes only says that a check failed); else the first failed step's error.
    """
    run_id = context.dagster_run.run_id
    checks = ((r.dagster_event.step_key, r.dagster_event.event_specific_data)
              for r in context.instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
              if r.dagster_event is not None and r.dagster_event.event_specific_data is not None)
    reason = first_failure(checks, context.get_step_failure_events())
    if reason is not None:
        return reason.step, _first_line(reason.text)
    return "(no step)", _first_line(context.failure_event.message or "the run failed (see the Dagster run log)")


def _record_failure(run_id: str, job_name: str, partition: str | None, message: str) -> None:
    """Mark the run failed in the state store; insert its row when it failed before credit_positions did."""
    path = os.environ.get(CONFIG_ENV)
    if not path:
        raise ConfigError(f"{CONFIG_ENV} is not set: the sensor needs the run config to find the state store")
    config = load_config(path)
    store = StateStore(config.state_url())
    try:
        row = store.run(run_id)
        if row is None:
            companies = [partition] if partition in config.erp.companies else list(config.erp.companies)
            mode = "simulation" if job_name == simulation.JOB_NAME else config.writeback
            today = dt.datetime.now(ZoneInfo(config.timezone)).date()
            store.ensure_run(run_id, mode, today, companies)
        elif row["status"] != "running":
            return  # already closed (the CLI's runner, or an earlier tick): keep its account
        store.finish_run(run_id, "failed", message=message)
    finally:
        store.dispose()


def _warn(context: RunFailureSensorContext, line: str) -> None:
    context.log.warning(line)
    logger.warning(line)


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


sensors: list[SensorDefinition] = [rule_change_simulation_sensor, credit_control_failure_sensor]
jobs: list[JobDefinition] = [simulation.rule_change_simulation]
