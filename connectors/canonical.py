"""The canonical connector (SPEC §7): any SQLAlchemy URL with the six SPEC §3 tables or views.

``CanonicalConnector(url, options)`` reads ``companies``, ``customers``, ``open_items``,
``open_orders``, ``payments`` and ``fx_rates`` (names and columns as SPEC §3, see
:mod:`connectors.canonical_schema`) and never writes them: the source is read-only for
creditctl. ``apply`` inserts the plan rows into the outbound table ``creditctl_decisions_out``,
one transaction per company; the ERP imports them and sets ``imported_at``. Until then
``read_state`` shows the source state overlaid with the pending outbound rows, so a rerun plans
nothing new and the read-back verification passes. Contract: docs/connectors/canonical.md.

Options (``erp.options``): ``schema`` (schema / database of the tables), ``prefix`` (table-name
prefix of the six source tables), ``chunk_size`` (rows per round trip, default 50000).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import String, Table, insert, inspect, select, type_coerce
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql import Select
from sqlalchemy.sql.sqltypes import NullType
from sqlalchemy.types import TypeEngine

from connectors.canonical_schema import CanonicalTables, canonical_tables
from connectors.plans import ORDER_CHANGES as _ORDER_CHANGES
from connectors.plans import PlanError, validate_plan  # noqa: F401 - part of this module's API
from connectors.sql import SqlConnector, compact_frame, read_frame, stream
from etl.plan import SUBJECT
from etl.ports import PROVENANCE_COLUMNS, ConnectorError, ErpProvenance
from validation.contracts import empty_frame

#: options the connector understands (erp.options in the run config)
OPTIONS = {
    "schema": "schema (PostgreSQL) / database (MariaDB) holding the tables; default the URL's",
    "prefix": "table-name prefix of the six source tables (e.g. 'erp_' -> erp_customers); default none",
    "chunk_size": "rows fetched per round trip when streaming reads (default 50000)",
}

#: entities read with compact text columns (connectors.sql.read_frame ``compact``): the big ones,
#: where a Python ``str`` per cell was most of the extract's memory. companies and fx_rates (a
#: handful of rows) keep object columns, as do the state reads (read_state)
COMPACT_ENTITIES = frozenset({"customers", "open_items", "open_orders", "open_deliveries", "payments"})

#: sort keys of each entity's frame (rows come back in this order)
KEYS = {
    "companies": ["company"],
    "customers": ["company", "customer_id"],
    "open_items": ["company", "item_id"],
    "open_orders": ["company", "order_id"],
    "open_deliveries": ["company", "delivery_id"],
    "payments": ["company", "item_id"],
    "fx_rates": ["from_currency", "to_currency", "as_of"],
}

STATE_CUSTOMER_COLUMNS = ["company", "customer_id", "is_blocked", "on_prepayment", "credit_limit", "payment_terms"]
STATE_ORDER_COLUMNS = ["company", "order_id", "customer_id", "on_hold"]

#: a pending row's effect on the state: change -> (column, value); set_limit takes ``after``
_EFFECT = {
    "block": ("is_blocked", True), "unblock": ("is_blocked", False),
    "set_prepayment": ("on_prepayment", True), "unset_prepayment": ("on_prepayment", False),
    "hold_order": ("on_hold", True), "release_order": ("on_hold", False),
}
_IN_CHUNK = 1000


class CanonicalConnector(SqlConnector):
    """etl.ports.ErpConnector over the SPEC §3 tables/views at any SQLAlchemy URL.

    The engine is created on first use; connection problems raise
    :class:`etl.ports.ConnectorError` naming ``erp.url_env``, never showing the password.
    """

    def __init__(self, url: str, options: dict[str, Any] | None = None) -> None:
        opts = dict(options or {})
        self._init_sql(url, opts, set(OPTIONS))
        self.schema = str(opts["schema"]) if opts.get("schema") else None
        self.prefix = str(opts.get("prefix") or "")
        self.tables: CanonicalTables = canonical_tables(self.schema, self.prefix)

    # ------------------------------------------------------------------ engine / errors

    # ------------------------------------------------------------------ reads

    def _stream(self, conn: Connection, stmt: Select) -> Iterator[pd.DataFrame]:
        return stream(conn, stmt, self.chunk_size)

    def _read(self, conn: Connection, entity: str, stmt: Select, compact: bool = False) -> pd.DataFrame:
        # PostgreSQL streams through COPY + Arrow (connectors.sql.read_frame), the rest by cursor
        return read_frame(conn, stmt, empty_frame(entity), self.chunk_size, sort=KEYS[entity], compact=compact)

    def _column_types(self, conn: Connection, table: Table) -> dict[str, TypeEngine]:
        """The database's own types of ``table``'s columns (a view's too), or {} where it cannot say.

        Only PostgreSQL reads through COPY, which turns every value into text: there the select
        must know which number and date columns are text in the database (read in the data
        contract's grammar, :func:`connectors.sql.coerce`) and which text columns are not text
        (read by cursor, as the driver's objects). Elsewhere every read is by cursor: no need.
        """
        if conn.dialect.name != "postgresql":
            return {}
        try:
            return {c["name"]: c["type"] for c in inspect(conn).get_columns(table.name, schema=table.schema)}
        except SQLAlchemyError:  # no catalogue access: the select stays untyped, read by cursor
            return {}

    def _select(self, entity: str, companies: Sequence[str] | None,
                types: dict[str, TypeEngine] | None = None) -> Select:
        table: Table = getattr(self.tables, entity)
        # values as the driver gives them: SQLAlchemy's Numeric would make float("5.000") or
        # float("1_000") of a text column; coerce and the contract read text in their grammar.
        # With the database's ``types``: a text column stays text (String), any other column is
        # untyped (NullType) unless its frame column is text, where its real type keeps it off COPY
        template = empty_frame(entity)
        types = types or {}
        columns = []
        for name, dtype in template.dtypes.items():
            real = types.get(name)
            if pd.api.types.is_object_dtype(dtype):
                columns.append(table.c[name] if real is None or isinstance(real, String)
                               else type_coerce(table.c[name], real).label(name))
            elif isinstance(real, String):
                columns.append(type_coerce(table.c[name], String()).label(name))
            else:
                columns.append(type_coerce(table.c[name], NullType()).label(name))
        stmt = select(*columns)
        if companies is not None:
            stmt = stmt.where(table.c.company.in_(list(dict.fromkeys(map(str, companies)))))
        return stmt

    def _read_entity(self, entity: str, companies: Sequence[str] | None, compact: bool = True) -> pd.DataFrame:
        """One entity's rows of ``companies`` (all with None); text compact for COMPACT_ENTITIES
        unless ``compact`` is False."""
        compact = compact and entity in COMPACT_ENTITIES
        if companies is not None and not companies:
            return compact_frame(empty_frame(entity)) if compact else empty_frame(entity)
        table = getattr(self.tables, entity)
        with self._connection(f"read {table.fullname}") as conn:
            return self._read(conn, entity, self._select(entity, companies, self._column_types(conn, table)), compact)

    def read_companies(self, companies: Sequence[str]) -> pd.DataFrame:
        return self._read_entity("companies", companies)

    def read_customers(self, companies: Sequence[str]) -> pd.DataFrame:
        return self._read_entity("customers", companies)

    def read_open_items(self, companies: Sequence[str]) -> pd.DataFrame:
        return self._read_entity("open_items", companies)

    def read_open_orders(self, companies: Sequence[str]) -> pd.DataFrame:
        return self._read_entity("open_orders", companies)

    def read_payments(self, companies: Sequence[str]) -> pd.DataFrame:
        return self._read_entity("payments", companies)

    def read_open_deliveries(self, companies: Sequence[str]) -> pd.DataFrame:
        """The optional ``open_deliveries`` view; none where the database has no such view."""
        table = self.tables.open_deliveries
        with self._connection(f"look for {table.fullname}") as conn:
            present = inspect(conn).has_table(table.name, schema=table.schema)
        return self._read_entity("open_deliveries", companies) if present else compact_frame(empty_frame("open_deliveries"))

    def read_fx_rates(self, companies: Sequence[str]) -> pd.DataFrame:
        """All rows of fx_rates (rates are not per company)."""
        return self._read_entity("fx_rates", None)

    # ------------------------------------------------------------------ state

    def read_pending(self, companies: Sequence[str]) -> pd.DataFrame:
        """Outbound rows of ``companies`` the ERP has not imported yet (imported_at is null), by id."""
        out = self.tables.decisions_out
        cols = ["id", "company", "customer_id", "change", "order_id", "after"]
        if not companies:
            return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
        stmt = (select(*[out.c[c] for c in cols])
                .where(out.c.company.in_(list(dict.fromkeys(map(str, companies)))), out.c.imported_at.is_(None))
                .order_by(out.c.id))
        with self._connection(f"read {out.fullname}") as conn:
            parts = list(self._stream(conn, stmt))
        if not parts:
            return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
        return pd.concat(parts, ignore_index=True)

    def read_provenance(self, companies: Sequence[str]) -> ErpProvenance:
        """Every plan row this tool wrote into the outbound table, oldest first: its full provenance."""
        out = self.tables.decisions_out
        if not companies:
            return ErpProvenance(changes=pd.DataFrame(columns=PROVENANCE_COLUMNS), marked=False)
        stmt = (select(out.c.company, out.c.customer_id, out.c.change, out.c.order_id, out.c.before, out.c.after,
                       out.c.rule_ids, out.c.created_at.label("applied_at"))
                .where(out.c.company.in_(list(dict.fromkeys(map(str, companies))))).order_by(out.c.id))
        with self._connection(f"read {out.fullname}") as conn:
            parts = list(self._stream(conn, stmt))
        changes = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=PROVENANCE_COLUMNS)
        return ErpProvenance(changes=changes.fillna({"order_id": "", "before": "", "after": ""}), marked=False)

    def read_state(self, companies: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Source state overlaid with the latest pending outbound row per (customer, subject).

        block/unblock -> is_blocked, set/unset_prepayment -> on_prepayment, set_limit ->
        credit_limit, hold/release_order -> that order's on_hold. ``payment_terms`` is '' (the
        canonical customers carry no terms value; the ERP restores its own on unset_prepayment).
        """
        # object columns, as the plan, the journal and the read-back compare them (and small)
        customers = self._read_entity("customers", companies, compact=False)
        orders = self._read_entity("open_orders", companies, compact=False)
        customers = customers.assign(payment_terms="")[STATE_CUSTOMER_COLUMNS]
        orders = orders[STATE_ORDER_COLUMNS].copy()
        pending = self.read_pending(companies) if companies else None
        if pending is not None and not pending.empty:
            customers, orders = overlay(customers, orders, pending)
        return customers.reset_index(drop=True), orders.reset_index(drop=True)

    # ------------------------------------------------------------------ write

    def apply(self, company: str, changes: pd.DataFrame) -> int:
        """Insert one company's plan rows into creditctl_decisions_out in ONE transaction.

        The plan is checked first (change kinds, company, customer and order ids present in the
        source views); any problem, or a database error on any row, writes nothing.
        """
        plan = validate_plan(company, changes)
        if plan.empty:
            return 0
        out = self.tables.decisions_out
        with self._connection(f"write the plan for {company!r} into {out.fullname}", begin=True) as conn:
            self._check_known(conn, company, plan)
            now = datetime.now(UTC).replace(tzinfo=None)
            batch = str(uuid.uuid4())
            rows = [{"batch_id": batch, "company": company, "customer_id": r.customer_id, "change": r.change,
                     "order_id": r.order_id, "before": r.before, "after": r.after,
                     "rule_ids": r.rule_ids or None, "reason": r.reason or None,
                     "created_at": now, "imported_at": None}
                    for r in plan.itertuples(index=False)]
            for start in range(0, len(rows), self.chunk_size):
                conn.execute(insert(out), rows[start:start + self.chunk_size])
        return len(rows)

    def _existing(self, conn: Connection, table: Table, column: str, company: str, values: Sequence[str]) -> set[str]:
        found: set[str] = set()
        values = sorted(set(values))
        for start in range(0, len(values), _IN_CHUNK):
            part = values[start:start + _IN_CHUNK]
            found.update(conn.execute(select(table.c[column]).where(
                table.c.company == company, table.c[column].in_(part))).scalars())
        return found

    def _check_known(self, conn: Connection, company: str, plan: pd.DataFrame) -> None:
        customers = plan["customer_id"].astype(str).tolist()
        unknown = sorted(set(customers) - self._existing(conn, self.tables.customers, "customer_id", company,
                                                         customers))
        if unknown:
            raise _fail(company, f"unknown customer(s) in {self.tables.customers.fullname}", unknown)
        orders = plan.loc[plan["change"].isin(list(_ORDER_CHANGES)), "order_id"].astype(str).tolist()
        if orders:
            unknown = sorted(set(orders) - self._existing(conn, self.tables.open_orders, "order_id", company, orders))
            if unknown:
                raise _fail(company, f"unknown order(s) in {self.tables.open_orders.fullname}", unknown)


def _fail(company: str, what: str, names: Sequence[str]) -> ConnectorError:
    shown = ", ".join(repr(n) for n in list(names)[:5]) + (" …" if len(names) > 5 else "")
    return ConnectorError(f"apply {company!r}: {what}: {shown}; nothing was written for the company")


def overlay(customers: pd.DataFrame, orders: pd.DataFrame,
            pending: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """State with the latest pending outbound row per (company, customer_id, subject[, order]) on top."""
    p = pending.assign(
        subject=pending["change"].map(SUBJECT),
        order_id=pending["order_id"].fillna("").astype(str),
        company=pending["company"].astype(str), customer_id=pending["customer_id"].astype(str),
    ).dropna(subset=["subject"])
    p = p.sort_values("id", kind="stable")
    customers = customers.copy()
    orders = orders.copy()
    cust = p[p["subject"] != "hold"].drop_duplicates(["company", "customer_id", "subject"], keep="last")
    ckey = pd.MultiIndex.from_frame(customers[["company", "customer_id"]].astype(str))
    for subject, column in (("block", "is_blocked"), ("prepayment", "on_prepayment"), ("limit", "credit_limit")):
        rows = cust[cust["subject"] == subject]
        if rows.empty:
            continue
        if subject == "limit":
            values = pd.to_numeric(rows["after"], errors="coerce").to_numpy()
        else:
            values = rows["change"].map(lambda c: _EFFECT[c][1]).to_numpy(dtype=bool)
        lookup = pd.Series(values, index=pd.MultiIndex.from_frame(rows[["company", "customer_id"]]))
        hit = ckey.isin(lookup.index)
        if hit.any():
            new = lookup.reindex(ckey[hit]).to_numpy()
            customers.loc[hit, column] = new.astype(customers[column].dtype)
    holds = p[p["subject"] == "hold"].drop_duplicates(["company", "order_id"], keep="last")
    if not holds.empty:
        okey = pd.MultiIndex.from_frame(orders[["company", "order_id"]].astype(str))
        lookup = pd.Series(holds["change"].map(lambda c: _EFFECT[c][1]).to_numpy(dtype=bool),
                           index=pd.MultiIndex.from_frame(holds[["company", "order_id"]]))
        hit = okey.isin(lookup.index)
        if hit.any():
            orders.loc[hit, "on_hold"] = lookup.reindex(okey[hit]).to_numpy(dtype=bool)
    return customers, orders


__all__ = ["OPTIONS", "CanonicalConnector", "PlanError", "overlay", "validate_plan"]
