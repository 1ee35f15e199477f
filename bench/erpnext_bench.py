"""Benchmark: the ERPNext connector's SQL reads against the same SQL run raw, and its API writes
against the API stand-in.

Not a test. Usage::

    .venv/bin/python bench/erpnext_bench.py                      # 100k customers, 2000 writes
    .venv/bin/python bench/erpnext_bench.py --customers 10000 --writes 500 --keep

It creates a fresh MariaDB database (``--db`` on the server of ``--admin-url``), creates the
generated ERPNext v15 tables and loads the synthetic business of ``--customers`` customers
(connectors.synthetic, the demo's mix; connectors.erpnext.fixture writes it as ERPNext documents).

Reads, per frame (customers, open_items, open_orders, payments; both companies):

- ``connector_s``: ``ErpNextConnector.read_<frame>`` (wall time, engine connected before);
- ``raw_s``: every SQL statement that read sent (captured with SQLAlchemy's cursor events, with
  its parameters) run again through a bare pymysql unbuffered cursor, every row fetched and
  discarded: the database's and the driver's share, without pandas;
- ``ratio`` = connector_s / raw_s. The fastest of ``--repeat`` runs of each side.

Writes: a plan of ``--writes`` changes (blocks of unblocked customers, holds of open orders,
half each) applied through ``ErpNextConnector.apply`` to the API stand-in
(tests/erpnext_standin.py, a werkzeug server storing into the same database) with the connector's
default concurrency (4): ``changes_per_s`` and ``calls_per_s`` (HTTP requests the stand-in
answered). The stand-in serialises its database work, so this measures the client and one
server process; a real site answers a write in 80-115 ms (median, recordings), so there
concurrency, not the client, sets the rate.

Writes bench/results/erpnext.json (``--out``) and prints it; drops the database unless ``--keep``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402
import pymysql  # noqa: E402
from sqlalchemy import create_engine, event, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from connectors.erpnext import ErpNextConnector  # noqa: E402
from connectors.erpnext.fixture import load_extract  # noqa: E402
from connectors.synthetic import synthetic_extract  # noqa: E402
from etl.plan import PLAN_COLUMNS  # noqa: E402

FRAMES = ("customers", "open_items", "open_orders", "payments")


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _fresh_database(admin_url: str, name: str) -> str:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _drop_database(admin_url: str, name: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
    admin.dispose()


def _captured_read(connector: ErpNextConnector, frame: str, companies: list[str]) -> tuple[float, list, int]:
    """(seconds, [(statement, parameters)], rows) of one connector read."""
    statements: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ARG001
        statements.append((statement, parameters))

    event.listen(connector.engine, "before_cursor_execute", capture)
    try:
        start = time.perf_counter()
        result = getattr(connector, f"read_{frame}")(companies)
        elapsed = time.perf_counter() - start
    finally:
        event.remove(connector.engine, "before_cursor_execute", capture)
    return elapsed, statements, len(result)


def _raw(url: str, statements: list) -> float:
    u = make_url(url)
    conn = pymysql.connect(host=u.host, port=u.port or 3306, user=u.username, password=u.password or "",
                           database=u.database, charset="utf8mb4", cursorclass=pymysql.cursors.SSCursor)
    try:
        start = time.perf_counter()
        for statement, parameters in statements:
            with conn.cursor() as cursor:
                cursor.execute(statement, parameters)
                while cursor.fetchmany(50_000):
                    pass
        return time.perf_counter() - start
    finally:
        conn.close()


def _write_plan(connector: ErpNextConnector, company: str, writes: int) -> pd.DataFrame:
    customers, orders = connector.read_state([company])
    free = customers[~customers["is_blocked"]].head(writes - writes // 2)
    open_orders = orders[~orders["on_hold"]].head(writes // 2)
    rows = [{"company": company, "customer_id": c, "change": "block", "order_id": "", "before": "false",
             "after": "true", "rule_ids": "bench", "reason": "benchmark"} for c in free["customer_id"]]
    rows += [{"company": company, "customer_id": c, "change": "hold_order", "order_id": o, "before": "false",
              "after": "true", "rule_ids": "bench", "reason": "benchmark"}
             for c, o in zip(open_orders["customer_id"], open_orders["order_id"], strict=True)]
    return pd.DataFrame(rows, columns=PLAN_COLUMNS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--writes", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--admin-url", default="mysql+pymysql://root@127.0.0.1:3306/test?charset=utf8mb4")
    parser.add_argument("--db", default="creditctl_bench_erpnext")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "erpnext.json")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)

    from tests.erpnext_standin import ErpNextStandIn  # the stand-in lives with the tests

    url = _fresh_database(args.admin_url, args.db)
    try:
        start = time.perf_counter()
        extract = synthetic_extract(args.customers)
        generated_s = time.perf_counter() - start
        start = time.perf_counter()
        load_extract(url, extract)
        load_s = time.perf_counter() - start
        companies = extract.companies["company"].tolist()
        rows = {frame: len(getattr(extract, frame)) for frame in FRAMES}
        del extract

        connector = ErpNextConnector(url)
        connector.read_companies(companies)  # connected, modules imported
        reads = {}
        for frame in FRAMES:
            runs = [_captured_read(connector, frame, companies) for _ in range(max(1, args.repeat))]
            connector_s = min(r[0] for r in runs)
            raw_s = min(_raw(url, runs[0][1]) for _ in range(max(1, args.repeat)))
            reads[frame] = {"rows": runs[0][2], "statements": len(runs[0][1]), "connector_s": round(connector_s, 3),
                            "raw_s": round(raw_s, 3), "ratio": round(connector_s / raw_s, 2) if raw_s else None}
            print(f"read {frame}: {reads[frame]}", flush=True)

        os.environ.setdefault("ERPNEXT_API_KEY", "KEY")
        os.environ.setdefault("ERPNEXT_API_SECRET", "SECRET")
        engine = create_engine(url)
        with ErpNextStandIn(engine) as standin:
            writer = ErpNextConnector(url, {"api_url": standin.url})
            plan = _write_plan(writer, companies[0], args.writes)
            start = time.perf_counter()
            applied = writer.apply(companies[0], plan)
            write_s = time.perf_counter() - start
            calls = len(standin.requests)
        engine.dispose()
        writes = {"changes": applied, "calls": calls, "seconds": round(write_s, 2),
                  "changes_per_s": round(applied / write_s, 1), "calls_per_s": round(calls / write_s, 1),
                  "concurrency": writer.api_concurrency}
        print(f"API writes: {writes}", flush=True)
        result = {
            "benchmark": "erpnext", "customers": args.customers, "source_rows": rows,
            "generated_s": round(generated_s, 1), "load_s": round(load_s, 1), "reads": reads, "api_writes": writes,
            "peak_rss_mb": round(_peak_mb()), "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "date": datetime.date.today().isoformat(),
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(json.dumps(result, indent=2))
    finally:
        if not args.keep:
            _drop_database(args.admin_url, args.db)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
