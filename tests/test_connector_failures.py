"""`creditctl run --mode apply` against an ERP it cannot reach or log in to (SPEC §6.3, §9).

"A connector pointed at an unreachable server or with wrong credentials fails with one clear line
naming the setting to fix, within 10 seconds, with no writeback." Each case runs the CLI
in-process and checks: exit code 1, exactly one line of output, naming ``erp.url_env``, no
password, no traceback, under 10 s, no audit row and no succeeded run in the state store.

Unreachable servers are simulated locally, because this machine's network intercepts outbound
connections (10.255.255.1 answers here, after ten seconds, with a reset):

* a closed port: the connection is refused at once;
* a dropped SYN (a listener whose backlog is full — what a non-routable address or a firewall
  that drops packets looks like): only the connect timeout ends the attempt;
* a silent server (accepts the TCP connection, never sends the greeting — a wrong service on
  the port, a hung server): only a timeout on the handshake ends it.

A watchdog shuts the simulated server down once the budget is spent, so a driver without a
timeout makes the test fail instead of hanging the suite. The timeout cases run once per
database driver (pymysql, pyodbc, psycopg; the silent server for the two MariaDB drivers, as
libpq's connect_timeout covers the handshake): the connectors share SqlConnector's connect path,
and what ends a hung connect is the driver's timeout.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from etl.config import data_dir
from etl.store import StateStore
from tests.cli_helpers import CliResult, run_cli
from tests.conftest import ROOT

URL_ENV = "CREDITCTL_FAILURE_TEST_ERP_URL"
PASSWORD = "s3cr3t-Pw"
BUDGET = 10.0  # seconds
WATCHDOG = BUDGET + 1  # seconds after which a simulated server goes away (the case failed by then)


@dataclass(frozen=True)
class Connector:
    kind: str
    scheme: str  # SQLAlchemy dialect+driver
    query: str = ""  # URL query string
    companies: tuple[str, ...] = ("DE01",)

    def url(self, host: str, port: int, user: str, database: str = "test") -> str:
        return f"{self.scheme}://{user}:{PASSWORD}@{host}:{port}/{database}{self.query}"

    @property
    def mariadb(self) -> bool:
        return self.scheme.startswith("mysql")


CONNECTORS = {
    "erpnext-pymysql": Connector("erpnext", "mysql+pymysql", "?charset=utf8mb4"),
    "erpnext-pyodbc": Connector("erpnext", "mysql+pyodbc", "?driver=MariaDB+Unicode&charset=utf8mb4"),
    "odoo": Connector("odoo", "postgresql+psycopg"),
    "sap_b1": Connector("sap_b1", "postgresql+psycopg", companies=("Demo GmbH",)),
    "canonical": Connector("canonical", "postgresql+psycopg"),
    "canonical-mariadb": Connector("canonical", "mysql+pymysql", "?charset=utf8mb4"),
}
#: one connector per database driver, for the cases that depend only on the driver
BY_DRIVER = ["erpnext-pymysql", "erpnext-pyodbc", "odoo"]


# --------------------------------------------------------------------------- simulated servers


def _shut(sock: socket.socket) -> None:
    """Shut down and close (a plain close does not wake a thread blocked in accept)."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


@contextmanager
def closed_port() -> Iterator[int]:
    """A port nothing listens on (bound, never listening: refused for the test's lifetime)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@contextmanager
def dropping_port() -> Iterator[int]:
    """A port whose SYNs are dropped: a listener with a full backlog that never accepts."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):  # fill the accept queue; Linux then drops further SYNs
        filler = socket.socket()
        filler.setblocking(False)
        try:
            filler.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(filler)
    time.sleep(0.1)
    watchdog = threading.Timer(WATCHDOG, _shut, [listener])
    watchdog.start()
    try:
        yield port
    finally:
        watchdog.cancel()
        for sock in (*fillers, listener):
            _shut(sock)


@contextmanager
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(conn)
            if stop.is_set():  # accepted while giving up
                _shut(conn)

    def give_up() -> None:
        stop.set()
        _shut(listener)
        for conn in list(accepted):
            _shut(conn)

    threading.Thread(target=accept, daemon=True).start()
    watchdog = threading.Timer(WATCHDOG, give_up)
    watchdog.start()
    try:
        yield listener.getsockname()[1]
    finally:
        watchdog.cancel()
        give_up()


# --------------------------------------------------------------------------- running and checking


def _config(tmp_path: Path, connector: Connector) -> Path:
    path = tmp_path / "creditctl.yaml"
    companies = ", ".join(f'"{c}"' for c in connector.companies)
    path.write_text(f"erp:\n  kind: {connector.kind}\n  url_env: {URL_ENV}\n  companies: [{companies}]\n"
                    f"rules: [{ROOT / 'rules' / 'credit_control.yaml'}]\nwriteback: apply\n")
    return path


