"""OdooConnector: etl.ports.ErpConnector over an Odoo 17 / 18 PostgreSQL database."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import select, text
from sqlalchemy.engine import Connection

from connectors.odoo import read, write
from connectors.odoo.tables import ADDON, HOLD_COLUMNS, SETUP_DDL, VERSIONS, OdooTables, tables
from connectors.sql import SqlConnector
from etl.ports import ConnectorError, ErpProvenance
from validation.contracts import empty_frame

DEFAULT_VERSION = 18
DEFAULT_PREPAYMENT_TERM = "Prepayment"
#: options the connector understands (erp.options in the run config)
OPTIONS = {
    "version": "Odoo major version, 17 (ir_property) or 18 (jsonb company-dependent fields); default 18",
    "prepayment_term": "name (en_US) of the account.payment.term meaning 'on prepayment' (default Prepayment)",
    "chunk_size": "rows parsed at a time when streaming reads (default 50000)",
    "require_addon": "refuse apply unless the addon creditctl_credit_control is installed (default true); "
                     "false accepts that Odoo enforces only the limits and payment terms",
}
#: apply's refusal without the addon: the holds and blocks would be written but not enforced (SPEC §6.3)
WHY_INERT = ("the holds and blocks would be inert (Odoo's ORM does not know x_credit_hold and sale_warn=block "
             "acts only in the order form)")
INERT = ("the Odoo addon creditctl_credit_control is not installed ({state}): " + WHY_INERT + "; install the "
         "addon (docs/connectors/odoo.md#installing-the-addon) or set erp.options.require_addon: false to accept "
         "that only limits and payment terms are enforced")

class OdooConnector(SqlConnector):
    """Read the canonical frames from Odoo tables and apply writeback plans.

    ``url`` is a SQLAlchemy PostgreSQL URL (``postgresql+psycopg://…``). The engine is created on
    first use; connection problems raise :class:`etl.ports.ConnectorError` naming ``erp.url_env``,
    never showing the password.
    """

    def __init__(self, url: str, options: dict[str, Any] | None = None) -> None:
        opts = dict(options or {})
        self._init_sql(url, opts, set(OPTIONS))
        try:
            self.version = int(opts.get("version") or DEFAULT_VERSION)
        except (TypeError, ValueError):
            raise ConnectorError(f"erp.options.version: {opts.get('version')!r} is not 17 or 18") from None
        if self.version not in VERSIONS:
            raise ConnectorError(f"erp.options.version: {self.version} is not supported (use 17 or 18)")
        self.prepayment_term = str(opts.get("prepayment_term") or DEFAULT_PREPAYMENT_TERM)
        require = opts.get("require_addon", True)
        if not isinstance(require, bool):  # a typo such as "no" must not switch the safety off
            raise ConnectorError(f"erp.options.require_addon: {require!r} is not true or false")
        self.require_addon = require
        self.tables = tables(self.version)

    # ------------------------------------------------------------------ reads

    def read_companies(self, companies: Sequence[str]) -> pd.DataFrame:
        if not companies:
            return empty_frame("companies")
        with self._connection("read res_company") as conn:
            return read.read_companies(conn, self.tables, companies, self.chunk_size)

    def read_customers(self, companies: Sequence[str]) -> pd.DataFrame:
        if not companies:
            return empty_frame("customers")
        with self._connection("read customers") as conn:
            raw = read.read_customers_raw(conn, self.tables, companies, self.chunk_size, self.prepayment_term)
        return raw.drop(columns="payment_terms")

    def read_open_items(self, companies: Sequence[str]) -> pd.DataFrame:
        if not companies:
            return empty_frame("open_items")
        with self._connection("read open items") as conn:
            return read.read_open_items(conn, self.tables, companies, self.chunk_size)

    def read_open_orders(self, companies: Sequence[str]) -> pd.DataFrame:
        if not companies:
            return empty_frame("open_orders")
        with self._connection("read open orders") as conn:
            return read.read_open_orders(conn, self.tables, companies, self.chunk_size)

    def read_open_deliveries(self, companies: Sequence[str]) -> pd.DataFrame:
        """None: Odoo delivers against sale orders, whose amount to invoice already counts what
        was delivered and not invoiced (docs/connectors/odoo.md)."""
        return empty_frame("open_deliveries")

    def read_payments(self, companies: Sequence[str]) -> pd.DataFrame:
        if not companies:
            return empty_frame("payments")
        with self._connection("read payment history") as conn:
            return read.read_payments(conn, self.tables, companies, self.chunk_size)

    def read_fx_rates(self, companies: Sequence[str]) -> pd.DataFrame:
        if not companies:
            return empty_frame("fx_rates")
        with self._connection("read res_currency_rate") as conn:
            return read.read_fx_rates(conn, self.tables, companies, self.chunk_size)

    def read_state(self, companies: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
        if not companies:
            customers = empty_frame("customers").assign(payment_terms=pd.Series([], dtype=object))
            return customers[read.STATE_CUSTOMER_COLUMNS], empty_frame("open_orders")[read.STATE_ORDER_COLUMNS]
        with self._connection("read the ERP state") as conn:
            customers = read.read_customers_raw(conn, self.tables, companies, self.chunk_size, self.prepayment_term)
            orders = read.read_open_orders(conn, self.tables, companies, self.chunk_size)
        return (customers[read.STATE_CUSTOMER_COLUMNS].reset_index(drop=True),
                orders[read.STATE_ORDER_COLUMNS].reset_index(drop=True))

    # ------------------------------------------------------------------ write

    def read_provenance(self, companies: Sequence[str]) -> ErpProvenance:
        """Odoo keeps no history of SQL writes: nothing to recover. Markers: an order on
        ``x_credit_hold`` or a partner on ``sale_warn = 'block'`` whose reason creditctl wrote
        (it begins with write.MARK; a person's block says something else). A limit cut leaves no
        marker (docs/writeback.md)."""
        so, rp = self.tables.sale_order, self.tables.res_partner
        mark = write.MARK + "%"  # MARK has no LIKE wildcard in it
        with self._connection("look for creditctl's earlier writes") as conn:
            held = (conn.execute(select(so.c.id).where(so.c.x_credit_hold.is_(True),
                                                       so.c.x_credit_hold_reason.like(mark)).limit(1)).first()
                    if read.has_custom_fields(conn) else None)
            blocked = conn.execute(select(rp.c.id).where(rp.c.sale_warn == "block",
                                                         rp.c.sale_warn_msg.like(mark)).limit(1)).first()
        return ErpProvenance(changes=None, marked=held is not None or blocked is not None)

    def apply(self, company: str, changes: pd.DataFrame) -> int:
        """Apply one company's plan rows in ONE transaction (see connectors.odoo.write)."""
        plan = write.validate_plan(company, changes)
        if plan.empty:
            return 0
        with self._connection(f"write the plan for {company!r}", begin=True) as conn:
            if self.require_addon:  # checked in the write transaction, before any statement writes
                state = addon_state(conn, self.tables)
                if state != "installed":
                    raise ConnectorError(f"apply {company!r}: " + INERT.format(state=state or "not in ir_module_module")
                                         + "; nothing was written")
            return write.apply_plan(conn, self.tables, company, plan, prepayment_term=self.prepayment_term)


def addon_state(conn: Connection, t: OdooTables) -> str | None:
    """``ir_module_module.state`` of creditctl's addon (None: Odoo does not know it). Only
    'installed' means Odoo enforces the holds: 'to install' / 'to upgrade' wait for a server run."""
    m = t.ir_module_module
    return conn.execute(select(m.c.state).where(m.c.name == ADDON)).scalar()


def missing_hold_fields(conn: Connection) -> list[str]:
    """The sale_order hold columns that do not exist (information_schema: any user may read it)."""
    found = read.existing_columns(conn, "sale_order", list(HOLD_COLUMNS))
    return [c for c in HOLD_COLUMNS if c not in found]


def add_hold_fields(database: OdooConnector) -> list[str]:
    """Add the missing hold columns to sale_order (as the table's owner); returns those added.

    The DDL runs only when a column is missing: ALTER TABLE needs the owner even with IF NOT
    EXISTS, and this way a set-up run with the read user's URL checks that user's grants.
    """
    with database._connection("add the credit-hold fields to sale_order", begin=True) as conn:
        missing = missing_hold_fields(conn)
        if missing:
            for ddl in SETUP_DDL:
                conn.execute(text(ddl))
    return missing


def setup(url: str) -> list[str]:
    """Add sale_order.x_credit_hold (boolean, default false) and x_credit_hold_reason (text) if missing.

    Idempotent; returns the columns that were added (empty when they already existed). Raises
    :class:`ConnectorError` naming ``erp.url_env`` when the database cannot be reached. The checks
    of ``creditctl connector setup odoo`` are in :mod:`connectors.odoo.setup`.
    """
    database = OdooConnector(url)
    try:
        return add_hold_fields(database)
    finally:
        database.close()
