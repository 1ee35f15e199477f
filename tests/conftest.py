"""Shared fixtures. Tests use real databases; a server that is down fails with how to start it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")

import pandas as pd  # noqa: E402

pd.options.mode.copy_on_write = True  # as every run does (assets/__init__.py)


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own data directory and never touches a configured state store."""
    folder = tmp_path_factory.mktemp("data")
    monkeypatch.setenv("CREDITCTL_DATA_DIR", str(folder))
    for name in ("CREDITCTL_STATE_URL", "CREDITCTL_DEMO_STATE_URL", "CREDITCTL_CONFIG", "DAGSTER_HOME"):
        monkeypatch.delenv(name, raising=False)
    return folder


# --- real database servers ---------------------------------------------------------------------
PG_ADMIN_URL = os.environ.get("CREDITCTL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PG_START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"


def _fresh_database_url(admin_url: str, name: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    except Exception as exc:  # noqa: BLE001 - turned into an actionable failure
        pytest.fail(f"PostgreSQL at {make_url(admin_url).host}:{make_url(admin_url).port} is not reachable "
                    f"({type(exc).__name__}); start it with: {PG_START}", pytrace=False)
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> str:
    """A fresh, empty PostgreSQL database on the machine's server, dropped afterwards."""
    from sqlalchemy import create_engine, text

    name = f"creditctl_t_{os.getpid()}_{abs(hash(request.node.nodeid)) % 10**8}"
    url = _fresh_database_url(PG_ADMIN_URL, name)
    yield url
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


MARIADB_ADMIN_URL = os.environ.get("CREDITCTL_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
MARIADB_START = "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd"


@pytest.fixture
def mariadb_database(request: pytest.FixtureRequest) -> str:
    """A fresh, empty database on the machine's MariaDB, dropped afterwards; yields its name."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"creditctl_t_{os.getpid()}_{abs(hash(request.node.nodeid)) % 10**8}"
    admin_url = make_url(MARIADB_ADMIN_URL)
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
            conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    except Exception as exc:  # noqa: BLE001 - turned into an actionable failure
        pytest.fail(f"MariaDB at {admin_url.host}:{admin_url.port} is not reachable ({type(exc).__name__}); "
                    f"start it with: {MARIADB_START}", pytrace=False)
    yield name
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
    admin.dispose()
