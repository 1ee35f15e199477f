"""ERP connectors: adapters implementing etl.ports.ErpConnector. The only code that knows SQL."""

from __future__ import annotations

from pathlib import Path

from etl.config import ConfigError, ErpConfig
from etl.ports import ErpConnector

SUPPORTED = ("demo", "erpnext", "files", "canonical", "sap_b1", "odoo")
#: kinds whose connector only reads: its apply refuses, so an apply run is refused before it reads
READ_ONLY = ("files",)


def write_problem(kind: str) -> str | None:
    """Why a connector kind cannot apply a plan to an ERP (one phrase), or None when it can."""
    return f"the {kind} connector cannot write to an ERP" if kind in READ_ONLY else None


def make_connector(erp: ErpConfig) -> ErpConnector:
    """The connector for a config's ``erp`` section (imports lazily: each pulls its own driver)."""
    connector = _make(erp)
    if erp.url_env and hasattr(connector, "setting"):
        # errors then name the variable to fix, not only the config key that names it
        connector.setting = f"{erp.url_env}, from erp.url_env"
    return connector


def _make(erp: ErpConfig) -> ErpConnector:
    if erp.kind == "demo":
        from connectors.demo import DemoConnector

        return DemoConnector(Path(_option(erp, "path")), erp.options)
    if erp.kind == "erpnext":
        from connectors.erpnext import ErpNextConnector

        return ErpNextConnector(erp.url(), erp.options)
    if erp.kind == "files":
        from connectors.files import FilesConnector

        return FilesConnector(Path(_option(erp, "path")))
    if erp.kind == "canonical":
        from connectors.canonical import CanonicalConnector

        return CanonicalConnector(erp.url(), erp.options)
    if erp.kind == "odoo":
        from connectors.odoo import OdooConnector

        return OdooConnector(erp.url(), erp.options)
    if erp.kind == "sap_b1":
        from connectors.sap_b1 import SapB1Connector

        return SapB1Connector(erp.url(), erp.options)
    raise ConfigError(f"erp.kind: the {erp.kind} connector is not available yet (supported: {', '.join(SUPPORTED)})")


def _option(erp: ErpConfig, name: str) -> str:
    value = erp.options.get(name)
    if not value:
        raise ConfigError(f"erp.options.{name}: the {erp.kind} connector needs it (a folder or file path)")
    return str(value)
