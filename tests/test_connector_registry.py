"""The run config's erp.kind picks the connector; URLs come only from the environment."""

from __future__ import annotations

import pytest

from connectors import SUPPORTED, make_connector
from etl.config import ConfigError, ErpConfig
from etl.ports import ErpConnector


@pytest.mark.parametrize("kind", [k for k in SUPPORTED if k not in ("demo", "files")])
def test_url_connectors_read_the_url_from_the_environment(kind: str, monkeypatch) -> None:
    erp = ErpConfig(kind=kind, url_env="TEST_ERP_URL", companies=["A"])
    with pytest.raises(ConfigError, match="TEST_ERP_URL"):
        make_connector(erp)
    monkeypatch.setenv("TEST_ERP_URL", "sqlite://")
    assert isinstance(make_connector(erp), ErpConnector)


def test_a_kind_not_built_yet_is_a_clear_config_error() -> None:
    missing = [k for k in ("odoo", "sap_b1") if k not in SUPPORTED]
    for kind in missing:
        with pytest.raises(ConfigError, match=f"the {kind} connector is not available yet"):
            make_connector(ErpConfig(kind=kind, url_env="X", companies=["A"]))
