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


def test_every_kind_of_the_config_has_a_connector() -> None:
    from typing import get_args

    from etl.config import ErpKind

    assert set(get_args(ErpKind)) == set(SUPPORTED)


def test_read_only_kinds_cannot_apply_and_say_so(tmp_path) -> None:
    import pandas as pd

    from connectors import READ_ONLY, write_problem
    from etl.ports import ConnectorError

    assert set(READ_ONLY) <= set(SUPPORTED)
    for kind in READ_ONLY:
        connector = make_connector(ErpConfig(kind=kind, companies=["A"], options={"path": str(tmp_path)}))
        with pytest.raises(ConnectorError, match="cannot change an ERP"):
            connector.apply("A", pd.DataFrame())
        assert write_problem(kind) == f"the {kind} connector cannot write to an ERP"
    assert all(write_problem(kind) is None for kind in SUPPORTED if kind not in READ_ONLY)
