"""The state store (SPEC §6.4): runs, decisions, the append-only audit trail, overrides,
writeback locks and the write-ahead journal.

SQLAlchemy Core on any URL: a SQLite file by default, PostgreSQL in production. The schema is
owned by alembic (etl/migrations); opening a store upgrades it in place.

Append-only audit: this API only inserts audit rows, and the database itself rejects UPDATE and
DELETE on ``audit`` (triggers from migration 0002, on SQLite and PostgreSQL).

Exactly-once writeback (docs/writeback.md): before a company's plan is applied to the ERP its
rows are written to ``journal`` (status ``pending``); after the ERP transaction commits, ONE
store transaction turns them into audit rows and marks them ``applied``. If the apply raises,
the company is read back at once and its rows reconciled (normally all ``dropped``). A crash between the ERP commit and that store transaction leaves
``pending`` rows: the next run, holding the lock, reads the ERP state back and reconciles them
(:meth:`StateStore.reconcile_journal`): rows the ERP shows applied get their audit row, marked
``recovered``; the others are ``dropped``, and tonight's plan is computed afresh.

Locks: one row per (ERP kind, company) in ``locks``, acquired atomically for all of a run's
companies before the plan reads the ERP state, released after the writeback (also on failure).
A lock whose holder process is gone (same host, pid not alive) or whose run is no longer
``running`` is stale and taken over; otherwise an operator clears it with ``creditctl unlock``.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
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
    and_,
    case,
    create_engine,
    delete,
    false,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import IntegrityError

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
    Column("recovered", Boolean, nullable=False, server_default=false()),
)

overrides = Table(
    "overrides", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("company", String(140), nullable=False),
    Column("customer_id", String(140), nullable=False),
    Column("kind", String(16), nullable=False),  # exempt | force_block
    Column("reason", Text, nullable=False),
    Column("created_by", String(140), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_on", Date, nullable=False),  # inclusive
    Column("removed_at", DateTime(timezone=True)),
    Column("removed_by", String(140)),
    Column("remove_reason", Text),
)

locks = Table(
    "locks", metadata,
    Column("name", String(300), primary_key=True),
    Column("run_id", String(64), nullable=False),
    Column("acquired_at", DateTime(timezone=True), nullable=False),
    Column("holder", String(300), nullable=False),  # host:pid
)

journal = Table(
    "journal", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False),
    Column("company", String(140), nullable=False),
    Column("customer_id", String(140), nullable=False),
    Column("change", String(32), nullable=False),
    Column("order_id", String(140), nullable=False),
    Column("before", Text, nullable=False),
    Column("after", Text, nullable=False),
    Column("rule_ids", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("ruleset_sha256", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # pending, applied, dropped, recovered, conflict, refused
    Column("written_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True)),
)

OVERRIDE_KINDS = ("exempt", "force_block")
#: audit ``change`` values that are not ERP changes
OVERRIDE_CHANGES = ("override_add", "override_remove")
_PLAN_COLS = ["company", "customer_id", "change", "order_id", "before", "after", "rule_ids", "reason"]


class OverrideConflict(ValueError):
    """An exempt and a force_block would be valid at once on one customer; names the existing one."""


# a date beyond Python's range (PostgreSQL has them, psycopg cannot read them) is read as the
# range's end instead of crashing every list and run
_EXPIRES_ON = case((overrides.c.expires_on > dt.date.max, dt.date.max),
                   (overrides.c.expires_on < dt.date.min, dt.date.min),
                   else_=overrides.c.expires_on).label("expires_on")
_OVERRIDE_COLUMNS = [_EXPIRES_ON if c.name == "expires_on" else c for c in overrides.c]


class LockHeld(RuntimeError):
    """Another run holds the writeback lock; the message says who and how to clear it."""


def process_holder() -> str:
    """This process as a lock holder: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def holder_gone(holder: str) -> bool:
    """True when a ``host:pid`` holder is a process of this host that no longer exists."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _alembic_config() -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the store's schema to the newest (or the given) alembic revision, in place."""
    config = _alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def ensure_folder(url: str) -> None:
    """An SQLite store's folder exists before the first connection (SQLite creates only the file)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def revisions(engine: Engine) -> tuple[str | None, str]:
    """(the store's alembic revision, or None for an empty database; the newest this code knows)."""
    config = _alembic_config()
    head = ScriptDirectory.from_config(config).get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return current, head


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _insert_frame(conn: Connection, table: Table, frame: pd.DataFrame) -> None:
    """Insert ``frame``'s rows (columns named like ``table``'s; NaN/None = NULL) through the driver's
    executemany. SQLAlchemy's per-row parameter handling cost more than the database itself
    (100k decisions into SQLite: 3.5 s against 1 s); the columns' own bind processors still apply."""
    if frame.empty:
        return
    dialect = conn.dialect
    if dialect.paramstyle not in ("qmark", "format", "pyformat"):  # pragma: no cover - no such driver here
        records = frame.astype(object).where(frame.notna(), None).to_dict("records")
        conn.execute(insert(table), records)
        return
    columns = []
    for name in frame.columns:
        series = frame[name]
        if isinstance(series.dtype, pd.DatetimeTZDtype) or series.dtype.kind == "M":  # drivers know datetime
            values = [None if pd.isna(v) else v.to_pydatetime() for v in series]
        else:
            values = series.astype(object).where(series.notna(), None).tolist()
        process = table.c[name].type.bind_processor(dialect)
        columns.append([process(v) for v in values] if process is not None else values)
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    quote = dialect.identifier_preparer.quote
    sql = (f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "
           f"({', '.join(quote(c) for c in frame.columns)}) VALUES ({', '.join([mark] * len(frame.columns))})")
    conn.exec_driver_sql(sql, list(zip(*columns, strict=True)))


class StateStore:
    """Runs, decisions and audit rows. Audit rows are only ever inserted."""

    def __init__(self, url: str) -> None:
        self.url = url
        ensure_folder(url)
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

    def ensure_run(self, run_id: str, mode: str, as_of: dt.date, companies: Sequence[str]) -> None:
        """start_run unless the run is recorded already (by itself, or by a failure sensor racing us)."""
        if self.run(run_id) is not None:
            return
        try:
            self.start_run(run_id, mode, as_of, companies)
        except IntegrityError:
            pass  # recorded in between: the same run, whoever wrote it

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

    def last_run(self, status: str = "succeeded", *, companies: Sequence[str] | None = None) -> dict | None:
        """The latest run with ``status``; with ``companies``, the latest that covered exactly those."""
        query = select(runs).where(runs.c.status == status)
        if companies is not None:
            query = query.where(runs.c.companies == ",".join(companies))
        with self.engine.connect() as conn:
            row = conn.execute(query.order_by(runs.c.started_at.desc()).limit(1)).mappings().first()
        return dict(row) if row else None

    def previous_run(self, run_id: str) -> dict | None:
        """The latest succeeded APPLIED run of the same companies that started before ``run_id``:
        what the ERP was last made to show (a dry-run wrote nothing, so it is never the one)."""
        this = self.run(run_id)
        if this is None:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(select(runs).where(runs.c.status == "succeeded", runs.c.mode == "apply",
                                                  runs.c.companies == this["companies"],
                                                  runs.c.started_at < this["started_at"])
                               .order_by(runs.c.started_at.desc()).limit(1)).mappings().first()
        return dict(row) if row else None

    # decisions ----------------------------------------------------------------------------
    def save_decisions(self, run_id: str, frame: pd.DataFrame) -> None:
        cols = [c.name for c in decisions.columns if c.name != "run_id"]
        with self.engine.begin() as conn:
            _insert_frame(conn, decisions, frame[cols].assign(run_id=run_id))

    def decisions(self, run_id: str) -> pd.DataFrame:
        with self.engine.connect() as conn:
            return pd.read_sql(select(decisions).where(decisions.c.run_id == run_id)
                               .order_by(decisions.c.company, decisions.c.customer_id), conn)

    # audit --------------------------------------------------------------------------------
    def append_audit(self, run_id: str, changes: pd.DataFrame, ruleset_sha256: str) -> int:
        """Record applied changes (PLAN_COLUMNS rows); one audit row per ERP change."""
        if changes.empty:
            return 0
        rows = changes[_PLAN_COLS].fillna("").astype(str).assign(
            run_id=run_id, applied_at=_now(), ruleset_sha256=ruleset_sha256)
        with self.engine.begin() as conn:
            _insert_frame(conn, audit, rows)
        return len(rows)

    # journal (write-ahead log of the writeback) --------------------------------------------
    def journal_write(self, run_id: str, company: str, changes: pd.DataFrame, ruleset_sha256: str) -> None:
        """Record one company's plan rows as ``pending`` BEFORE they are applied to the ERP."""
        if changes.empty:
            return
        rows = changes[_PLAN_COLS].fillna("").astype(str).assign(
            run_id=run_id, company=company, ruleset_sha256=ruleset_sha256, status="pending", written_at=_now())
        with self.engine.begin() as conn:
            _insert_frame(conn, journal, rows)

    def journal_commit(self, run_id: str, company: str) -> int:
        """After the ERP committed: audit rows for the pending rows and mark them applied, atomically."""
        return self._resolve(run_id, company, applied_ids=None, status="applied")

    def journal_drop(self, run_id: str, company: str) -> None:
        """The ERP rejected (rolled back) the company's plan: its pending rows will never apply."""
        now = _now()
        with self.engine.begin() as conn:
            conn.execute(update(journal).where(
                journal.c.run_id == run_id, journal.c.company == company, journal.c.status == "pending",
            ).values(status="dropped", resolved_at=now))

    def journal_refuse(self, run_id: str, company: str, refused: pd.DataFrame) -> int:
        """The ERP did not take these pending rows (``status`` conflict / refused per row): they are
        resolved without an audit row; the next night plans them again."""
        keys = ["customer_id", "change", "order_id"]
        now = _now()
        done = 0
        with self.engine.begin() as conn:
            for row in refused[[*keys, "status"]].fillna("").astype(str).to_dict("records"):
                done += conn.execute(update(journal).where(
                    journal.c.run_id == run_id, journal.c.company == company, journal.c.status == "pending",
                    *[journal.c[k] == row[k] for k in keys],
                ).values(status=row["status"], resolved_at=now)).rowcount
        return done

    def journal_refused(self, run_id: str) -> pd.DataFrame:
        """The run's rows the ERP did not take (status conflict or refused)."""
        with self.engine.connect() as conn:
            return pd.read_sql(select(journal).where(journal.c.run_id == run_id,
                                                     journal.c.status.in_(["conflict", "refused"])), conn)

    def journal_pending(self, companies: Sequence[str] | None = None) -> pd.DataFrame:
        query = select(journal).where(journal.c.status == "pending").order_by(journal.c.id)
        if companies:
            query = query.where(journal.c.company.in_(list(companies)))
        with self.engine.connect() as conn:
            return pd.read_sql(query, conn)

    def reconcile_journal(self, pending: pd.DataFrame, not_applied_ids: set[int]) -> tuple[int, int]:
        """Resolve pending journal rows left by a crashed run (call it holding the lock).

        Rows whose id is not in ``not_applied_ids`` (the ERP shows them applied) get their audit
        row, marked recovered, under their own run id; the others are dropped. Returns
        (recovered, dropped).
        """
        recovered = dropped = 0
        for (run_id, company), rows in pending.groupby(["run_id", "company"], sort=True):
            ids = {int(i) for i in rows["id"]}
            applied_ids = ids - not_applied_ids
            recovered += self._resolve(run_id, company, applied_ids=applied_ids, status="recovered")
            if ids - applied_ids:
                with self.engine.begin() as conn:
                    dropped += conn.execute(update(journal).where(journal.c.id.in_(sorted(ids - applied_ids)),
                                                                  journal.c.status == "pending")
                                            .values(status="dropped", resolved_at=_now())).rowcount
        return recovered, dropped

    def _resolve(self, run_id: str, company: str, *, applied_ids: set[int] | None, status: str) -> int:
        now = _now()
        where = [journal.c.run_id == run_id, journal.c.company == company, journal.c.status == "pending"]
        if applied_ids is not None:
            if not applied_ids:
                return 0
            where.append(journal.c.id.in_(sorted(applied_ids)))
        # set-based: the pending rows become audit rows and are resolved in one transaction
        source = select(*[journal.c[c] for c in _PLAN_COLS], journal.c.run_id, journal.c.ruleset_sha256,
                        literal(now, DateTime(timezone=True)), literal(status == "recovered", Boolean),
                        ).where(*where).order_by(journal.c.id)
        with self.engine.begin() as conn:
            conn.execute(insert(audit).from_select(
                [*_PLAN_COLS, "run_id", "ruleset_sha256", "applied_at", "recovered"], source))
            return conn.execute(update(journal).where(*where).values(status=status, resolved_at=now)).rowcount

    # overrides ----------------------------------------------------------------------------
    def add_override(self, company: str, customer_id: str, kind: str, expires_on: dt.date, reason: str,
                     created_by: str, *, today: dt.date | None = None) -> int:
        """A credit manager's exemption or forced block; audited (change ``override_add``).

        Raises :class:`OverrideConflict` when the customer has an override of the other kind
        valid on ``today`` (default: the local date): exempt and force_block contradict each other.
        """
        if kind not in OVERRIDE_KINDS:
            raise ValueError(f"override kind {kind!r}: use {' or '.join(OVERRIDE_KINDS)}")
        if not reason.strip():
            raise ValueError("an override needs a reason")
        now = _now()
        today = today or dt.date.today()
        with self.engine.begin() as conn:
            other = conn.execute(select(*_OVERRIDE_COLUMNS).where(
                overrides.c.company == company, overrides.c.customer_id == customer_id,
                overrides.c.kind != kind, overrides.c.removed_at.is_(None), overrides.c.expires_on >= today,
            ).order_by(overrides.c.id).limit(1)).mappings().first()
            if other is not None:
                raise OverrideConflict(
                    f"{company}/{customer_id} already has override #{other['id']} ({other['kind']} until "
                    f"{other['expires_on']}), which contradicts {kind}: remove it first "
                    f"(creditctl override remove {other['id']} --reason ...)")
            override_id = conn.execute(insert(overrides).values(
                company=company, customer_id=customer_id, kind=kind, reason=reason, created_by=created_by,
                created_at=now, expires_on=expires_on,
            )).inserted_primary_key[0]
            conn.execute(insert(audit).values(
                run_id=f"override-{override_id}", applied_at=now, company=company, customer_id=customer_id,
                change="override_add", order_id="", before="",
                after=f"{kind} until {expires_on.isoformat()} (override #{override_id}, by {created_by})",
                rule_ids=f"override:{kind}", reason=reason, ruleset_sha256="",
            ))
        return int(override_id)

    def remove_override(self, override_id: int, reason: str, removed_by: str) -> dict:
        """End an override now; audited (change ``override_remove``). Returns the override."""
        if not reason.strip():
            raise ValueError("removing an override needs a reason")
        now = _now()
        with self.engine.begin() as conn:
            row = conn.execute(select(*_OVERRIDE_COLUMNS).where(overrides.c.id == override_id)).mappings().first()
            if row is None:
                raise KeyError(f"override #{override_id} not found")
            if row["removed_at"] is not None:
                raise ValueError(f"override #{override_id} was already removed")
            conn.execute(update(overrides).where(overrides.c.id == override_id).values(
                removed_at=now, removed_by=removed_by, remove_reason=reason))
            conn.execute(insert(audit).values(
                run_id=f"override-{override_id}", applied_at=now, company=row["company"],
                customer_id=row["customer_id"], change="override_remove", order_id="",
                before=f"{row['kind']} until {row['expires_on'].isoformat()} (override #{override_id})",
                after=f"removed by {removed_by}", rule_ids=f"override:{row['kind']}", reason=reason,
                ruleset_sha256="",
            ))
        return dict(row)

    def overrides(self, *, companies: Sequence[str] | None = None, active_on: dt.date | None = None,
                  include_removed: bool = True) -> pd.DataFrame:
        """Overrides; ``active_on`` keeps those not removed and not expired on that date.

        ``expires_on`` holds Python dates (any far date works; a Timestamp would end in 2262).
        """
        query = select(*_OVERRIDE_COLUMNS).order_by(overrides.c.id)
        if companies:
            query = query.where(overrides.c.company.in_(list(companies)))
        if active_on is not None:
            query = query.where(overrides.c.removed_at.is_(None), overrides.c.expires_on >= active_on)
        elif not include_removed:
            query = query.where(overrides.c.removed_at.is_(None))
        with self.engine.connect() as conn:
            frame = pd.read_sql(query, conn)
        frame["expires_on"] = frame["expires_on"].astype(object)  # dates as read, also when empty
        return frame

    def known_customers(self, company: str) -> tuple[str | None, list[str]]:
        """(the latest run that decided ``company``, its customer ids); (None, []) without one.

        What an override can be checked against when no run config (so no ERP) is at hand.
        """
        with self.engine.connect() as conn:
            recent = conn.execute(select(runs.c.run_id, runs.c.companies)
                                  .order_by(runs.c.started_at.desc())).all()
            for run_id, companies in recent:
                if company not in str(companies).split(","):
                    continue
                ids = conn.execute(select(decisions.c.customer_id).where(
                    decisions.c.run_id == run_id, decisions.c.company == company)).scalars().all()
                if ids:
                    return run_id, list(ids)
        return None, []

    def known_companies(self) -> list[str]:
        """Every company a recorded run covered (small: one row per run)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(runs.c.companies).distinct()).scalars().all()
        return sorted({c for row in rows for c in str(row).split(",") if c})

    # locks --------------------------------------------------------------------------------
    def acquire_lock(self, names: Sequence[str], run_id: str) -> None:
        """Take the writeback locks ``names`` for ``run_id`` atomically, or raise :class:`LockHeld`."""
        names = sorted(set(names))
        for _ in range(3):
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(locks), [
                        {"name": n, "run_id": run_id, "acquired_at": _now(), "holder": process_holder()} for n in names
                    ])
                return
            except IntegrityError:
                held = self.locks(names)
                stale = [r for r in held if r["run_id"] != run_id and self._stale(r)]
                mine = [r for r in held if r["run_id"] == run_id]
                live = [r for r in held if r not in stale and r not in mine]
                if live:
                    r = live[0]
                    raise LockHeld(
                        f"another creditctl run ({r['run_id']}, started {str(r['acquired_at'])[:19]} UTC on "
                        f"{r['holder']}) holds the writeback lock for {r['name']}: wait for it to finish, or if "
                        f"it crashed, clear it with `creditctl unlock --config FILE`") from None
                with self.engine.begin() as conn:
                    for r in stale + mine:
                        conn.execute(delete(locks).where(locks.c.name == r["name"], locks.c.run_id == r["run_id"]))
                    for r in stale:
                        conn.execute(update(runs).where(runs.c.run_id == r["run_id"], runs.c.status == "running")
                                     .values(status="failed", finished_at=_now(),
                                             message="interrupted: its process is gone (lock taken over)"))
        raise LockHeld(f"could not take the writeback lock for {', '.join(names)}: retry")

    def _stale(self, lock: dict) -> bool:
        if holder_gone(lock["holder"]):
            return True
        run = self.run(lock["run_id"])
        return run is not None and run["status"] != "running"

    def release_lock(self, run_id: str, names: Sequence[str] | None = None) -> int:
        """Release the locks ``run_id`` holds (all of them when ``names`` is None)."""
        query = delete(locks).where(locks.c.run_id == run_id)
        if names is not None:
            query = query.where(locks.c.name.in_(list(names)))
        with self.engine.begin() as conn:
            return conn.execute(query).rowcount

    def break_lock(self, names: Sequence[str]) -> list[dict]:
        """Operator action (``creditctl unlock``): remove the locks whoever holds them."""
        held = self.locks(names)
        with self.engine.begin() as conn:
            for r in held:
                conn.execute(delete(locks).where(and_(locks.c.name == r["name"], locks.c.run_id == r["run_id"])))
        return held

    def locks(self, names: Sequence[str] | None = None) -> list[dict]:
        query = select(locks).order_by(locks.c.name)
        if names is not None:
            query = query.where(locks.c.name.in_(list(names)))
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

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
