"""What the core needs from an ERP (a port); connectors/ implement it (adapters).

The core never names an ERP: it reads canonical frames (SPEC §3) and hands back a plan
(etl.plan.WritebackPlan) for the connector to apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import pandas as pd


class ConnectorError(RuntimeError):
    """An ERP could not be read or written; the message names the setting to fix.

    ``transient`` marks a failure worth retrying later (server restarting, connection lost,
    deadlock); wrong credentials, a bad URL or a bad plan are not.
    """

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


@runtime_checkable
class ErpConnector(Protocol):
    """Read the canonical frames for some companies, read current state, apply a plan.

    Every ``read_*`` returns a frame with exactly the columns of its SPEC §3 contract
    (validation.contracts); rows may still be invalid, validation happens downstream.
    """

    def read_companies(self, companies: Sequence[str]) -> pd.DataFrame: ...

    def read_customers(self, companies: Sequence[str]) -> pd.DataFrame: ...

    def read_open_items(self, companies: Sequence[str]) -> pd.DataFrame: ...

    def read_open_orders(self, companies: Sequence[str]) -> pd.DataFrame: ...

    def read_payments(self, companies: Sequence[str]) -> pd.DataFrame: ...

    def read_fx_rates(self, companies: Sequence[str]) -> pd.DataFrame: ...

    def read_state(self, companies: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Current ERP state: (customers, orders).

        customers: company, customer_id, is_blocked, on_prepayment, credit_limit,
        payment_terms (the ERP's own terms value, kept so a release can restore it);
        orders: company, order_id, customer_id, on_hold.
        """
        ...

    def apply(self, company: str, changes: pd.DataFrame) -> int:
        """Apply one company's plan rows (etl.plan.PLAN_COLUMNS) in ONE transaction.

        All rows land or none do; returns the number of rows applied. Raises on failure
        after rolling back.
        """
        ...
