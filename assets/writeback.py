"""The side effect: apply the plan per company, audit it, read the ERP back (SPEC §6.3).

Per company: journal the plan rows (pending) -> ONE ERP transaction -> ONE store transaction
that writes their audit rows and marks them applied (etl.store, docs/writeback.md). The
writeback lock taken by writeback_plan is released at the end, also on failure; the Dagster
pool ``erp_writeback`` keeps a second run's writeback from interleaving inside one instance.
"""

import pandas as pd
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetIn,
    Failure,
    MaterializeResult,
    MetadataValue,
    PartitionsDefinition,
    asset,
    asset_check,
)

from assets.extract import GROUP
from assets.resources import CreditControlSettings, ErpResource, StateStoreResource
from etl.pipeline import blast_radius_note
from etl.plan import PLAN_COLUMNS, WritebackPlan, unapplied
from etl.ports import ChangesRefused
from etl.rules import RuleSet
from etl.store import StateStore

#: the Dagster concurrency pool of the writeback (limit it to 1: `dagster instance concurrency set erp_writeback 1`)
POOL = "erp_writeback"


@asset(group_name=GROUP, kinds={"sql"}, pool=POOL,
       description="Writes the plan to the ERP (mode apply), one transaction per company, one audit row per change.")
def erp_writeback(
    context: AssetExecutionContext, settings: CreditControlSettings, erp: ErpResource,
    state_store: StateStoreResource, writeback_plan: WritebackPlan, credit_rules: RuleSet,
) -> MaterializeResult:
    mode = settings.writeback_mode()
    store = state_store.store()
    applied: dict[str, int] = {}
    not_applied: list[pd.DataFrame] = []
    # dry-run / off beyond the blast-radius guard: the run succeeds, its record says what an apply would need
    note = None if mode == "apply" else blast_radius_note(writeback_plan, credit_rules.guards.max_new_blocks_percent)
    try:
        if mode == "apply":
            connector = erp.connector()
            for company in writeback_plan.companies():
                changes = writeback_plan.for_company(company)
                store.journal_write(context.run_id, company, changes, credit_rules.sha256)
                try:
                    applied[company] = connector.apply(company, changes)
                except ChangesRefused as exc:  # an API ERP took the other rows: they are audited below
                    store.journal_refuse(context.run_id, company, exc.refused)
                    applied[company] = exc.applied
                    not_applied.append(exc.refused.assign(company=company))
                    context.log.warning(str(exc))
                except Exception as exc:
                    _resolve_failed(store, connector, company, context)
                    store.finish_run(context.run_id, "failed", ruleset_sha256=credit_rules.sha256,
                                     customers=writeback_plan.customers, changes=sum(applied.values()),
                                     message=f"{company}: {exc}")
                    raise Failure(description=f"writeback for company {company} failed and was rolled back: "
                                              f"{exc}") from exc
                store.journal_commit(context.run_id, company)
                context.log.info(f"{company}: {applied[company]} change(s) applied")
        skipped = pd.concat(not_applied, ignore_index=True) if not_applied else None
        if skipped is not None:
            note = (f"{len(skipped)} change(s) not applied (changed in the ERP since the read, or refused by it); "
                    f"planned again next night, e.g. {skipped['message'].iloc[0]}")
        store.finish_run(context.run_id, "succeeded", ruleset_sha256=credit_rules.sha256,
                         customers=writeback_plan.customers, changes=sum(applied.values()), message=note)
    finally:
        store.release_lock(context.run_id)
    return MaterializeResult(metadata={
        **({"not_applied": len(skipped), "not_applied_sample": MetadataValue.md(
            skipped[["company", "customer_id", "change", "order_id", "status", "message"]].head(20)
            .to_markdown(index=False))} if skipped is not None else {}),
        "mode": mode,
        "planned": len(writeback_plan.changes),
        "applied": sum(applied.values()),
        **{f"applied_{company}": n for company, n in applied.items()},
        **{f"planned_{k}": n for k, n in writeback_plan.counts().items()},
        "apply_needs_approve": note is not None,
        **({"message": note} if note else {}),
    })


