"""The state store on SQLite and on the machine's PostgreSQL: migrations, runs, decisions, audit."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from etl.store import StateStore


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
    assert {"runs", "decisions", "audit", "alembic_version"} <= tables
    again = StateStore(store.url)
    with again.engine.connect() as conn:
        assert conn.execute(sa.text("select version_num from alembic_version")).scalar() == "0001"
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
