"""The run's HTML report, written into the run folder after the writeback (SPEC §9 report)."""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from assets.extract import GROUP
from assets.resources import CreditControlSettings, StateStoreResource
from assets.writeback import erp_writeback
from etl.report import load_report_data, render_report


@asset(group_name=GROUP, kinds={"html"}, deps=[erp_writeback],
       description="The credit manager's report of this run: whom to call first (new blocks, holds and "
                   "prepayments by exposure at risk), figures per company currency, changes since the last "
                   "applied run in words, planned and written changes, decisions with reasons, aging and "
                   "top-exposure charts, validation.")
def credit_report(context: AssetExecutionContext, settings: CreditControlSettings,
                  state_store: StateStoreResource) -> MaterializeResult:
    folder = settings.run_dir(context.run_id)
    data = load_report_data(state_store.store(), context.run_id, folder)
    if data is None:  # pragma: no cover - credit_positions records every run
        raise RuntimeError(f"run {context.run_id} is not in the state store")
    path = folder / "report.html"
    path.write_text(render_report(data), encoding="utf-8")
    return MaterializeResult(metadata={"report": MetadataValue.path(str(path.resolve()))})
