"""Resources: the run configuration, the ERP connector and the state store.

Each reads the one run config file (SPEC §9); its path comes from ``CREDITCTL_CONFIG`` through
``EnvVar`` so it is resolved at launch, never at import. Per-run objects (connector, engine)
live in private attributes created in ``setup_for_execution``.
"""

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from dagster import (
    AssetExecutionContext,
    ConfigurableResource,
    Failure,
    InitResourceContext,
    OpExecutionContext,
)
from pydantic import PrivateAttr

from connectors import make_connector
from etl.config import RunConfig, load_config, run_dir
from etl.ports import ErpConnector
from etl.rules import RuleSet, load_ruleset
from etl.store import StateStore


class CreditControlSettings(ConfigurableResource):
    """The run config file plus per-run options (as-of date, writeback mode, approval)."""

    config_path: str
    as_of: str = ""  # ISO date; empty = today in the configured timezone
    mode: str = ""  # off | dry-run | apply; empty = the config file's writeback
    approve: bool = False  # let a writeback beyond the blast-radius guard through
    retries: int = 2  # reads retried after a transient database error (server restarting, connection lost)
    retry_wait_seconds: float = 60.0

    def config(self) -> RunConfig:
        return load_config(self.config_path)

    def as_of_date(self) -> dt.date:
        if self.as_of:
            return dt.date.fromisoformat(self.as_of)
        return dt.datetime.now(ZoneInfo(self.config().timezone)).date()

    def writeback_mode(self) -> str:
        mode = self.mode or self.config().writeback
        if mode not in ("off", "dry-run", "apply"):
            raise ValueError(f"writeback mode {mode!r}: use off, dry-run or apply")
        return mode

    def ruleset(self) -> RuleSet:
        return load_ruleset(self.config().rules)

    def companies(self, context: AssetExecutionContext | OpExecutionContext | None = None) -> list[str]:
        """The companies of this run, in config order: its partition or partition range (the CLI's
        one run over every company), else all of the config's."""
        companies = list(self.config().erp.companies)
        if context is None or not (context.has_partition_key or context.has_partition_key_range):
            return companies
        keys = list(context.partition_keys)
        unknown = [k for k in keys if k not in companies]
        if unknown:
            raise Failure(description=f"partition {unknown[0]!r} is not a company of erp.companies "
                                      f"in {self.config_path}: reload the code location after editing the config",
                          allow_retries=False)
        return [c for c in companies if c in keys]

    def run_dir(self, run_id: str) -> Path:
        """This run's folder in the config's data folder (etl.config.run_dir)."""
        return run_dir(run_id, self.config())

    def lock_names(self, companies: list[str]) -> list[str]:
        """The writeback locks of this run: one per (ERP kind, company)."""
        return lock_names(self.config(), companies)


def lock_names(config: RunConfig, companies: list[str] | None = None) -> list[str]:
    """One writeback lock per (ERP kind, company) of a run config (etl.store locks)."""
    return [f"{config.erp.kind}:{company}" for company in sorted(companies or config.erp.companies)]


class ErpResource(ConfigurableResource):
    """The ERP connector named by the config file's ``erp`` section."""

    config_path: str
    _connector: ErpConnector | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._connector = make_connector(load_config(self.config_path).erp)

    def connector(self) -> ErpConnector:
        if self._connector is None:  # direct invocation outside a run
            self._connector = make_connector(load_config(self.config_path).erp)
        return self._connector


class StateStoreResource(ConfigurableResource):
    """The state store: ``$<state_url_env>`` from the config, else the embedded SQLite file."""

    config_path: str
    _store: StateStore | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._store = StateStore(load_config(self.config_path).state_url())

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self._store is not None:
            self._store.dispose()

    def store(self) -> StateStore:
        if self._store is None:
            self._store = StateStore(load_config(self.config_path).state_url())
        return self._store
