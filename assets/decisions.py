"""Rules, decisions and the writeback plan: thin wrappers over etl/."""

import pandas as pd
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetIn,
    Failure,
    MetadataValue,
    Output,
    PartitionsDefinition,
    asset,
    asset_check,
)

from assets.extract import GROUP, read_with_retries
from assets.provenance import run_provenance
from assets.resources import CreditControlSettings, ErpResource, StateStoreResource
from assets.writeback import reconcile_journal
from connectors import write_problem
from etl.overrides import apply_overrides
from etl.pipeline import blast_radius_note, blast_radius_problem, decide_all
from etl.plan import WritebackPlan, build_plan
from etl.rules import RuleLintError, RuleSet
from etl.store import LockHeld


@asset(group_name=GROUP, kinds={"yaml"},
       description="The parsed and linted rule files named in the run config, with their sha256.")
def credit_rules(settings: CreditControlSettings) -> Output[RuleSet]:
    try:
        ruleset = settings.ruleset()
    except RuleLintError as exc:
        raise Failure(description=str(exc)) from exc
    return Output(ruleset, metadata={
        "sha256": ruleset.sha256,
        "rules": len(ruleset.rules),
        "files": MetadataValue.json([str(p) for p in settings.config().rules]),
    })


@asset(group_name=GROUP, kinds={"pandas"},
       description="One decision per customer (docs/writeback.md), recorded in the state store under the run id "
                   "(the run itself is recorded by credit_positions).")
def credit_decisions(
    context: AssetExecutionContext, settings: CreditControlSettings, state_store: StateStoreResource,
    credit_positions: pd.DataFrame, credit_rules: RuleSet,
) -> Output[pd.DataFrame]:
    store = state_store.store()
    as_of = settings.as_of_date()
    _, _, decisions = decide_all(credit_positions, credit_rules, as_of)
    # a credit manager's overrides win over the rules (SPEC §6.2)
    active = store.overrides(companies=settings.companies(context), active_on=as_of)
    decisions = apply_overrides(decisions, active, as_of).assign(run_id=context.run_id)
    store.save_decisions(context.run_id, decisions)
    decisions.to_csv(settings.run_dir(context.run_id) / "decisions.csv", index=False)
    counts = decisions["action"].value_counts().to_dict()
    return Output(decisions, metadata={
        "dagster/row_count": len(decisions),
        "ruleset_sha256": credit_rules.sha256,
        **{f"action_{a}": int(n) for a, n in counts.items()},
        "overrides_active": len(active),
    })


@asset(group_name=GROUP, kinds={"pandas"},
       description="The diff between the decisions and the ERP's current state: only changes; releases only "
                   "of what this tool set (audit provenance). In apply mode it first takes the writeback lock "
                   "and reconciles the journal of an interrupted earlier run.")
def writeback_plan(
    context: AssetExecutionContext, settings: CreditControlSettings, erp: ErpResource,
    state_store: StateStoreResource, credit_decisions: pd.DataFrame, credit_rules: RuleSet,
) -> Output[WritebackPlan]:
    store = state_store.store()
    companies = settings.companies(context)
    apply_mode = settings.writeback_mode() == "apply"
    if apply_mode:
        try:
            store.acquire_lock(settings.lock_names(companies), context.run_id)
        except LockHeld as exc:
            raise Failure(description=str(exc)) from exc
    try:
        connector = erp.connector()
        state_customers, state_orders = read_with_retries(settings, lambda: connector.read_state(companies))
        recovered = dropped = 0
        if apply_mode:
            recovered, dropped, limits = reconcile_journal(store, state_customers, state_orders, companies)
            if recovered or dropped:
                context.log.warning(f"journal of an interrupted run reconciled: {recovered} change(s) found "
                                    f"applied and audited (recovered), {dropped} dropped")
            if limits:
                # credit_positions took its limit base from the audit BEFORE these rows existed: tonight's
                # decisions would cut those limits a second time, so nothing is planned from them
                raise Failure(description=(
                    f"recovered {recovered} change(s) of an interrupted run from the journal, {limits} of them "
                    "credit-limit cuts this run's decisions did not know about; nothing was written: run again"))
        owned = run_provenance(context.log, store, connector, companies, apply_mode=apply_mode).owned
        plan = build_plan(credit_decisions, state_customers, state_orders, owned, credit_rules.auto_release)
        path = settings.run_dir(context.run_id) / "plan.csv"
        plan.changes.to_csv(path, index=False)
    except BaseException:
        store.release_lock(context.run_id)
        raise
    return Output(plan, metadata={
        "changes": len(plan.changes),
        **{f"change_{k}": n for k, n in plan.counts().items()},
        "new_blocks_percent": round(plan.new_blocks_percent(), 2),
        "journal_recovered": recovered,
        "journal_dropped": dropped,
        "plan_csv": MetadataValue.path(str(path.resolve())),
    })


def _blast_radius(context: AssetCheckExecutionContext, settings: CreditControlSettings,
                 state_store: StateStoreResource, credit_rules: RuleSet, plan: WritebackPlan) -> AssetCheckResult:
    limit = credit_rules.guards.max_new_blocks_percent
    mode = settings.writeback_mode()
    if mode == "apply":  # a connector that cannot write fails here, not after an --approve (runs outside the CLI)
        cannot = write_problem(settings.config().erp.kind)
        problem = (f"{settings.config_path}: writeback apply: {cannot}; use dry-run or off" if cannot
                   else blast_radius_problem(plan, limit, settings.approve))
        if problem is not None:  # the writeback will not run: let the next run have the lock
            state_store.store().release_lock(context.run.run_id)
        severity = AssetCheckSeverity.ERROR
    else:  # dry-run / off write nothing: a warning (downstream runs), erp_writeback records it for the report
        problem = blast_radius_note(plan, limit)
        severity = AssetCheckSeverity.WARN
    return AssetCheckResult(passed=problem is None, severity=severity, metadata={
        "new_blocks": plan.new_blocks,
        "new_blocks_percent": round(plan.new_blocks_percent(), 2),
        "max_new_blocks_percent": float(limit),
        "approved": settings.approve,
        "mode": mode,
        "message": problem or "within the guard",
    })


def build_blast_radius(partitions: PartitionsDefinition | None = None) -> AssetChecksDefinition:
    """The blocking blast-radius check on writeback_plan, partitioned like it."""
    return asset_check(
        asset="writeback_plan", name="blast_radius", blocking=True, partitions_def=partitions,
        additional_ins={"credit_rules": AssetIn("credit_rules")},
        description=("More new blocks than guards.max_new_blocks_percent halt the writeback unless approved "
                     "(in dry-run and off a warning: an apply of the plan would need --approve)."),
    )(_blast_radius)


blast_radius = build_blast_radius()
