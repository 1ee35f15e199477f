"""Shared pieces of the writeback tests: a demo ERP with a state store on SQLite or PostgreSQL,
runs of the job, ERP snapshots and fault injection from outside the connector.

Faults are injected with a SQLAlchemy ``before_cursor_execute`` listener on every Engine that
acts only on the demo ERP file's write statements: after ``n`` INSERT/UPDATE statements it raises
(or kills its own process). Nothing in the connector knows about it.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from dagster import materialize
from sqlalchemy import event
from sqlalchemy.engine import Engine

from assets.definitions import all_assets, all_checks
from assets.resources import CreditControlSettings, ErpResource, StateStoreResource
from connectors.demo import DemoConnector
from creditctl.demo import prepare_demo
from etl.config import data_dir, load_config
from etl.store import StateStore
from tests.conftest import ROOT

AS_OF = dt.date(2026, 11, 28)
DEMO_STATE_ENV = "CREDITCTL_DEMO_STATE_URL"


class InjectedFault(RuntimeError):
    """Raised by the fault injector in the middle of a company's ERP transaction."""


@dataclass
class Demo:
    config_path: Path

    @property
    def config(self):  # noqa: ANN201 - RunConfig
        return load_config(self.config_path)

    @property
    def erp_path(self) -> Path:
        return Path(self.config.erp.options["path"])

    def connector(self) -> DemoConnector:
        return DemoConnector(self.erp_path, self.config.erp.options)

    def state(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        connector = self.connector()
        try:
            return connector.read_state(self.config.erp.companies)
        finally:
            connector.close()

    def store(self) -> StateStore:
        return StateStore(self.config.state_url(data_dir()))

    def use_rules(self, text: str, tmp_path: Path) -> None:
        rules = tmp_path / "rules.yaml"
        rules.write_text(text)
        config = self.config_path.read_text()
        self.config_path.write_text(config.replace(str(ROOT / "rules" / "credit_control.yaml"), str(rules)))

    def materialize(self, *, as_of: dt.date = AS_OF, **settings):  # noqa: ANN201 - ExecuteInProcessResult
        path = str(self.config_path)
        return materialize(
            [*all_assets, *all_checks],
            resources={
                "settings": CreditControlSettings(config_path=path, as_of=as_of.isoformat(), **settings),
                "erp": ErpResource(config_path=path),
                "state_store": StateStoreResource(config_path=path),
            },
            raise_on_error=False,
        )


def make_demo(customers: int = 300) -> Demo:
    path, _ = prepare_demo(customers=customers, as_of=AS_OF, rules=ROOT / "rules" / "credit_control.yaml")
    return Demo(path)


def same_state(a: tuple[pd.DataFrame, pd.DataFrame], b: tuple[pd.DataFrame, pd.DataFrame],
               company: str | None = None) -> bool:
    def pick(frame: pd.DataFrame) -> pd.DataFrame:
        return (frame if company is None else frame[frame["company"] == company]).reset_index(drop=True)
    return pick(a[0]).equals(pick(b[0])) and pick(a[1]).equals(pick(b[1]))


@contextmanager
def fail_after(erp_path: Path, statements: int, action: Callable[[], None] | None = None) -> Iterator[list[str]]:
    """Run ``action`` (default: raise InjectedFault) at the ERP's write statement number ``statements + 1``."""
    seen: list[str] = []
    target = str(erp_path)

    def listener(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        if conn.engine.url.database != target or not statement.lstrip().upper().startswith(("UPDATE", "INSERT")):
            return
        seen.append(statement.split()[1] if len(statement.split()) > 1 else statement)
        if len(seen) > statements:
            if action is None:
                raise InjectedFault(f"injected fault after {statements} ERP write statement(s)")
            action()

    event.listen(Engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", listener)


_CHILD = """
import datetime as dt, os, signal, sys, time
from pathlib import Path
from sqlalchemy import event
from sqlalchemy.engine import Engine
from creditctl.runner import run_nightly

erp, statements, how, gate = sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
seen = []

def listener(conn, cursor, statement, parameters, context, executemany):
    if conn.engine.url.database != erp or not statement.lstrip().upper().startswith(("UPDATE", "INSERT")):
        return
    seen.append(statement)
    if how == "kill" and len(seen) > statements:
        os.kill(os.getpid(), signal.SIGKILL)
    if how == "wait" and len(seen) == 1:
        Path(gate + ".inside").write_text("applying")
        deadline = time.time() + 60
        while not Path(gate).exists() and time.time() < deadline:
            time.sleep(0.05)

event.listen(Engine, "before_cursor_execute", listener)
outcome = run_nightly(Path(sys.argv[1]), as_of=dt.date(2026, 11, 28), mode="apply")
print(outcome.run_id, outcome.success, outcome.message)
sys.exit(0 if outcome.success else 1)
"""


def start_child(demo: Demo, how: str, *, statements: int = 0, gate: Path | None = None) -> subprocess.Popen:
    """The job in a child process: ``kill`` itself after N ERP writes, or ``wait`` inside the apply for ``gate``."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_CHILD), str(demo.config_path), str(demo.erp_path), str(statements),
         how, str(gate or "")],
        cwd=ROOT, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
