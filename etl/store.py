"""The state store (SPEC §6.4): runs, decisions and the append-only audit trail.

SQLAlchemy Core on any URL: a SQLite file by default, PostgreSQL in production.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine

metadata = MetaData()

runs = Table(
    "runs", metadata,
    Column("run_id", String(64), primary_key=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("status", String(16), nullable=False),  # running, succeeded, failed, halted
    Column("mode", String(16), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("companies", Text, nullable=False),
    Column("ruleset_sha256", String(64)),
    Column("customers", Integer),
    Column("changes", Integer),
    Column("message", Text),
)

decisions = Table(
    "decisions", metadata,
    Column("run_id", String(64), primary_key=True),
    Column("company", String(140), primary_key=True),
    Column("customer_id", String(140), primary_key=True),
    Column("action", String(32), nullable=False),
    Column("block", Boolean, nullable=False),
    Column("hold", Boolean, nullable=False),
    Column("require_prepayment", Boolean, nullable=False),
    Column("credit_limit", Float),
    Column("new_credit_limit", Float),
    Column("rule_ids", Text, nullable=False),
    Column("reasons", Text, nullable=False),
    Column("risk_grade", String(16)),
    Column("data_incomplete", Boolean, nullable=False),
    Column("ruleset_sha256", String(64), nullable=False),
)

audit = Table(
    "audit", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False, index=True),
    Column("applied_at", DateTime(timezone=True), nullable=False),
    Column("company", String(140), nullable=False),
    Column("customer_id", String(140), nullable=False, index=True),
    Column("change", String(32), nullable=False),
    Column("order_id", String(140), nullable=False, default=""),
    Column("before", Text, nullable=False, default=""),
    Column("after", Text, nullable=False, default=""),
    Column("rule_ids", Text, nullable=False, default=""),
    Column("reason", Text, nullable=False, default=""),
    Column("ruleset_sha256", String(64), nullable=False),
)


def upgrade(engine: Engine) -> None:
    """Bring the store's schema to the newest alembic revision, in place."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class StateStore:
    """Runs, decisions and audit rows. Audit rows are only ever inserted."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = create_engine(url, future=True)
        upgrade(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()

    # runs ---------------------------------------------------------------------------------
    def start_run(self, run_id: str, mode: str, as_of: dt.date, companies: Sequence[str]) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(runs).values(
                run_id=run_id, started_at=_now(), status="running", mode=mode, as_of=as_of,
                companies=",".join(companies),
            ))

    def finish_run(self, run_id: str, status: str, *, ruleset_sha256: str | None = None,
                   customers: int | None = None, changes: int | None = None, message: str | None = None) -> None:
        values = {"finished_at": _now(), "status": status, "message": message}
        values.update({k: v for k, v in {"ruleset_sha256": ruleset_sha256, "customers": customers,
                                         "changes": changes}.items() if v is not None})
        with self.engine.begin() as conn:
            conn.execute(update(runs).where(runs.c.run_id == run_id).values(**values))

    def run(self, run_id: str) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(runs).where(runs.c.run_id == run_id)).mappings().first()
        return dict(row) if row else None

    def last_run(self, status: str = "succeeded") -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(runs).where(runs.c.status == status)
                               .order_by(runs.c.started_at.desc()).limit(1)).mappings().first()
        return dict(row) if row else None

    # decisions ----------------------------------------------------------------------------
    def save_decisions(self, run_id: str, frame: pd.DataFrame) -> None:
        cols = [c.name for c in decisions.columns if c.name != "run_id"]
        records = frame[cols].astype(object).where(frame[cols].notna(), None).to_dict("records")
        with self.engine.begin() as conn:
            if records:
                conn.execute(insert(decisions), [{"run_id": run_id, **r} for r in records])

    def decisions(self, run_id: str) -> pd.DataFrame:
        with self.engine.connect() as conn:
            return pd.read_sql(select(decisions).where(decisions.c.run_id == run_id)
                               .order_by(decisions.c.company, decisions.c.customer_id), conn)

    # audit --------------------------------------------------------------------------------
    def append_audit(self, run_id: str, changes: pd.DataFrame, ruleset_sha256: str) -> int:
        """Record applied changes (PLAN_COLUMNS rows); one audit row per ERP change."""
        if changes.empty:
            return 0
        now = _now()
        cols = ["company", "customer_id", "change", "order_id", "before", "after", "rule_ids", "reason"]
        records = changes[cols].fillna("").astype(str).to_dict("records")
        with self.engine.begin() as conn:
            conn.execute(insert(audit), [
                {"run_id": run_id, "applied_at": now, "ruleset_sha256": ruleset_sha256, **r} for r in records
            ])
        return len(records)

    def audit(self, *, companies: Sequence[str] | None = None, customer_id: str | None = None,
              run_id: str | None = None) -> pd.DataFrame:
        query = select(audit).order_by(audit.c.id)
        if companies:
            query = query.where(audit.c.company.in_(list(companies)))
        if customer_id:
            query = query.where(audit.c.customer_id == customer_id)
        if run_id:
            query = query.where(audit.c.run_id == run_id)
        with self.engine.connect() as conn:
            return pd.read_sql(query, conn)
