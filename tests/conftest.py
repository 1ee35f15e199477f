"""Shared fixtures. Tests use real databases; a server that is down fails with how to start it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own data directory and never touches a configured state store."""
    folder = tmp_path_factory.mktemp("data")
    monkeypatch.setenv("CREDITCTL_DATA_DIR", str(folder))
    for name in ("CREDITCTL_STATE_URL", "CREDITCTL_DEMO_STATE_URL", "CREDITCTL_CONFIG", "DAGSTER_HOME"):
        monkeypatch.delenv(name, raising=False)
    return folder
