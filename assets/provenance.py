"""This tool's provenance for a run: the state store's audit, else what the ERP shows (etl.provenance)."""

from collections.abc import Sequence

from dagster import Failure

from etl.config import display_url
from etl.ports import ErpConnector
from etl.provenance import Provenance, resolve_provenance
from etl.store import StateStore


def run_provenance(log, store: StateStore, connector: ErpConnector, companies: Sequence[str], *,  # noqa: ANN001
                   apply_mode: bool) -> Provenance:
    """Provenance for ``companies``; in apply mode a provenance that cannot be proven fails the run
    (nothing is written), otherwise it is logged as a warning and the run goes on read-only."""
    provenance = resolve_provenance(store.audit(companies=companies), companies, connector.read_provenance,
                                    store=f"the state store {display_url(store.url)}")
    if provenance.from_erp:
        log.warning(f"the state store has no history for {', '.join(provenance.from_erp)}: this tool's earlier "
                    f"changes were recovered from the ERP")
    if provenance.problem:
        if apply_mode:
            raise Failure(description=provenance.problem)
        log.warning(provenance.problem)
    return provenance
