"""Credit positions from the validated extract: a thin wrapper over etl/."""

import pandas as pd
from dagster import AssetExecutionContext, Failure, MetadataValue, Output, asset

from assets.extract import GROUP, CheckedExtract, read_with_retries
from assets.provenance import run_provenance
from assets.resources import CreditControlSettings, ErpResource, StateStoreResource
from etl.pipeline import extract_guard_problems, positions_for, previous_customer_count
from etl.quality import combine_validated
from etl.rules import RuleSet


@asset(group_name=GROUP, kinds={"pandas"},
       description="Each customer's credit position (docs/positions.md) in company currency, from the valid rows; "
                   "quarantined rows are written to the run folder and mark their customer data_incomplete.")
def credit_positions(
    context: AssetExecutionContext, settings: CreditControlSettings, state_store: StateStoreResource,
    erp: ErpResource, credit_rules: RuleSet,
    erp_companies: CheckedExtract, erp_customers: CheckedExtract, erp_open_items: CheckedExtract,
    erp_open_orders: CheckedExtract, erp_payments: CheckedExtract, fx_rates: CheckedExtract,
    erp_deliveries: CheckedExtract,
) -> Output[pd.DataFrame]:
    # each extract was validated by its asset (and judged by its contract check): only the checks
    # across frames (unknown company or customer) are left
    validated = combine_validated(e.validated_frame() for e in (
        erp_companies, erp_customers, erp_open_items, erp_open_orders, erp_payments, fx_rates, erp_deliveries))
    guards = credit_rules.guards
    store = state_store.store()
    companies = settings.companies(context)
    previous = previous_customer_count(store.last_run("succeeded", companies=companies), companies)
    # recorded before the guards, so a run they stop is in the state store's history too
    store.ensure_run(context.run_id, settings.writeback_mode(), settings.as_of_date(), companies)
    path = settings.run_dir(context.run_id) / "quarantine.csv"
    validated.quarantine.to_csv(path, index=False)

    def _guard(quarantine: pd.DataFrame | None = None) -> None:
        problems = extract_guard_problems(
            validated, guards.max_quarantine_percent, quarantine=quarantine, previous_customers=previous,
            max_customer_drop_percent=guards.max_customer_drop_percent)
        if problems:  # fail closed: nothing downstream (decisions, plan, writeback) runs
            raise Failure(description="; ".join(problems) + f" (quarantine: {path})",
                          metadata={"quarantine_csv": MetadataValue.path(str(path.resolve()))})

    _guard()
    # the base of limit cuts is what this tool wrote: from the store, else recovered from the ERP
    connector = erp.connector()
    provenance = read_with_retries(settings, lambda: run_provenance(
        context.log, store, connector, companies, apply_mode=settings.writeback_mode() == "apply"))
    positions, quarantine = positions_for(validated, settings.as_of_date(), provenance.owned)
    quarantine.to_csv(path, index=False)
    positions.to_csv(settings.run_dir(context.run_id) / "positions.csv", index=False)  # for the run's report
    _guard(quarantine)  # again with the rows quarantined for a missing FX rate
    return Output(positions, metadata={
        "dagster/row_count": len(positions),
        "as_of": settings.as_of_date().isoformat(),
        "quarantined_rows": len(quarantine),
        "data_incomplete_customers": int(positions["data_incomplete"].sum()),
        "quarantine_csv": MetadataValue.path(str(path.resolve())),
        "provenance_from_erp": MetadataValue.json(provenance.from_erp),
        "provenance_unproven": MetadataValue.json(provenance.unproven),
    })
