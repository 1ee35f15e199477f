"""The ERP extract assets and their blocking contract checks (SPEC §8)."""

from collections.abc import Callable
from typing import TypeVar

import pandas as pd
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetsDefinition,
    Failure,
    MetadataValue,
    Output,
    PartitionsDefinition,
    RetryRequested,
    TableColumn,
    TableSchema,
    asset,
    asset_check,
)

from assets.resources import CreditControlSettings, ErpResource
from etl.ports import ConnectorError
from validation.contracts import ENTITIES
from validation.quarantine import quarantine_share, validate_frame

GROUP = "credit_control"
T = TypeVar("T")

#: asset name -> SPEC §3 entity
EXTRACTS = {
    "erp_companies": "companies",
    "erp_customers": "customers",
    "erp_open_items": "open_items",
    "erp_open_orders": "open_orders",
    "erp_deliveries": "open_deliveries",
    "erp_payments": "payments",
    "fx_rates": "fx_rates",
}


def read_with_retries(settings: CreditControlSettings, read: Callable[[], T]) -> T:
    """``read()``; a transient database error asks Dagster to retry the step (settings.retries times,
    settings.retry_wait_seconds apart); any other connector error fails the step for good."""
    try:
        return read()
    except ConnectorError as exc:
        if exc.transient and settings.retries > 0:
            raise RetryRequested(max_retries=settings.retries, seconds_to_wait=settings.retry_wait_seconds) from exc
        raise Failure(description=str(exc), allow_retries=False) from exc


def _table_schema(entity: str) -> TableSchema:
    model, _ = ENTITIES[entity]
    return TableSchema(columns=[
        TableColumn(name, str(col.dtype), description=col.description or "")
        for name, col in model.to_schema().columns.items()
    ])


def _extract_asset(name: str, entity: str) -> AssetsDefinition:
    @asset(
        name=name,
        group_name=GROUP,
        kinds={"sql", "pandas"},
        description=f"The ERP's {entity.replace('_', ' ')}, as the {entity} contract (docs/connectors.md; unvalidated).",
        metadata={"dagster/column_schema": _table_schema(entity)},
    )
    def _extract(context: AssetExecutionContext, settings: CreditControlSettings, erp: ErpResource) -> Output[pd.DataFrame]:
        companies = settings.companies(context)
        frame = read_with_retries(settings, lambda: getattr(erp.connector(), f"read_{entity}")(companies))
        # the gx_suite check of this run builds the data docs there
        docs = settings.run_dir(context.run.run_id) / "gx" / entity / "index.html"
        return Output(frame, metadata={"dagster/row_count": len(frame),
                                       "gx_data_docs": MetadataValue.path(str(docs.resolve()))})

    return _extract


def _contract_check(name: str, entity: str, partitions: PartitionsDefinition | None) -> AssetChecksDefinition:
    @asset_check(asset=name, name="contract", blocking=True, partitions_def=partitions,
                 description=f"Rows failing the {entity} contract are quarantined; their share must stay "
                             "within guards.max_quarantine_percent.")
    def _check(settings: CreditControlSettings, frame: pd.DataFrame) -> AssetCheckResult:
        _, quarantine = validate_frame(entity, frame)
        limit = settings.ruleset().guards.max_quarantine_percent
        share = quarantine_share(len(frame), quarantine["key"].nunique())
        passed = share <= limit
        checks = quarantine["check"].value_counts().head(5)
        top = ", ".join(f"{name} {n}" for name, n in checks.items()) or "none"
        message = (f"{share:.2f}% of {entity} rows failed their contract "
                   f"({'within' if passed else 'above'} guards.max_quarantine_percent {limit:g}; checks: {top})")
        return AssetCheckResult(
            passed=passed,
            severity=AssetCheckSeverity.ERROR,
            metadata={
                "message": message,
                "rows": len(frame),
                "quarantined_rows": int(quarantine["key"].nunique()),
                "quarantine_percent": round(share, 3),
                "max_quarantine_percent": float(limit),
                "failing_sample": MetadataValue.md(quarantine.head(20).to_markdown(index=False) if not quarantine.empty else "none"),
            },
        )

    return _check


def _gx_check(name: str, entity: str, partitions: PartitionsDefinition | None) -> AssetChecksDefinition:
    @asset_check(asset=name, name="gx_suite", blocking=False, partitions_def=partitions,
                 description=f"The {entity} contract as a great-expectations suite; data docs in the run folder. "
                             "A warning only: failing rows are quarantined by the contract check.")
    def _check(context: AssetCheckExecutionContext, settings: CreditControlSettings,
               frame: pd.DataFrame) -> AssetCheckResult:
        from validation.gx_suites import run_suite  # GX import is slow; only runs that check pay it

        result = run_suite(entity, frame, docs_dir=settings.run_dir(context.run.run_id) / "gx")
        return AssetCheckResult(
            passed=result.success,
            severity=AssetCheckSeverity.WARN,
            metadata={
                "expectations": result.evaluated,
                "failed": MetadataValue.json(result.failed),
                "unexpected_rows": result.unexpected_rows,
                "data_docs": MetadataValue.path(str(result.docs_index)) if result.docs_index else "none",
            },
        )

    return _check


extract_assets = [_extract_asset(n, e) for n, e in EXTRACTS.items()]


def build_extract_checks(partitions: PartitionsDefinition | None = None) -> list[AssetChecksDefinition]:
    """The contract and GX checks of every extract, partitioned like the assets they check."""
    return ([_contract_check(n, e, partitions) for n, e in EXTRACTS.items()]
            + [_gx_check(n, e, partitions) for n, e in EXTRACTS.items()])


extract_checks = build_extract_checks()
