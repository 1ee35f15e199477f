"""The deployment examples in docs/ work: the PostgreSQL instance of docs/deploy/dagster.yaml keeps
the nightly run's history in PostgreSQL, and `make`'s instance config is valid."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from dagster import DagsterInstance, DagsterRunStatus
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from creditctl.runner import run_nightly
from tests.conftest import ROOT
from tests.writeback_helpers import AS_OF, make_demo


def test_postgres_instance_example_keeps_run_history(pg_url: str, tmp_path: Path, monkeypatch) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "docs" / "deploy" / "dagster.yaml", home / "dagster.yaml")
    # psycopg2 explicitly: SQLAlchemy 2.1 defaults postgresql:// to psycopg 3, whose server-side
    # parameters break dagster-postgres's NOTIFY
    monkeypatch.setenv("DAGSTER_PG_URL", make_url(pg_url).set(drivername="postgresql+psycopg2").render_as_string(False))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    demo = make_demo(100)

    outcome = run_nightly(demo.config_path, as_of=AS_OF, mode="dry-run", company=demo.config.erp.companies[0])
    assert outcome.success, outcome.message

    with DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        run = instance.get_run_by_id(outcome.run_id)
        assert run is not None and run.status == DagsterRunStatus.SUCCESS
        assert run.tags.get("dagster/partition") == demo.config.erp.companies[0]
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM runs WHERE run_id = :r"), {"r": outcome.run_id}).scalar() == 1
    engine.dispose()


def test_make_writes_a_valid_instance_config(tmp_path: Path) -> None:
    home = tmp_path / "home"
    subprocess.run(["make", "-s", f"DAGSTER_HOME={home}", f"{home}/dagster.yaml"], cwd=ROOT, check=True)
    with DagsterInstance.from_config(str(home)) as instance:
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 1
        assert not instance.run_retries_retry_on_asset_or_op_failure
