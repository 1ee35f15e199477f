"""Credit positions from the validated extract: a thin wrapper over etl/."""

import pandas as pd
from dagster import AssetExecutionContext, Failure, MetadataValue, Output, asset

from assets.extract import GROUP
from assets.resources import CreditControlSettings, StateStoreResource
from etl.config import run_dir
from etl.extract import Extract
from etl.pipeline import extract_guard_problems, positions_for
from etl.plan import tool_owned
from etl.quality import validate_extract
from etl.rules import RuleSet


@asset(group_name=GROUP, kinds={"pandas"},
       description="Each customer's credit position (SPEC §4) in company currency, from the valid rows; "
                   "quarantined rows are written to the run folder and mark their customer data_incomplete.")
def credit_positions(
    context: AssetExecutionContext, settings: CreditControlSettings, state_store: StateStoreResource,
    credit_rules: RuleSet,
    erp_companies: pd.DataFrame, erp_customers: pd.DataFrame, erp_open_items: pd.DataFrame,
    erp_open_orders: pd.DataFrame, erp_payments: pd.DataFrame, fx_rates: pd.DataFrame,
) -> Output[pd.DataFrame]:
    extract = Extract(erp_companies, erp_customers, erp_open_items, erp_open_orders, erp_payments, fx_rates)
    validated = validate_extract(extract)
    problems = extract_guard_problems(validated, credit_rules.guards.max_quarantine_percent)
    if problems:
        raise Failure(description="; ".join(problems))
    owned = tool_owned(state_store.store().audit(companies=settings.companies()))
    positions, quarantine = positions_for(validated, settings.as_of_date(), owned)
    path = run_dir(context.run_id) / "quarantine.csv"
    quarantine.to_csv(path, index=False)
    return Output(positions, metadata={
        "dagster/row_count": len(positions),
        "as_of": settings.as_of_date().isoformat(),
        "quarantined_rows": len(quarantine),
        "data_incomplete_customers": int(positions["data_incomplete"].sum()),
        "quarantine_csv": MetadataValue.path(str(path.resolve())),
    })
