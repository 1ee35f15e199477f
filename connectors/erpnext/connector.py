"""ErpNextConnector: etl.ports.ErpConnector over an ERPNext database (SQLAlchemy URL)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from connectors.erpnext import provenance, read, write
from connectors.sql import SqlConnector
from etl.ports import ConnectorError, ErpProvenance
from validation.contracts import empty_frame

DEFAULT_PREPAYMENT_TERMS = "Prepayment"

#: options the connector understands (erp.options in the run config)
OPTIONS = {
    "prepayment_terms": "payment terms template meaning 'on prepayment' (default Prepayment)",
    "chunk_size": "rows fetched per round trip when streaming reads (default 50000)",
    "order_amounts": "'base' (default: base_grand_total in company currency) or 'document'",
    "tool_user": "the ERP user creditctl's changes are attributed to: owner of its tabVersion rows and "
                 "comments (default creditctl)",
    "comment_owner": "former name of tool_user",
}


class ErpNextConnector(SqlConnector):
    """Read the canonical frames from ERPNext tables and apply writeback plans.

    ``url`` is a SQLAlchemy URL (``mysql+pymysql://…``, ``mysql+pyodbc://…``, ``sqlite:///…``).
    The engine is created on first use; connection problems raise
    :class:`etl.ports.ConnectorError` naming the setting to fix, never showing the password.
    """

    #: option keys accepted besides OPTIONS (the demo connector's ``path``)
    extra_options: frozenset[str] = frozenset()

    def __init__(self, url: str, options: dict[str, Any] | None = None) -> None:
        opts = dict(options or {})
        self._init_sql(url, opts, set(OPTIONS) | self.extra_options)
        self.prepayment_terms = str(opts.get("prepayment_terms") or DEFAULT_PREPAYMENT_TERMS)
        self.order_amounts = str(opts.get("order_amounts") or "base")
        if self.order_amounts not in ("base", "document"):
            raise ConnectorError(f"erp.options.order_amounts: {self.order_amounts!r} (use base or document)")
        self.tool_user = str(opts.get("tool_user") or opts.get("comment_owner") or write.DEFAULT_TOOL_USER)

    # ------------------------------------------------------------------ reads

    def read_companies(self, companies: Sequence[str]) -> pd.DataFrame:
        if not companies:
            return empty_frame("companies")
        with self._connection("read tabCompany") as conn:
            return read.read_companies(conn, companies, self.chunk_size)

    def read_customers(self, companies: Sequence[str]) -> pd.DataFrame:
        if not companies:
            return empty_frame("customers")
        with self._connection("read customers") as conn:
            raw = read.read_customers_raw(conn, companies, self.chunk_size, self.prepayment_terms)
        return raw.drop(columns="payment_terms")

    def read_open_items(self, companies: Sequence[str]) -> pd.DataFrame:
        if not companies:
            return empty_frame("open_items")
        with self._connection("read open items") as conn:
            return read.read_open_items(conn, companies, self.chunk_size)

    def read_open_orders(self, companies: Sequence[str]) -> pd.DataFrame:
        if not companies:
            return empty_frame("open_orders")
        with self._connection("read open orders") as conn:
            return read.read_open_orders(conn, companies, self.chunk_size, self.order_amounts)

    def read_open_deliveries(self, companies: Sequence[str]) -> pd.DataFrame:
        if not companies:
            return empty_frame("open_deliveries")
        with self._connection("read unbilled delivery notes") as conn:
            return read.read_open_deliveries(conn, companies, self.chunk_size)

    def read_payments(self, companies: Sequence[str]) -> pd.DataFrame:
        if not companies:
            return empty_frame("payments")
        with self._connection("read payment history") as conn:
            return read.read_payments(conn, companies, self.chunk_size)

    def read_fx_rates(self, companies: Sequence[str]) -> pd.DataFrame:
        """All selling rates in tabCurrency Exchange (rates are not per company in ERPNext)."""
        with self._connection("read tabCurrency Exchange") as conn:
            return read.read_fx_rates(conn, self.chunk_size)

    def read_state(self, companies: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
        if not companies:
            customers = empty_frame("customers").assign(payment_terms=pd.Series([], dtype=object))
            return customers[read.STATE_CUSTOMER_COLUMNS], empty_frame("open_orders")[read.STATE_ORDER_COLUMNS]
        with self._connection("read the ERP state") as conn:
            customers = read.read_customers_raw(conn, companies, self.chunk_size, self.prepayment_terms)
            orders = read.read_open_orders(conn, companies, self.chunk_size, self.order_amounts)
        return (customers[read.STATE_CUSTOMER_COLUMNS].reset_index(drop=True),
                orders[read.STATE_ORDER_COLUMNS].reset_index(drop=True))

    # ------------------------------------------------------------------ write

    def apply(self, company: str, changes: pd.DataFrame) -> int:
        """Apply one company's plan rows in ONE transaction (see connectors.erpnext.write)."""
        plan = write.validate_plan(company, changes)
        if plan.empty:
            return 0
        with self._connection(f"write the plan for {company!r}", begin=True) as conn:
            return write.apply_plan(conn, company, plan, prepayment_terms=self.prepayment_terms,
                                    user=self.tool_user)

    def read_provenance(self, companies: Sequence[str]) -> ErpProvenance:
        """creditctl's earlier changes from tabVersion (see connectors.erpnext.provenance)."""
        with self._connection("read creditctl's change history (tabVersion)") as conn:
            return provenance.read_provenance(conn, companies, self.tool_user, self.chunk_size)