def run_apply(tmp_path: Path, capsys, monkeypatch, connector: Connector, url: str) -> tuple[CliResult, float]:
    monkeypatch.setenv(URL_ENV, url)
    config = _config(tmp_path, connector)
    started = time.monotonic()
    result = run_cli(capsys, monkeypatch, "run", "--config", str(config), "--mode", "apply")
    return result, time.monotonic() - started


def assert_failed_cleanly(result: CliResult, elapsed: float) -> str:
    """Exit 1, one line naming erp.url_env without the password, nothing written, in time."""
    output = [line for line in (result.out + result.err).splitlines() if line.strip()]
    assert result.code == 1, output
    assert len(output) == 1, output
    line = output[0]
    assert line.startswith("error: ") and "Traceback" not in line, line
    assert "erp.url_env" in line, line
    assert PASSWORD not in line, line
    store = StateStore(f"sqlite:///{(data_dir() / 'state.sqlite').resolve()}")
    try:
        assert store.audit().empty
        assert store.last_run("succeeded") is None
        run_id = re.search(r"run (\S+) failed", line)
        assert run_id is not None, line
        assert store.run(run_id.group(1))["status"] == "failed"
    finally:
        store.dispose()
    assert elapsed < BUDGET, f"took {elapsed:.1f} s: {line}"
    return line


# --------------------------------------------------------------------------- unreachable


@pytest.mark.parametrize("name", list(CONNECTORS))
def test_closed_port(name: str, tmp_path, capsys, monkeypatch) -> None:
    connector = CONNECTORS[name]
    with closed_port() as port:
        result, elapsed = run_apply(tmp_path, capsys, monkeypatch, connector, connector.url("127.0.0.1", port, "root"))
    line = assert_failed_cleanly(result, elapsed)
    assert "cannot connect" in line


@pytest.mark.parametrize("name", BY_DRIVER)
def test_dropped_packets_end_at_the_connect_timeout(name: str, tmp_path, capsys, monkeypatch) -> None:
    connector = CONNECTORS[name]
    with dropping_port() as port:
        result, elapsed = run_apply(tmp_path, capsys, monkeypatch, connector, connector.url("127.0.0.1", port, "root"))
    # one connect timeout for the whole run: the other reads repeat the remembered failure
    assert_failed_cleanly(result, elapsed)


@pytest.mark.parametrize("name", ["erpnext-pymysql", "erpnext-pyodbc"])  # libpq's timeout covers it (psycopg)
def test_silent_server_ends_at_the_timeout(name: str, tmp_path, capsys, monkeypatch) -> None:
    connector = CONNECTORS[name]
    with silent_server() as port:
        result, elapsed = run_apply(tmp_path, capsys, monkeypatch, connector, connector.url("127.0.0.1", port, "root"))
    assert_failed_cleanly(result, elapsed)  # pymysql: the handshake's read timeout


# --------------------------------------------------------------------------- credentials


@pytest.mark.parametrize("name", list(CONNECTORS))
def test_wrong_password_or_unknown_user(name: str, tmp_path, capsys, monkeypatch) -> None:
    connector = CONNECTORS[name]
    port = 3306 if connector.mariadb else 5432
    # PostgreSQL here trusts local connections (any password): a role that does not exist fails
    users = ["root", "no_such_user_creditctl"] if connector.mariadb else ["no_such_role_creditctl"]
    for user in users:
        result, elapsed = run_apply(tmp_path, capsys, monkeypatch, connector, connector.url("127.0.0.1", port, user))
        line = assert_failed_cleanly(result, elapsed)
        assert re.search(r"Access denied|does not exist|authentication failed", line), line


def test_the_message_names_the_variable(tmp_path, capsys, monkeypatch) -> None:
    connector = CONNECTORS["odoo"]
    with closed_port() as port:
        result, _ = run_apply(tmp_path, capsys, monkeypatch, connector, connector.url("127.0.0.1", port, "root"))
    assert URL_ENV in result.err


def test_no_warning_is_printed_around_the_line(tmp_path, capsys, monkeypatch, recwarn) -> None:
    """The one line stays one line: no Python warning a user's terminal would show."""
    connector = CONNECTORS["odoo"]
    with closed_port() as port:
        run_apply(tmp_path, capsys, monkeypatch, connector, connector.url("127.0.0.1", port, "root"))
    hidden = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)  # not shown by default
    shown = {f"{w.category.__name__}: {w.message}" for w in recwarn if not issubclass(w.category, hidden)}
    assert not shown, shown
