"""Which ERP state this tool set (SPEC §6.2): from the state store's audit, else from the ERP.

Releases and the base of limit cuts (etl.plan.tool_owned / base_limits) depend on knowing what
this tool wrote. The audit in the state store is the first source. A store without history for
a company (a new data folder, a deleted or re-pointed store) must not look like "creditctl never
wrote here": the company's provenance is then recovered from the ERP, where the tool's writes
are attributable (ErpConnector.read_provenance), and where it cannot be recovered but the ERP
shows (or may show) earlier writes, applying is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from etl.plan import SUBJECT, tool_owned
from etl.ports import ErpProvenance


@dataclass(frozen=True)
class Provenance:
    """``owned`` (etl.plan.tool_owned) and where it came from, per company."""

    owned: pd.DataFrame
    from_store: list[str] = field(default_factory=list)  # companies with audit history in the store
    from_erp: list[str] = field(default_factory=list)  # companies whose history was recovered from the ERP
    fresh: list[str] = field(default_factory=list)  # companies this tool has never written to (per the ERP)
    unproven: list[str] = field(default_factory=list)  # no store history, and the ERP cannot rule out our writes
    problem: str | None = None  # why applying must be refused (one line), None when it may apply


def _history(audit: pd.DataFrame) -> pd.DataFrame:
    """Audit rows that are ERP changes (override_add / _remove are not)."""
    if audit.empty or "change" not in audit:
        return audit.iloc[0:0]
    return audit[audit["change"].isin(list(SUBJECT))]


def resolve_provenance(audit: pd.DataFrame, companies: Sequence[str],
                       read_erp: Callable[[Sequence[str]], ErpProvenance], *, store: str = "the state store",
                       erp: str = "the ERP") -> Provenance:
    """This tool's provenance for ``companies``: the store's audit where it has history, else the ERP's.

    ``read_erp(companies)`` is the connector's read_provenance; it is only called for companies
    the store knows nothing about. ``store`` / ``erp`` name them in the refusal message.
    """
    history = _history(audit)
    known = sorted(set(history["company"].astype(str)) & set(companies)) if len(history) else []
    missing = [c for c in companies if c not in known]
    parts = [history[history["company"].isin(known)]] if known else []
    recovered: list[str] = []
    fresh: list[str] = []
    unproven: list[str] = []
    if missing:
        found = read_erp(missing)
        changes = found.changes
        if changes is not None and len(changes):
            changes = changes[changes["company"].isin(missing)]
        if changes is not None and len(changes):
            recovered = sorted(set(changes["company"].astype(str)))
            # audit-shaped: ids after the store's, in the ERP's time order
            start = int(pd.to_numeric(history["id"]).max()) + 1 if len(history) and "id" in history else 0
            parts.append(changes.assign(id=np.arange(start, start + len(changes))))
        if found.marked is False:
            # nothing in the ERP says this tool wrote there beyond what was recovered
            fresh = [c for c in missing if c not in recovered]
        else:  # writes the ERP cannot attribute change by change: nothing recovered is complete
            unproven, recovered, parts = missing, [], parts[:1] if known else []
    owned = tool_owned(pd.concat(parts, ignore_index=True)) if parts else tool_owned(pd.DataFrame())
    problem = None
    if unproven:
        why = ("cannot show which changes creditctl made earlier" if found.marked is None
               else "shows earlier writes by creditctl that it cannot recover change by change")
        problem = (f"{store} has no history for {', '.join(unproven)} and {erp} {why}: applying could cut a "
                   f"limit twice or leave what creditctl set; point the state store at the one of earlier runs "
                   f"(CREDITCTL_STATE_URL or the config's data folder), or run with --mode dry-run")
    return Provenance(owned, known, recovered, fresh, unproven, problem)
