"""The one Definitions object of the code location (SPEC §8)."""

from __future__ import annotations

import os
from pathlib import Path

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    Definitions,
    EnvVar,
    ScheduleDefinition,
    define_asset_job,
    definitions,
)

from assets.decisions import blast_radius, credit_decisions, credit_rules, writeback_plan
from assets.extract import GROUP, extract_assets, extract_checks
from assets.positions import credit_positions
from assets.report import credit_report
from assets.resources import CreditControlSettings, ErpResource, StateStoreResource
from assets.writeback import erp_state_verified, erp_writeback
from etl.config import ConfigError, load_config

CONFIG_ENV = "CREDITCTL_CONFIG"
JOB_NAME = "nightly_credit_control"

all_assets = [*extract_assets, credit_positions, credit_rules, credit_decisions, writeback_plan, erp_writeback,
              credit_report]
all_checks = [*extract_checks, blast_radius, erp_state_verified]

nightly_credit_control = define_asset_job(
    JOB_NAME,
    selection=AssetSelection.groups(GROUP),
    description="Extract, validate, compute positions, run the rules, plan and write back (SPEC §1).",
)


def _schedule_settings() -> tuple[str, str]:
    """(cron, timezone) from the config file when one is configured, else 02:00 UTC."""
    path = os.environ.get(CONFIG_ENV)
    if path and Path(path).is_file():
        try:
            config = load_config(path)
            return config.schedule, config.timezone
        except ConfigError:
            pass  # the run itself reports the config error where a user sees it
    return "0 2 * * *", "UTC"


def default_resources() -> dict[str, object]:
    """Resources reading the config named by $CREDITCTL_CONFIG, resolved at launch."""
    config_path = EnvVar(CONFIG_ENV)
    return {
        "settings": CreditControlSettings(config_path=config_path),
        "erp": ErpResource(config_path=config_path),
        "state_store": StateStoreResource(config_path=config_path),
    }


def build_definitions(resources: dict[str, object] | None = None) -> Definitions:
    """The code location's definitions; the CLI passes concrete resources for one run."""
    cron, timezone = _schedule_settings()
    return Definitions(
        assets=all_assets,
        asset_checks=all_checks,
        jobs=[nightly_credit_control],
        schedules=[ScheduleDefinition(
            name="nightly_credit_control_schedule", job=nightly_credit_control, cron_schedule=cron,
            execution_timezone=timezone, default_status=DefaultScheduleStatus.STOPPED,
            description=f"Nightly credit control at {cron} ({timezone}).",
        )],
        resources=resources or default_resources(),
    )


@definitions
def defs() -> Definitions:
    """Loaded by `dagster dev` / `dagster definitions validate` through workspace.yaml."""
    return build_definitions()
