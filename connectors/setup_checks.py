"""What the connectors' set-up reports share (``creditctl connector setup KIND``): one check per
line, and reads that report a missing grant instead of failing the whole report."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Table, literal, select
from sqlalchemy.sql import Select

from connectors.sql import SqlConnector
from etl.ports import ConnectorError


@dataclass(frozen=True)
class Check:
    """One line of the report: ``ok`` or not, what was found and what to do."""

    name: str
    ok: bool
    detail: str


def rows_or_none(connector: SqlConnector, what: str, stmt: Select) -> list | None:
    """The rows, or None when the connector's user may not read them (the read check says which)."""
    try:
        with connector._connection(what) as conn:
            return conn.execute(stmt).all()
    except ConnectorError:
        return None


def unreadable(connector: SqlConnector, tables: Iterable[Table]) -> list[str]:
    """The names of the tables the connector's user may not read: one probing SELECT each."""
    return [table.name for table in tables if rows_or_none(
        connector, f"read {table.name}", select(literal(1)).select_from(select(table).limit(1).subquery())) is None]