def reconcile_journal(store: StateStore, customers: pd.DataFrame, orders: pd.DataFrame,
                      companies: list[str]) -> tuple[int, int, int]:
    """Resolve pending journal rows by reading the ERP back: audit (recovered) what it shows, drop the rest.

    Returns (recovered, dropped, recovered set_limit rows).
    """
    pending = store.journal_pending(companies)
    if pending.empty:
        return 0, 0, 0
    missing = {int(i) for i in unapplied(pending[[*PLAN_COLUMNS, "id"]], customers, orders)["id"]}
    recovered, dropped = store.reconcile_journal(pending, missing)
    limits = int(((pending["change"] == "set_limit") & ~pending["id"].astype(int).isin(missing)).sum())
    return recovered, dropped, limits


def _resolve_failed(store: StateStore, connector, company: str, context: AssetExecutionContext) -> None:  # noqa: ANN001
    """After a failed apply: the ERP normally rolled back, but an error at COMMIT may hide a commit.

    Read the company back and reconcile its journal rows now; if even that fails they stay
    pending and the next run's writeback_plan reconciles them.
    """
    try:
        customers, orders = connector.read_state([company])
        recovered, _, _ = reconcile_journal(store, customers, orders, [company])
    except Exception as exc:  # noqa: BLE001 - the next run reconciles
        context.log.warning(f"{company}: journal left pending for the next run ({exc})")
        return
    if recovered:
        context.log.warning(f"{company}: {recovered} change(s) committed despite the error; audited as recovered")


def _erp_state_verified(context: AssetCheckExecutionContext, settings: CreditControlSettings, erp: ErpResource,
                        state_store: StateStoreResource, writeback_plan: WritebackPlan) -> AssetCheckResult:
    if settings.writeback_mode() != "apply":
        return AssetCheckResult(passed=True, metadata={"verified": 0, "note": "nothing applied in this mode"})
    companies = writeback_plan.companies()  # the run's own (partition) companies with changes
    if not companies:
        return AssetCheckResult(passed=True, metadata={"verified": 0, "note": "nothing planned"})
    # rows the ERP did not take were reported by erp_writeback; the others must all show
    keys = ["company", "customer_id", "change", "order_id"]
    refused = state_store.store().journal_refused(context.run.run_id)[keys].astype(str)
    changes = writeback_plan.changes
    if not refused.empty:
        taken = ~pd.MultiIndex.from_frame(changes[keys].astype(str)).isin(pd.MultiIndex.from_frame(refused))
        changes = changes[taken].reset_index(drop=True)
    customers, orders = erp.connector().read_state(companies)
    missing = unapplied(changes, customers, orders)
    message = "the ERP shows every planned change" if missing.empty else (
        f"{len(missing)} planned change(s) not found in the ERP after apply, e.g. "
        + ", ".join(f"{r.company}/{r.customer_id} {r.change}" for r in missing.head(3).itertuples()))
    return AssetCheckResult(
        passed=missing.empty, severity=AssetCheckSeverity.ERROR,
        metadata={
            "message": message,
            "verified": len(changes) - len(missing),
            "not_applied": len(refused),
            "mismatches": len(missing),
            "sample": MetadataValue.md(missing.head(20).to_markdown(index=False) if not missing.empty else "none"),
        },
    )


def build_state_verified(partitions: PartitionsDefinition | None = None) -> AssetChecksDefinition:
    """The blocking read-back check on erp_writeback, partitioned like it."""
    return asset_check(
        asset="erp_writeback", name="erp_state_verified", blocking=True, partitions_def=partitions,
        additional_ins={"writeback_plan": AssetIn("writeback_plan")},
        description="After apply, the ERP state read back shows every planned change.",
    )(_erp_state_verified)


erp_state_verified = build_state_verified()
