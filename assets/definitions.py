"""The one Definitions object of the code location (SPEC §8)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from dagster import (
    AssetChecksDefinition,
    AssetsDefinition,
    AssetSelection,
    DefaultScheduleStatus,
    Definitions,
    EnvVar,
    PreviewWarning,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    StaticPartitionsDefinition,
    define_asset_job,
    definitions,
    schedule,
)

from assets import sensors as sensor_defs
from assets.decisions import build_blast_radius, credit_decisions, credit_rules, writeback_plan
from assets.extract import GROUP, build_extract_checks, extract_assets
from assets.positions import credit_positions
from assets.report import credit_report
from assets.resources import CreditControlSettings, ErpResource, StateStoreResource
from assets.writeback import build_state_verified, erp_writeback
from etl.config import ConfigError, load_config

if TYPE_CHECKING:  # not exported by dagster's top level
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )

CONFIG_ENV = "CREDITCTL_CONFIG"
JOB_NAME = "nightly_credit_control"

all_assets = [*extract_assets, credit_positions, credit_rules, credit_decisions, writeback_plan, erp_writeback,
              credit_report]


def build_checks(partitions: StaticPartitionsDefinition | None = None) -> list[AssetChecksDefinition]:
    """Every asset check, partitioned like the assets (a check reads its asset's partition)."""
    with warnings.catch_warnings():  # partitioned checks are a Dagster "preview" feature: said once, in docs
        warnings.simplefilter("ignore", PreviewWarning)
        return [*build_extract_checks(partitions), build_blast_radius(partitions), build_state_verified(partitions)]


all_checks = build_checks()


def _config_settings() -> tuple[str, str, list[str]]:
    """(cron, timezone, companies) from the config named by $CREDITCTL_CONFIG, else 02:00 UTC and none."""
    path = os.environ.get(CONFIG_ENV)
    if path and Path(path).is_file():
        try:
            config = load_config(path)
            return config.schedule, config.timezone, list(config.erp.companies)
        except ConfigError:
            pass  # the run itself reports the config error where a user sees it
    return "0 2 * * *", "UTC", []


def company_partitions(companies: list[str]) -> StaticPartitionsDefinition | None:
    """One partition per company of the config (SPEC §8); none when no config names companies."""
    return StaticPartitionsDefinition(sorted(set(companies))) if companies else None


def _partitioned(assets: list[AssetsDefinition], partitions: StaticPartitionsDefinition | None) -> list[AssetsDefinition]:
    if partitions is None:
        return assets
    return [a.map_asset_specs(lambda spec: spec.replace_attributes(partitions_def=partitions)) for a in assets]


def nightly_schedule(job: UnresolvedAssetJobDefinition, cron: str, timezone: str,
                     companies: list[str]) -> ScheduleDefinition:
    """At ``cron`` in ``timezone``: one run per company partition (one run in all without partitions)."""

    @schedule(name="nightly_credit_control_schedule", job=job, cron_schedule=cron, execution_timezone=timezone,
              default_status=DefaultScheduleStatus.STOPPED,
              description=f"Nightly credit control at {cron} ({timezone}), one run per company.")
    def _nightly(context: ScheduleEvaluationContext) -> list[RunRequest]:
        tick = context.scheduled_execution_time.isoformat() if context.scheduled_execution_time else "manual"
        if not companies:
            return [RunRequest(run_key=tick)]
        return [RunRequest(run_key=f"{company}:{tick}", partition_key=company, tags={"creditctl/company": company})
                for company in sorted(set(companies))]

    return _nightly


def default_resources() -> dict[str, object]:
    """Resources reading the config named by $CREDITCTL_CONFIG, resolved at launch."""
    config_path = EnvVar(CONFIG_ENV)
    return {
        "settings": CreditControlSettings(config_path=config_path),
        "erp": ErpResource(config_path=config_path),
        "state_store": StateStoreResource(config_path=config_path),
    }


def build_definitions(resources: dict[str, object] | None = None, *,
                      companies: list[str] | None = None) -> Definitions:
    """The code location's definitions; the CLI passes concrete resources for one run.

    ``companies`` become the static partitions of the credit-control assets (default: the
    config's); an empty list builds them unpartitioned, one run covering every company.
    """
    cron, timezone, configured = _config_settings()
    scope = configured if companies is None else companies
    partitions = company_partitions(scope)
    job = define_asset_job(
        JOB_NAME,
        selection=AssetSelection.groups(GROUP),
        partitions_def=partitions,
        description="Extract, validate, compute positions, run the rules, plan and write back; "
                    "one run per company partition.",
    )
    return Definitions(
        assets=_partitioned(all_assets, partitions),
        asset_checks=build_checks(partitions),
        jobs=[job, *sensor_defs.jobs],
        schedules=[nightly_schedule(job, cron, timezone, scope)],
        sensors=sensor_defs.sensors,
        resources=resources or default_resources(),
    )


@definitions
def defs() -> Definitions:
    """Loaded by `dagster dev` / `dagster definitions validate` through workspace.yaml."""
    return build_definitions()
