"""The ERP extract assets and their blocking contract checks (SPEC §8).

Each extract is validated once, in its asset's step while the frame as read is in hand (the
contract through pandera, the GX suite with its data docs); its ``contract`` and ``gx_suite``
checks judge those results and credit_positions takes the valid rows (:class:`CheckedExtract`).
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pandas as pd
from dagster import (
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
from etl.quality import ValidatedFrame, validate_entity
from validation.contracts import ENTITIES
from validation.quarantine import ContractError, quarantine_share

if TYPE_CHECKING:  # GX's import is slow: the module is imported where a suite runs
    from validation.gx_suites import GxResult

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


@dataclass(frozen=True)
class CheckedExtract:
    """What an extract asset hands on: its frame judged once, on the frame as read.

    The asset validates the frame against its contract and runs its GX suite while the frame as
    read is in hand; its checks only judge these results and credit_positions takes the valid
    rows. The frame as read is not kept: the run's IO manager holds every output until the run
    ends, and a raw copy of every extract beside the validated one would double the extract's
    memory for the whole run.
    """

    entity: str
    rows: int  # rows read
    validated: ValidatedFrame | None  # None when the frame as a whole broke the contract
    contract_error: str | None  # why it did (ContractError: wrong columns)
    gx: "GxResult"

    def validated_frame(self) -> ValidatedFrame:
        """The valid rows and the quarantine; raises the ContractError when there are none."""
        if self.validated is None:
            raise ContractError(self.contract_error or f"{self.entity}: no validated frame")
        return self.validated


def check_extract(entity: str, frame: pd.DataFrame, docs_dir: Path) -> CheckedExtract:
    """The GX suite (data docs under ``docs_dir``) and the contract of one frame as read."""
    from validation.gx_suites import run_suite  # GX import is slow; only runs that validate pay it

    gx = run_suite(entity, frame, docs_dir=docs_dir)
    try:
        validated, error = validate_entity(entity, frame), None
    except ContractError as exc:  # the contract check reports it, as when it validated itself
        validated, error = None, str(exc)
    return CheckedExtract(entity, len(frame), validated, error, gx)


def _extract_asset(name: str, entity: str) -> AssetsDefinition:
    @asset(
        name=name,
        group_name=GROUP,
        kinds={"sql", "pandas"},
        description=f"The ERP's {entity.replace('_', ' ')}, as the {entity} contract (docs/connectors.md), "
                    "validated once: the rows satisfying the contract, the quarantined rows and the GX "
                    "verdict on the rows as read, which the checks judge.",
        metadata={"dagster/column_schema": _table_schema(entity)},
    )
    def _extract(context: AssetExecutionContext, settings: CreditControlSettings,
                 erp: ErpResource) -> Output[CheckedExtract]:
        companies = settings.companies(context)
        frame = read_with_retries(settings, lambda: getattr(erp.connector(), f"read_{entity}")(companies))
        docs_dir = settings.run_dir(context.run.run_id) / "gx"
        checked = check_extract(entity, frame, docs_dir)
        docs = docs_dir / entity / "index.html"
        metadata: dict[str, object] = {"dagster/row_count": checked.rows,
                                       "gx_data_docs": MetadataValue.path(str(docs.resolve()))}
        if checked.validated is not None:
            metadata["valid_rows"] = len(checked.validated.valid)
        return Output(checked, metadata=metadata)

    return _extract


def _contract_check(name: str, entity: str, partitions: PartitionsDefinition | None) -> AssetChecksDefinition:
    @asset_check(asset=name, name="contract", blocking=True, partitions_def=partitions,
                 description=f"Rows failing the {entity} contract are quarantined; their share must stay "
                             "within guards.max_quarantine_percent.")
    def _check(settings: CreditControlSettings, frame: CheckedExtract) -> AssetCheckResult:
        validated = frame.validated_frame()  # the asset validated it: judged here, not validated again
        quarantine = validated.quarantine
        limit = settings.ruleset().guards.max_quarantine_percent
        share = quarantine_share(validated.rows, quarantine["key"].nunique())
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
                "rows": validated.rows,
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
    def _check(frame: CheckedExtract) -> AssetCheckResult:
        result = frame.gx  # run by the asset on the frame as read
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
