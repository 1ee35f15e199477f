"""Run the Dagster job in-process for one config (used by `creditctl run` and `creditctl demo`)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dagster import (
    BetaWarning,
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    ExecuteInProcessResult,
    InitLoggerContext,
    LoggerDefinition,
    RunsFilter,
    logger,
    mem_io_manager,
)
from dagster._core.log_manager import LOG_RECORD_METADATA_ATTR
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from assets.definitions import JOB_NAME, build_definitions
from assets.failures import first_failure
from assets.resources import CreditControlSettings, ErpResource, StateStoreResource
from connectors import write_problem
from etl.config import ConfigError, RunConfig, data_dir, load_config, new_sqlite_store
from etl.store import StateStore, holder_gone, process_holder


@dataclass(frozen=True)
class RunOutcome:
    run_id: str
    success: bool
    message: str  # one line: why the run failed, "" on success
    store_url: str
    store_created: bool = False  # the run created a new, empty SQLite state store


#: the local instance's dagster.yaml, one source for `make` and the CLI
INSTANCE_TEMPLATE = Path(__file__).with_name("dagster.yaml")


def dagster_home(config: RunConfig | None = None) -> Path:
    """The Dagster instance folder of CLI runs: $DAGSTER_HOME, else <data dir>/dagster_home, whose
    dagster.yaml is written from the template when absent (so `make dev` shows the CLI's runs)."""
    value = os.environ.get("DAGSTER_HOME")
    if value:
        return Path(value).expanduser().resolve()
    home = data_dir(config) / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").is_file():
        (home / "dagster.yaml").write_text(INSTANCE_TEMPLATE.read_text(encoding="utf-8"), encoding="utf-8")
    return home


def _instance(config: RunConfig) -> DagsterInstance:
    # a persistent instance: run history and materializations for the UI, never a temporary one
    return DagsterInstance.from_config(str(dagster_home(config)))


#: the process that executes a CLI run in-process (host:pid), so a later run can tell it died
HOLDER_TAG = "creditctl/holder"


def close_dead_runs(instance: DagsterInstance) -> list[str]:
    """Mark failed the CLI runs whose process died mid-run (killed, power loss) and free their pool
    slots: such a run stays STARTED in the instance and keeps its erp_writeback slot, and every
    later run would wait for that slot forever. Returns the run ids closed."""
    closed = []
    for run in instance.get_runs(RunsFilter(job_name=JOB_NAME, statuses=[DagsterRunStatus.STARTED,
                                                                         DagsterRunStatus.STARTING])):
        holder = run.tags.get(HOLDER_TAG)
        if holder and holder_gone(holder):
            instance.report_run_failed(run, f"creditctl: the process running it ({holder}) is gone")
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
            closed.append(run.run_id)
    return closed


def failure_message(result: ExecuteInProcessResult) -> str:
    """The first reason a run failed, as one line: a failed step or a failed blocking check."""
    reason = first_failure(((None, e) for e in result.get_asset_check_evaluations()),
                           (e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE))
    if reason is None:
        return "the run failed (see the Dagster run log)"
    return f"{reason.step}: {reason.text}" if reason.from_exception else reason.text


class _StepStarts(logging.Handler):
    """Hands the key of every step that starts to ``on_step`` (the CLI's progress line)."""

    def __init__(self, on_step: Callable[[str], None]) -> None:
        super().__init__(logging.DEBUG)
        self._on_step = on_step

    def emit(self, record: logging.LogRecord) -> None:
        event = (getattr(record, LOG_RECORD_METADATA_ATTR, None) or {}).get("dagster_event")
        if event is not None and event.event_type == DagsterEventType.STEP_START and event.step_key:
            self._on_step(event.step_key)


def _progress_logger(on_step: Callable[[str], None]) -> LoggerDefinition:
    @logger(description="Reports each step as it starts (creditctl's progress line).")
    def _progress(_context: InitLoggerContext) -> logging.Logger:
        log = logging.Logger("creditctl.progress", logging.DEBUG)
        log.addHandler(_StepStarts(on_step))
        return log

    return _progress


def _refuse_apply_without_write(config: RunConfig, config_path: Path, mode: str | None) -> None:
    """An apply on a connector that cannot write is a config error, refused before anything is read
    (not after the blast-radius guard asked for --approve)."""
    problem = write_problem(config.erp.kind)
    if problem is not None and (mode or config.writeback) == "apply":
        setting = "--mode apply" if mode else "writeback: apply"
        raise ConfigError(f"{config_path}: {setting}: {problem}; use dry-run or off")


def run_nightly(config_path: Path, *, as_of: dt.date | None = None, mode: str | None = None,
                approve: bool = False, company: str | None = None, retries: int = 0,
                retry_wait_seconds: float = 60.0, on_step: Callable[[str], None] | None = None) -> RunOutcome:
    """One in-process run: every company of the config, or only ``company``'s partition.

    ``on_step`` is called with each step's key as it starts (progress for the CLI).
    """
    config = load_config(config_path)  # fail early with a clear line
    _refuse_apply_without_write(config, config_path, mode)
    path = str(Path(config_path).resolve())
    resources = {
        "settings": CreditControlSettings(config_path=path, as_of=as_of.isoformat() if as_of else "",
                                          mode=mode or "", approve=approve, retries=retries,
                                          retry_wait_seconds=retry_wait_seconds),
        "erp": ErpResource(config_path=path),
        "state_store": StateStoreResource(config_path=path),
        # steps hand their frames on in memory: the filesystem IO manager cannot store one output for
        # a range of partitions, and an in-process run needs nothing kept after it
        "io_manager": mem_io_manager,
    }
    # partitioned by company like the schedule's runs (the UI shows one history); without --company
    # one run covers every partition (a partition range), so there is one summary and one report
    companies = sorted(set(config.erp.companies))
    tags = {} if company else {ASSET_PARTITION_RANGE_START_TAG: companies[0],
                               ASSET_PARTITION_RANGE_END_TAG: companies[-1]}
    with warnings.catch_warnings():  # Dagster warns of its own beta sensor internals: not the user's concern
        warnings.simplefilter("ignore", BetaWarning)
        job = build_definitions(resources, companies=companies).resolve_job_def(JOB_NAME)
    # the CLI prints its own summary or one-line error; Dagster's event log stays in the instance
    quiet: dict = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    if on_step is not None:
        job = job.with_logger_defs({**job.loggers, "progress": _progress_logger(on_step)})
        quiet["loggers"]["progress"] = {}
    store_url = config.state_url()
    created = new_sqlite_store(store_url) is not None
    with _instance(config) as instance:
        close_dead_runs(instance)
        result = job.execute_in_process(instance=instance, raise_on_error=False, run_config=quiet,
                                        partition_key=company, tags={**tags, HOLDER_TAG: process_holder()})
    message = "" if result.success else failure_message(result)
    store = StateStore(store_url)
    try:
        store.release_lock(result.run_id)  # whatever happened, this run's writeback lock goes
        if not result.success:
            settings = resources["settings"]  # recorded already unless it stopped before credit_positions
            store.ensure_run(result.run_id, settings.writeback_mode(), settings.as_of_date(),
                             [company] if company else config.erp.companies)
            store.finish_run(result.run_id, "failed", message=message)
    finally:
        store.dispose()
    return RunOutcome(result.run_id, result.success, message, store_url, created)
