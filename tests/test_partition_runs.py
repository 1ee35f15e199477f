"""Scale-out by company partition (docs/operations.md, "Scale-out"): two company partitions launched at
once through the Dagster instance's run launcher run in two processes of their own, against one
PostgreSQL canonical ERP and one state store; both succeed and neither writes the other's company."""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance, DagsterRun
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import WorkspaceFileTarget
from sqlalchemy import create_engine, text

from assets.definitions import JOB_NAME
from connectors.canonical import CanonicalConnector
from connectors.canonical_schema import OUTBOUND_TABLE, load_extract
from connectors.synthetic import synthetic_extract
from etl.store import StateStore
from tests.conftest import ROOT
from tests.writeback_helpers import AS_OF, same_state

ERP_ENV = "TEST_PARTITION_ERP_URL"
TIMEOUT_S = 120


@contextmanager
def _env(**values: str):  # noqa: ANN202 - the code server and the run workers inherit this environment
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _run_config() -> dict:
    # the per-run options on `settings` (its config path stays $CREDITCTL_CONFIG); one process per run
    return {"resources": {"settings": {"config": {"config_path": {"env": "CREDITCTL_CONFIG"},
                                                  "as_of": AS_OF.isoformat(), "mode": "apply"}}},
            "execution": {"config": {"in_process": {}}},
            "loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _launch(instance: DagsterInstance, companies: list[str]) -> dict[str, DagsterRun]:
    """One run per company partition, created and submitted as `dagster job launch` does, all at once."""
    with WorkspaceProcessContext(instance, WorkspaceFileTarget(paths=[str(ROOT / "workspace.yaml")])) as process:
        workspace = process.create_request_context()
        location = workspace.get_code_location("creditctl")
        repo = next(iter(location.get_repositories().values()))
        job = repo.get_full_job(JOB_NAME)
        plan = location.get_execution_plan(job, _run_config(), step_keys_to_execute=None, known_state=None,
                                           instance=instance).execution_plan_snapshot
        runs = [instance.create_run(
            job_name=JOB_NAME, run_id=None, run_config=_run_config(), resolved_op_selection=None,
            step_keys_to_execute=plan.step_keys_to_execute, op_selection=None, status=None, root_run_id=None,
            parent_run_id=None, tags={**job.tags, "dagster/partition": company}, job_snapshot=job.job_snapshot,
            execution_plan_snapshot=plan, parent_job_snapshot=job.parent_job_snapshot,
            remote_job_origin=job.get_remote_origin(), job_code_origin=job.get_python_origin(),
            asset_selection=None, asset_check_selection=None, asset_graph=repo.asset_graph) for company in companies]
        for run in runs:
            instance.submit_run(run.run_id, workspace)
        try:
            poll_for_finished(instance, [r.run_id for r in runs])
        except AssertionError:
            for run in runs:  # the code server would wait for them; they must not outlive the test
                instance.run_launcher.terminate(run.run_id)
            raise
    return {company: instance.get_run_by_id(run.run_id) for company, run in zip(companies, runs, strict=True)}


def poll_for_finished(instance: DagsterInstance, run_ids: list[str]) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not all(instance.get_run_by_id(r).is_finished for r in run_ids):
        assert time.monotonic() < deadline, f"runs not finished after {TIMEOUT_S} s"
        time.sleep(0.2)


def test_two_company_partitions_run_at_once_in_their_own_processes(pg_url: str, tmp_path: Path) -> None:
    extract = synthetic_extract(80, as_of=AS_OF)
    load_extract(pg_url, extract)
    companies = sorted(extract.companies["company"])
    assert len(companies) == 2
    home, data = tmp_path / "dagster_home", tmp_path / "data"
    home.mkdir()
    # the local instance (creditctl/dagster.yaml), launching straight away as the daemon's queue would
    (home / "dagster.yaml").write_text((ROOT / "creditctl" / "dagster.yaml").read_text() + (
        "run_coordinator:\n  module: dagster._core.run_coordinator\n  class: DefaultRunCoordinator\n"))
    config = tmp_path / "creditctl.yaml"
    config.write_text(f"erp: {{kind: canonical, url_env: {ERP_ENV}, companies: [{', '.join(companies)}]}}\n"
                      f"rules: [{ROOT / 'rules' / 'credit_control.yaml'}]\nwriteback: apply\ndata_dir: {data}\n")
    store_url = f"sqlite:///{data / 'state.sqlite'}"
    StateStore(store_url).dispose()  # the schema first, as `creditctl store upgrade` does at deployment
    connector = CanonicalConnector(pg_url)
    before = connector.read_state(companies)

    with _env(DAGSTER_HOME=str(home), CREDITCTL_CONFIG=str(config), **{ERP_ENV: pg_url}), \
            DagsterInstance.get() as instance:
        runs = _launch(instance, companies)
        assert all(run.is_success for run in runs.values()), {c: r.status for c, r in runs.items()}
        workers = {c: instance.all_logs(r.run_id, of_type=DagsterEventType.RUN_START)[0].dagster_event.pid
                   for c, r in runs.items()}
        records = [instance.get_run_record_by_id(r.run_id) for r in runs.values()]
        checks = [e.dagster_event.event_specific_data for r in runs.values()
                  for e in instance.all_logs(r.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)]

    # each run in a process of its own (not this one), and the two overlapped in time
    assert len(set(workers.values())) == 2 and os.getpid() not in workers.values(), workers
    first, second = records
    assert first.start_time < second.end_time and second.start_time < first.end_time, "the runs did not overlap"
    assert checks and all(c.passed for c in checks), [c.check_name for c in checks if not c.passed]

    after = connector.read_state(companies)
    connector.close()
    engine = create_engine(pg_url)
    with engine.connect() as conn:  # what each run wrote into the ERP's outbound table, per company
        written = dict(conn.execute(text(f"SELECT company, count(*) FROM {OUTBOUND_TABLE} GROUP BY company")).all())
    engine.dispose()
    store = StateStore(store_url)
    try:
        for company, run in runs.items():
            record = store.run(run.run_id)
            assert record["status"] == "succeeded" and record["companies"] == company
            assert set(store.decisions(run.run_id)["company"]) == {company}
            audit = store.audit(run_id=run.run_id)
            assert len(audit) > 0 and set(audit["company"]) == {company}
            assert len(audit) == record["changes"] == written[company]
            assert not same_state(before, after, company=company), f"{company}'s run changed nothing"
        assert store.locks() == []  # both writeback locks released
        assert set(store.journal_pending()["company"]) == set()
    finally:
        store.dispose()

