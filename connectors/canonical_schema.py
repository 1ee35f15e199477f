"""The canonical connector's tables (SPEC §3, §7) as SQLAlchemy Core definitions.

Six source tables (or views of the same name and shape) the ERP side provides, named after the
entities — ``companies``, ``customers``, ``open_items``, ``open_orders``, ``payments``,
``fx_rates`` — optionally with a table-name prefix and in a schema, plus the outbound table
``creditctl_decisions_out`` creditctl writes its plan rows into and the ERP imports.

:func:`load_extract` creates the tables and bulk-inserts an :class:`etl.extract.Extract`
(tests, benchmarks, a quick start). In production the six are usually views over the ERP.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    create_engine,
    insert,
)

from etl.extract import Extract

#: the outbound table's name (in the same schema as the source tables, never prefixed)
OUTBOUND_TABLE = "creditctl_decisions_out"
#: rows per INSERT round trip in :func:`load_extract`
LOAD_CHUNK = 10_000

_KEY = 140  # company, customer, document keys (ERPNext's varchar(140))


def _money(name: str, nullable: bool = False) -> Column:
    # asdecimal=False: every driver returns float (pymysql and psycopg would return Decimal)
    return Column(name, Numeric(21, 6, asdecimal=False), nullable=nullable)


@dataclass(frozen=True)
class CanonicalTables:
    """The six source tables and the outbound table, bound to one MetaData."""

    metadata: MetaData
    companies: Table
    customers: Table
    open_items: Table
    open_orders: Table
    payments: Table
    fx_rates: Table
    decisions_out: Table
    open_deliveries: Table  # optional: read only where the view exists

    def source(self) -> dict[str, Table]:
        """Entity name -> source table."""
        return {name: getattr(self, name) for name in Extract.entities()}


def canonical_tables(schema: str | None = None, prefix: str = "") -> CanonicalTables:
    """Table definitions; source tables are named ``<prefix><entity>`` in ``schema``."""
    md = MetaData(schema=schema or None)

    def key(name: str, nullable: bool = False) -> Column:
        return Column(name, String(_KEY), nullable=nullable)

    companies = Table(
        f"{prefix}companies", md,
        key("company"),
        Column("currency", String(3), nullable=False),
    )
    customers = Table(
        f"{prefix}customers", md,
        key("company"),
        key("customer_id"),
        Column("name", String(255), nullable=False),
        Column("country", String(2)),
        Column("currency", String(3), nullable=False),
        _money("credit_limit", nullable=True),
        Column("payment_terms_days", Integer, nullable=False),
        Column("customer_since", Date, nullable=False),
        Column("segment", String(_KEY)),
        _money("insured_limit", nullable=True),
        Column("external_rating", Integer),
        Column("is_blocked", Boolean, nullable=False),
        Column("on_prepayment", Boolean, nullable=False),
        Index(f"ix_{prefix}customers_key", "company", "customer_id"),
    )
    open_items = Table(
        f"{prefix}open_items", md,
        key("company"),
        key("item_id"),
        key("customer_id"),
        Column("doc_type", String(32), nullable=False),
        Column("doc_date", Date, nullable=False),
        Column("due_date", Date, nullable=False),
        _money("amount"),
        _money("open_amount"),
        Column("currency", String(3), nullable=False),
        Column("dunning_level", Integer, nullable=False),
        Index(f"ix_{prefix}open_items_key", "company", "item_id"),
    )
    open_orders = Table(
        f"{prefix}open_orders", md,
        key("company"),
        key("order_id"),
        key("customer_id"),
        Column("order_date", Date, nullable=False),
        _money("open_amount"),
        Column("currency", String(3), nullable=False),
        Column("on_hold", Boolean, nullable=False),
        Index(f"ix_{prefix}open_orders_key", "company", "order_id"),
    )
    open_deliveries = Table(
        f"{prefix}open_deliveries", md,
        key("company"),
        key("delivery_id"),
        key("customer_id"),
        Column("delivery_date", Date, nullable=False),
        _money("open_amount"),
        Column("currency", String(3), nullable=False),
        Index(f"ix_{prefix}open_deliveries_key", "company", "delivery_id"),
    )
    payments = Table(
        f"{prefix}payments", md,
        key("company"),
        key("item_id"),
        key("customer_id"),
        Column("doc_date", Date, nullable=False),
        Column("due_date", Date, nullable=False),
        Column("paid_date", Date, nullable=False),
        _money("amount"),
        Column("currency", String(3), nullable=False),
        Index(f"ix_{prefix}payments_key", "company", "item_id"),
    )
    fx_rates = Table(
        f"{prefix}fx_rates", md,
        Column("from_currency", String(3), nullable=False),
        Column("to_currency", String(3), nullable=False),
        Column("rate", Numeric(21, 9, asdecimal=False), nullable=False),
        Column("as_of", Date, nullable=False),
    )
    decisions_out = Table(
        OUTBOUND_TABLE, md,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("batch_id", String(36), nullable=False),  # one per apply (one company's plan)
        key("company"),
        key("customer_id"),
        Column("change", String(32), nullable=False),
        Column("order_id", String(_KEY), nullable=False, default=""),  # '' unless an order change
        Column("before", String(255), nullable=False, default=""),
        Column("after", String(255), nullable=False, default=""),
        Column("rule_ids", Text),
        Column("reason", Text),
        Column("created_at", DateTime, nullable=False),  # UTC
        Column("imported_at", DateTime),  # set by the ERP side once it applied the row
        Index("ix_creditctl_decisions_out_pending", "company", "imported_at"),
    )
    return CanonicalTables(md, companies, customers, open_items, open_orders, payments, fx_rates, decisions_out,
                           open_deliveries)


def _records(frame: pd.DataFrame, table: Table) -> Iterator[list[dict]]:
    """``frame`` as driver-native row dicts (None for nulls, date for dates), in chunks."""
    cols: dict[str, list] = {}
    for name in [c.name for c in table.columns if c.name in frame.columns]:
        s = frame[name]
        if s.dtype.kind == "M":
            values = s.dt.date.astype(object).where(s.notna(), None).tolist()
        else:
            values = s.astype(object).where(s.notna(), None).tolist()
        cols[name] = values
    names = list(cols)
    rows = [dict(zip(names, row, strict=True)) for row in zip(*cols.values(), strict=True)]
    for start in range(0, len(rows), LOAD_CHUNK):
        yield rows[start:start + LOAD_CHUNK]


def load_extract(url: str, extract: Extract, schema: str | None = None, prefix: str = "") -> CanonicalTables:
    """Create the canonical tables at ``url`` (if missing) and bulk-insert ``extract`` into them."""
    tables = canonical_tables(schema, prefix)
    engine = create_engine(url)
    try:
        tables.metadata.create_all(engine)
        with engine.begin() as conn:
            for name, table in tables.source().items():
                for chunk in _records(getattr(extract, name), table):
                    conn.execute(insert(table), chunk)
    finally:
        engine.dispose()
    return tables
