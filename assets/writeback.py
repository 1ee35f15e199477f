"""The side effect: apply the plan per company, audit it, read the ERP back (SPEC §6.3)."""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetIn,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
)

from assets.extract import GROUP
from assets.resources import CreditControlSettings, ErpResource, StateStoreResource
from etl.plan import WritebackPlan, unapplied
from etl.rules import RuleSet


@asset(group_name=GROUP, kinds={"sql"},
       description="Writes the plan to the ERP (mode apply), one transaction per company, one audit row per change.")
def erp_writeback(
    context: AssetExecutionContext, settings: CreditControlSettings, erp: ErpResource,
    state_store: StateStoreResource, writeback_plan: WritebackPlan, credit_rules: RuleSet,
) -> MaterializeResult:
    mode = settings.writeback_mode()
    store = state_store.store()
    applied: dict[str, int] = {}
    if mode == "apply":
        connector = erp.connector()
        for company in writeback_plan.companies():
            changes = writeback_plan.for_company(company)
            try:
                applied[company] = connector.apply(company, changes)
            except Exception as exc:
                store.finish_run(context.run_id, "failed", ruleset_sha256=credit_rules.sha256,
                                 customers=writeback_plan.customers, changes=sum(applied.values()),
                                 message=f"{company}: {exc}")
                raise Failure(description=f"writeback for company {company} failed and was rolled back: {exc}") from exc
            store.append_audit(context.run_id, changes, credit_rules.sha256)
            context.log.info(f"{company}: {applied[company]} change(s) applied")
    store.finish_run(context.run_id, "succeeded", ruleset_sha256=credit_rules.sha256,
                     customers=writeback_plan.customers, changes=sum(applied.values()))
    return MaterializeResult(metadata={
        "mode": mode,
        "planned": len(writeback_plan.changes),
        "applied": sum(applied.values()),
        **{f"applied_{company}": n for company, n in applied.items()},
        **{f"planned_{k}": n for k, n in writeback_plan.counts().items()},
    })


@asset_check(asset=erp_writeback, name="erp_state_verified", blocking=True,
             additional_ins={"writeback_plan": AssetIn("writeback_plan")},
             description="After apply, the ERP state read back shows every planned change.")
def erp_state_verified(settings: CreditControlSettings, erp: ErpResource,
                       writeback_plan: WritebackPlan) -> AssetCheckResult:
    if settings.writeback_mode() != "apply":
        return AssetCheckResult(passed=True, metadata={"verified": 0, "note": "nothing applied in this mode"})
    customers, orders = erp.connector().read_state(settings.companies())
    missing = unapplied(writeback_plan.changes, customers, orders)
    return AssetCheckResult(
        passed=missing.empty, severity=AssetCheckSeverity.ERROR,
        metadata={
            "verified": len(writeback_plan.changes) - len(missing),
            "mismatches": len(missing),
            "sample": MetadataValue.md(missing.head(20).to_markdown(index=False) if not missing.empty else "none"),
        },
    )
