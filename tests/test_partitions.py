"""Company partitions (SPEC §8): one run per company changes only that company; the schedule
asks for one run per company partition."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from dagster import build_schedule_context

from assets.definitions import GROUP, JOB_NAME, build_definitions
from creditctl.runner import run_nightly
from etl.config import run_dir
from tests.cli_helpers import run_cli
from tests.writeback_helpers import AS_OF, make_demo, same_state


def test_one_company_partition_changes_only_that_company() -> None:
    demo = make_demo(400)
    companies = demo.config.erp.companies
    assert len(companies) == 2
    first, second = companies
    before = demo.state()

    outcome = run_nightly(demo.config_path, as_of=AS_OF, mode="apply", company=first)
    assert outcome.success, outcome.message
    after = demo.state()
    assert same_state(before, after, company=second), f"{second} changed in {first}'s partition run"
    assert not same_state(before, after, company=first), f"{first}'s partition run changed nothing"

    store = demo.store()
    try:
        assert store.run(outcome.run_id)["companies"] == first
        assert set(store.decisions(outcome.run_id)["company"]) == {first}
        audit = store.audit(run_id=outcome.run_id)
        assert len(audit) > 0 and set(audit["company"]) == {first}
        plan = (run_dir(outcome.run_id) / "plan.csv").read_text()
        assert second not in plan

        # the other partition next, then one run over both: nothing left to change
        other = run_nightly(demo.config_path, as_of=AS_OF, mode="apply", company=second)
        assert other.success, other.message
        assert set(store.audit(run_id=other.run_id)["company"]) == {second}
        both = run_nightly(demo.config_path, as_of=AS_OF, mode="apply")
        assert both.success, both.message
        assert store.audit(run_id=both.run_id).empty
        assert store.run(both.run_id)["companies"] == ",".join(companies)
    finally:
        store.dispose()


def test_customer_drop_guard_compares_runs_of_the_same_company() -> None:
    """Alternating per-company runs must not read each other's customer counts as a drop."""
    demo = make_demo(300)
    first, second = demo.config.erp.companies
    for company in (first, second, first, second):
        outcome = run_nightly(demo.config_path, as_of=AS_OF, mode="dry-run", company=company)
        assert outcome.success, outcome.message


def test_schedule_requests_one_run_per_company(tmp_path: Path, monkeypatch) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("erp: {kind: demo, companies: [US01, DE01], options: {path: x.sqlite}}\nrules: [r.yaml]\n"
                      "timezone: Europe/Berlin\n")
    monkeypatch.setenv("CREDITCTL_CONFIG", str(config))
    defs = build_definitions()
    job = defs.resolve_job_def(JOB_NAME)
    assert job.partitions_def is not None
    assert job.partitions_def.get_partition_keys() == ["DE01", "US01"]
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        if graph.get(key).group_name == GROUP:
            assert graph.get(key).partitions_def == job.partitions_def, key

    schedule = defs.resolve_schedule_def("nightly_credit_control_schedule")
    tick = dt.datetime(2026, 11, 29, 2, 0, tzinfo=dt.UTC)
    requests = schedule.evaluate_tick(build_schedule_context(
        scheduled_execution_time=tick, repository_def=defs.get_repository_def())).run_requests
    assert sorted(r.partition_key for r in requests) == ["DE01", "US01"]
    assert len({r.run_key for r in requests}) == 2  # one run per company and tick, never twice


def test_unknown_company_is_a_usage_error(capsys, monkeypatch) -> None:
    demo = make_demo(50)
    result = run_cli(capsys, monkeypatch, "run", "--config", str(demo.config_path), "--company", "Nope Ltd",
                     "--as-of", str(AS_OF))
    assert result.code == 2
    assert "--company 'Nope Ltd'" in result.err and "erp.companies" in result.err
