"""What the core needs from an ERP (a port); connectors/ implement it (adapters).

The core never names an ERP: it reads canonical frames (SPEC §3) and hands back a plan
(etl.plan.WritebackPlan) for the connector to apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import pandas as pd

#: this tool's earlier ERP writes as an ERP records them (etl.plan.PLAN_COLUMNS' subject columns),
#: oldest first: what etl.plan.tool_owned needs when the state store has no audit trail
PROVENANCE_COLUMNS = ["company", "customer_id", "change", "order_id", "before", "after", "rule_ids", "applied_at"]


@dataclass(frozen=True)
class ErpProvenance:
    """What an ERP itself shows of this tool's earlier writes (SPEC §6.2).

    ``changes``: the tool-authored changes the ERP attributes to this tool (PROVENANCE_COLUMNS,
    oldest first), or None when this ERP cannot recover them. ``marked``: the ERP shows writes of
    this tool (its user as the author, its comments) that ``changes`` does not hold: True, False,
    or None when the connector cannot tell.
    """

    changes: pd.DataFrame | None
    marked: bool | None

    @classmethod
    def unknown(cls) -> ErpProvenance:
        return cls(None, None)


class ConnectorError(RuntimeError):
    """An ERP could not be read or written; the message names the setting to fix.

    ``transient`` marks a failure worth retrying later (server restarting, connection lost,
    deadlock); wrong credentials, a bad URL or a bad plan are not.
    """

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class ChangesRefused(ConnectorError):
    """Some plan rows were not applied, the others were (ERP APIs that write one document per call).

    ``refused``: those rows (etl.plan.PLAN_COLUMNS) plus ``status`` (``conflict``: a person changed
    the document since it was read; ``refused``: the ERP's validation said no, or the document is
    gone) and ``message`` (one line). Nothing of them was written; the next night plans them again.
    ``applied``: the number of rows the ERP now shows.
    """

    def __init__(self, message: str, applied: int, refused: pd.DataFrame) -> None:
        super().__init__(message)
        self.applied = applied
        self.refused = refused


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

    def read_open_deliveries(self, companies: Sequence[str]) -> pd.DataFrame:
        """Delivered, not invoiced, not in an open order's amount; empty where the ERP has none."""
        ...

    def read_fx_rates(self, companies: Sequence[str]) -> pd.DataFrame: ...

    def read_state(self, companies: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Current ERP state: (customers, orders).

        customers: company, customer_id, is_blocked, on_prepayment, credit_limit,
        payment_terms (the ERP's own terms value, kept so a release can restore it);
        orders: company, order_id, customer_id, on_hold.
        """
        ...

    def read_provenance(self, companies: Sequence[str]) -> ErpProvenance:
        """This tool's earlier writes as the ERP records them, for a state store without history."""
        ...

    def apply(self, company: str, changes: pd.DataFrame) -> int:
        """Apply one company's plan rows (etl.plan.PLAN_COLUMNS) in ONE transaction.

        All rows land or none do; returns the number of rows applied. Raises on failure
        after rolling back. A connector that writes through an API, one document per call,
        cannot roll back: it raises :class:`ChangesRefused` for rows the ERP would not take
        (the rest are applied), and on any other failure the caller reads the ERP back.
        """
        ...
