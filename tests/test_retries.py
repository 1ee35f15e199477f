"""Run retries (issue 8): a read that fails with a transient database error is retried; a wrong
setting, a bad plan or a guard fails at once."""

from __future__ import annotations

import psycopg
import pymysql
import pyodbc
import pytest
from dagster import DagsterEventType
from pydantic import PrivateAttr

from assets.definitions import JOB_NAME, build_definitions
from assets.resources import CreditControlSettings, ErpResource, StateStoreResource
from connectors.transient import is_transient
from creditctl.runner import failure_message
from etl.ports import ConnectorError, ErpConnector
from tests.conftest import ROOT
from tests.writeback_helpers import AS_OF, make_demo


def _error(connect) -> BaseException:  # noqa: ANN001
    try:
        connect()
    except Exception as exc:  # noqa: BLE001 - the error is the test's subject
        return exc
    raise AssertionError("the connection was expected to fail")


@pytest.mark.parametrize("connect, transient", [
    (lambda: psycopg.connect("host=127.0.0.1 port=1 dbname=x connect_timeout=3"), True),
    (lambda: psycopg.connect("host=127.0.0.1 port=5432 dbname=test user=creditctl_no_such_role"), False),
    (lambda: psycopg.connect("host=127.0.0.1 port=5432 dbname=creditctl_no_such_db user=postgres"), False),
    (lambda: pymysql.connect(host="127.0.0.1", port=1, connect_timeout=3), True),
    (lambda: pymysql.connect(host="127.0.0.1", port=3306, user="root", password="wrong"), False),
    (lambda: pyodbc.connect("DRIVER={MariaDB Unicode};SERVER=127.0.0.1;PORT=1;UID=root", timeout=3), True),
    (lambda: pyodbc.connect("DRIVER={MariaDB Unicode};SERVER=127.0.0.1;PORT=3306;UID=root;PWD=wrong",
                            timeout=3), False),
], ids=["pg-refused", "pg-unknown-role", "pg-unknown-db", "mysql-refused", "mysql-denied",
        "odbc-refused", "odbc-denied"])
def test_real_connection_errors_are_classified(connect, transient: bool) -> None:
    assert is_transient(_error(connect)) is transient


def test_sql_errors_are_not_transient() -> None:
    with psycopg.connect("host=127.0.0.1 port=5432 dbname=test user=postgres") as conn:
        error = _error(lambda: conn.execute("SELEC 1"))
    assert not is_transient(error)


class _Flaky:
    """The real demo connector, but its first read_customers fails as ``error`` says."""

    def __init__(self, inner: ErpConnector, error: ConnectorError, failures: int) -> None:
        self._inner, self._error, self._left = inner, error, failures

    def read_customers(self, companies):  # noqa: ANN001, ANN201
        if self._left > 0:
            self._left -= 1
            raise self._error
        return self._inner.read_customers(companies)

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self._inner, name)


class FlakyErp(ErpResource):
    failures: int = 1
    transient: bool = True
    _flaky: _Flaky | None = PrivateAttr(default=None)

    def connector(self) -> ErpConnector:
        if self._flaky is None:
            error = ConnectorError("cannot connect to the ERP database ($ERP_DATABASE_URL): connection refused",
                                   transient=self.transient)
            self._flaky = _Flaky(super().connector(), error, self.failures)
        return self._flaky


def _run(config_path, *, failures: int, transient: bool, retries: int):  # noqa: ANN001, ANN202
    path = str(config_path)
    resources = {
        "settings": CreditControlSettings(config_path=path, as_of=AS_OF.isoformat(), mode="dry-run",
                                          retries=retries, retry_wait_seconds=0),
        "erp": FlakyErp(config_path=path, failures=failures, transient=transient),
        "state_store": StateStoreResource(config_path=path),
    }
    job = build_definitions(resources, companies=[]).resolve_job_def(JOB_NAME)
    result = job.execute_in_process(raise_on_error=False)
    retried = [e.step_key for e in result.all_events if e.event_type == DagsterEventType.STEP_UP_FOR_RETRY]
    return result, retried


def test_a_transient_read_error_is_retried_and_the_run_succeeds() -> None:
    demo = make_demo(100)
    result, retried = _run(demo.config_path, failures=1, transient=True, retries=2)
    assert result.success
    assert retried == ["erp_customers"]


def test_retries_end_after_the_configured_number() -> None:
    demo = make_demo(100)
    result, retried = _run(demo.config_path, failures=5, transient=True, retries=2)
    assert not result.success
    assert retried == ["erp_customers", "erp_customers"]


@pytest.mark.parametrize("retries", [0, 2])
def test_a_permanent_error_is_not_retried(retries: int) -> None:
    demo = make_demo(100)
    result, retried = _run(demo.config_path, failures=1, transient=False, retries=retries)
    assert not result.success and retried == []
    failure = next(e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE)
    assert "connection refused" in failure.step_failure_data.user_failure_data.description


def test_a_server_that_stays_down_is_retried_then_fails_naming_the_setting(tmp_path, monkeypatch) -> None:
    """A real refused connection (a closed port): transient, so retried, then one line naming the setting."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("TEST_ERP_URL", f"postgresql+psycopg://postgres@127.0.0.1:{port}/erp")
    config = tmp_path / "creditctl.yaml"
    config.write_text(f"erp: {{kind: canonical, url_env: TEST_ERP_URL, companies: [C1]}}\n"
                      f"rules: [{ROOT / 'rules' / 'credit_control.yaml'}]\nwriteback: apply\n")
    resources = {
        "settings": CreditControlSettings(config_path=str(config), as_of=AS_OF.isoformat(), retries=1,
                                          retry_wait_seconds=0),
        "erp": ErpResource(config_path=str(config)),
        "state_store": StateStoreResource(config_path=str(config)),
    }
    result = build_definitions(resources, companies=[]).resolve_job_def(JOB_NAME).execute_in_process(
        raise_on_error=False)
    assert not result.success
    retried = {e.step_key for e in result.all_events if e.event_type == DagsterEventType.STEP_UP_FOR_RETRY}
    assert "erp_customers" in retried
    message = failure_message(result)
    assert message.startswith("erp_") and "cannot connect to the ERP database (TEST_ERP_URL, from erp.url_env)" in message, message
    assert "ConnectorError" not in message and "\n" not in message, message
