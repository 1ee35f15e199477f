"""Benchmark: scale-out by company partition. One Dagster run per company, in parallel, against one run
over every company, on the same data.

Not a test. Usage::

    .venv/bin/python bench/partition_bench.py --sizes 10000,100000          # 4 x 2,500 and 4 x 25,000
    .venv/bin/python bench/partition_bench.py --sizes 1000000                # 4 x 250,000 against 1M
    .venv/bin/python bench/partition_bench.py --sizes 10000 --executor in_process --store postgres --no-save

Per size N: bench/nightly_data.py generates N customers (20 open items, 12 payments, 2 orders each)
split evenly over four companies (DE01 EUR, US01 USD, GB01 GBP, FR01 EUR) and loads them by COPY into
the canonical connector's tables of ``creditctl_bench_partitions_<N>_src``. Each variant then gets its
own copy of that database (``CREATE DATABASE … TEMPLATE``), a run config (canonical connector,
writeback ``apply``, the default policy), a fresh state store (``--store``: a SQLite file, or a
PostgreSQL database ``creditctl_bench_partitions_<N>_state_<variant>``) created before the runs as
``creditctl store upgrade`` does at deployment, a fresh run folder and a fresh Dagster instance
(creditctl/dagster.yaml: the ``erp_writeback`` pool limited to 1):

* ``partitions``: the code location of workspace.yaml (a gRPC code server, as ``dagster dev`` and the
  daemon load it) with ``CREDITCTL_CONFIG`` naming the config; one run per company partition, created
  and submitted through the instance as ``dagster job launch`` does, all four at once. The instance's
  ``DefaultRunCoordinator`` hands each straight to the ``DefaultRunLauncher``, which starts every run
  in its own process; each run executes its steps with ``--executor`` (default ``multiprocess``, the
  default of a launched run: each step in its own process, frames between steps through the
  instance's filesystem IO manager; ``in_process``: one process per run). The daemon's
  ``QueuedRunCoordinator`` (the schedule's path) launches them the same way, ``max_concurrent_runs``
  at a time.
* ``single``: ``creditctl.runner.run_nightly`` — what ``creditctl run --mode apply`` does — in a fresh
  Python process: one in-process run over all four companies (a partition range, frames in memory).

Measures: ``wall_s`` (submission of the first run to the end of the last; the single run: the
``run_nightly`` call), each run's own start-to-end time from the instance, and memory sampled every
``--sample`` seconds from /proc: per run the peak of the summed RSS of its process tree (run worker
plus its step processes; with ``in_process`` that is the one process's VmHWM), the largest single
process's VmHWM, and over all runs the sum and max of the per-run peaks and the peak of their
concurrent total (what the machine must hold). The code server's own RSS is reported apart. Then the
outcome of every run: the state store's run record, decisions, audit rows per company, the locks
left, the journal, and that every company's plan was applied and verified.

Results: bench/results/partitions.json (``--out``; the latest record per size, executor and store
is kept).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT, ROOT / "bench"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import nightly_data  # noqa: E402
from nightly_bench import _admin, _db_url  # noqa: E402 - the same database helpers

AS_OF = dt.date(2026, 11, 28)
SIZES = [10_000, 100_000]
COMPANIES = [("DE01", "EUR"), ("US01", "USD"), ("GB01", "GBP"), ("FR01", "EUR")]
DB_PREFIX = "creditctl_bench_partitions_"
DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
RESULTS = ROOT / "bench" / "results" / "partitions.json"
ERP_ENV = "CREDITCTL_BENCH_ERP_URL"  # the variable the bench's run config names in erp.url_env
STATE_ENV = "CREDITCTL_BENCH_STATE_URL"  # ... and in state_url_env
JOB = "nightly_credit_control"
LOCATION = "creditctl"  # workspace.yaml's location_name


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- databases

def _fresh_db(admin_url: str, name: str, template: str | None = None) -> str:
    assert name.startswith(DB_PREFIX), name  # never touch another benchmark's databases
    _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(admin_url, f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return _db_url(admin_url, name)


def _drop_db(admin_url: str, name: str) -> None:
    assert name.startswith(DB_PREFIX), name
    _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ---------------------------------------------------------------------------- a variant's setup

def write_setup(folder: Path, erp_url: str, state_url: str | None) -> dict[str, str]:
    """Run config, data folder and Dagster home of one variant in ``folder``; the environment its
    processes need (the URLs go through environment variables, as in production)."""
    from etl.store import StateStore

    data = folder / "data"
    home = folder / "dagster_home"
    data.mkdir(parents=True)
    home.mkdir()
    # the local instance template (SQLite history, erp_writeback pool of 1), launching at once: no daemon
    (home / "dagster.yaml").write_text(
        (ROOT / "creditctl" / "dagster.yaml").read_text(encoding="utf-8")
        + "run_coordinator:\n  module: dagster._core.run_coordinator\n  class: DefaultRunCoordinator\n",
        encoding="utf-8")
    config = folder / "creditctl.yaml"
    config.write_text(
        f"erp: {{kind: canonical, url_env: {ERP_ENV}, companies: [{', '.join(c for c, _ in COMPANIES)}]}}\n"
        f"rules: [{ROOT / 'rules' / 'credit_control.yaml'}]\n"
        f"writeback: apply\nstate_url_env: {STATE_ENV}\ndata_dir: {data}\n", encoding="utf-8")
    env = {**os.environ, "CREDITCTL_CONFIG": str(config), "DAGSTER_HOME": str(home), ERP_ENV: erp_url,
           "CREDITCTL_DATA_DIR": str(data), "GX_ANALYTICS_ENABLED": "false", "DAGSTER_DISABLE_TELEMETRY": "1"}
    env.pop(STATE_ENV, None)
    if state_url:
        env[STATE_ENV] = state_url
    url = state_url or f"sqlite:///{data / 'state.sqlite'}"
    StateStore(url).dispose()  # the schema, before the runs (`creditctl store upgrade` at deployment)
    return env


# ---------------------------------------------------------------------------- memory sampling

def _status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM (kB) and PPid of a process, {} when it is gone (or a zombie)."""
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key == "State" and value.split()[0] == "Z":
                    return {}
                if key in ("VmRSS", "VmHWM", "PPid"):
                    out[key] = int(value.split()[0])
    except (OSError, ValueError):
        return {}
    return out


def _descendants(root: int) -> dict[int, int]:
    """pid -> parent pid of every living descendant of ``root`` (one pass over /proc)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _status(int(entry))
            if st:
                parents[int(entry)] = st.get("PPid", 0)
    found: dict[int, int] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in found:
                found[pid] = ppid
                frontier.append(pid)
    return found


class TreeSampler:
    """Samples the process tree under ``root`` every ``interval`` s: each process's VmHWM (monotonic, so
    the last sample before it exits holds nearly all of it) and, per top-level child (a run worker),
    the summed RSS of its subtree at each instant."""

    def __init__(self, root: int, interval: float) -> None:
        self.root, self.interval = root, interval
        self.hwm_kb: dict[int, int] = {}  # pid -> VmHWM
        self.top: dict[int, int] = {}  # pid -> its top-level ancestor below root (a run worker)
        self.tree_peak_kb: dict[int, int] = {}  # run worker -> peak of its subtree's summed RSS
        self.root_peak_kb = 0
        self.total_peak_kb = 0  # every run worker subtree at once
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> None:
        tree = _descendants(self.root)
        sums: dict[int, int] = {}
        for pid, ppid in tree.items():
            st = _status(pid)
            if not st:
                continue
            top = pid if ppid == self.root else self.top.get(ppid, ppid)
            self.top[pid] = top
            self.hwm_kb[pid] = max(self.hwm_kb.get(pid, 0), st.get("VmHWM", 0))
            sums[top] = sums.get(top, 0) + st.get("VmRSS", 0)
        for top, kb in sums.items():
            self.tree_peak_kb[top] = max(self.tree_peak_kb.get(top, 0), kb)
        self.total_peak_kb = max(self.total_peak_kb, sum(sums.values()))
        self.root_peak_kb = max(self.root_peak_kb, _status(self.root).get("VmHWM", 0))

    def run_memory(self, worker: int) -> dict[str, float]:
        pids = [p for p, top in self.top.items() if top == worker]
        return {"peak_rss_mb": round(self.tree_peak_kb.get(worker, 0) / 1024, 1),
                "max_process_hwm_mb": round(max((self.hwm_kb[p] for p in pids), default=0) / 1024, 1),
                "processes": len(pids)}


# ---------------------------------------------------------------------------- the partition runs

def _run_config(executor: str) -> dict:
    """The launchpad's run config: the run options on ``settings`` (the config path stays $CREDITCTL_CONFIG:
    a run config replaces the resource's whole config) and the executor."""
    return {"resources": {"settings": {"config": {"config_path": {"env": "CREDITCTL_CONFIG"},
                                                  "as_of": AS_OF.isoformat(), "mode": "apply"}}},
            "execution": {"config": {executor: {}}},
            "loggers": {"console": {"config": {"log_level": "WARNING"}}}}  # the event log stays in the instance


@contextmanager
def _environment(env: dict[str, str]):  # noqa: ANN202
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def _stdout_to_stderr():  # noqa: ANN202 - the code server and run workers inherit fd 1: keep stdout for the JSON
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def launch_partitions(env: dict[str, str], executor: str, sample: float, timeout: float) -> dict:
    """One run per company partition through the instance's run launcher, all at once; waits for them."""
    from dagster import DagsterInstance
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import WorkspaceFileTarget

    with _stdout_to_stderr(), _environment(env), DagsterInstance.get() as instance:
        with WorkspaceProcessContext(instance, WorkspaceFileTarget(paths=[str(ROOT / "workspace.yaml")])) as process:
            location = process.create_request_context().get_code_location(LOCATION)
            server_pid = _code_server_pid(location)
            try:
                out = _launch(instance, process, server_pid, executor, sample, timeout)
            except BaseException:
                _kill_tree(server_pid)  # a code server waits for its runs: stop them, they are ours
                raise
        _wait_gone(server_pid)  # it stops after its runs: its folder goes with the variant
        return _summarise(instance, out)


def _kill_tree(root: int) -> None:
    for pid in [root, *_descendants(root)]:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _wait_gone(pid: int | None, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while pid is not None and _status(pid) and time.monotonic() < deadline:
        time.sleep(0.2)


def _launch(instance, process, server_pid: int, executor: str, sample: float,  # noqa: ANN001
            timeout: float) -> dict:
    """Create and submit the runs, wait for them while sampling memory: the raw results."""
    workspace = process.create_request_context()
    location = workspace.get_code_location(LOCATION)
    repo = next(iter(location.get_repositories().values()))
    remote_job = repo.get_full_job(JOB)
    plan = location.get_execution_plan(remote_job, _run_config(executor), step_keys_to_execute=None,
                                       known_state=None, instance=instance).execution_plan_snapshot
    runs = {}
    for company, _ in COMPANIES:  # as `dagster job launch --tags '{"dagster/partition": …}'` creates them
        run = instance.create_run(
            job_name=JOB, run_id=None, run_config=_run_config(executor), resolved_op_selection=None,
            step_keys_to_execute=plan.step_keys_to_execute, op_selection=None, status=None,
            root_run_id=None, parent_run_id=None,
            tags={**remote_job.tags, "dagster/partition": company, "creditctl/company": company},
            job_snapshot=remote_job.job_snapshot, execution_plan_snapshot=plan,
            parent_job_snapshot=remote_job.parent_job_snapshot,
            remote_job_origin=remote_job.get_remote_origin(), job_code_origin=remote_job.get_python_origin(),
            asset_selection=None, asset_check_selection=None, asset_graph=repo.asset_graph)
        runs[company] = run.run_id
    with TreeSampler(server_pid, sample) as sampler:
        start = time.perf_counter()
        for run_id in runs.values():
            instance.submit_run(run_id, workspace)
        deadline = time.monotonic() + timeout
        while not all(instance.get_run_by_id(r).is_finished for r in runs.values()):
            if time.monotonic() > deadline:
                raise SystemExit(f"partition runs still going after {timeout:.0f} s: {runs}")
            time.sleep(0.5)
        wall = time.perf_counter() - start
        sampler.sample()
    return {"wall_s": round(wall, 2), "run_ids": runs, "sampler": sampler}


def _summarise(instance, raw: dict) -> dict:  # noqa: ANN001
    """Per run: status, own duration, memory of its process tree; over the runs: sums and peaks."""
    from dagster import DagsterEventType

    sampler: TreeSampler = raw["sampler"]
    out: dict[str, Any] = {"wall_s": raw["wall_s"], "runs": {}}
    for company, run_id in raw["run_ids"].items():
        record = instance.get_run_record_by_id(run_id)
        run = record.dagster_run
        start_event = instance.all_logs(run_id, of_type=DagsterEventType.RUN_START)
        worker = start_event[0].dagster_event.pid if start_event else None
        failure = "" if run.status.value == "SUCCESS" else _failure(instance, run_id)
        out["runs"][company] = {
            "run_id": run_id, "status": run.status.value, "failure": failure,
            "run_s": round((record.end_time or 0) - (record.start_time or 0), 2),
            **(sampler.run_memory(worker) if worker else {}),
        }
        _log(f"    {company}: {run.status.value} in {out['runs'][company]['run_s']} s {failure}")
    peaks = [r.get("peak_rss_mb", 0.0) for r in out["runs"].values()]
    out.update({"peak_rss_sum_mb": round(sum(peaks), 1), "peak_rss_max_mb": max(peaks),
                "peak_rss_concurrent_mb": round(sampler.total_peak_kb / 1024, 1),
                "code_server_rss_mb": round(sampler.root_peak_kb / 1024, 1)})
    return out


def _code_server_pid(location: object) -> int:
    """The pid of the code location's gRPC server (``dagster api grpc``, a child of this process; the run
    workers are its children)."""
    location.get_repositories()  # the server is up
    for pid, ppid in _descendants(os.getpid()).items():
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if ppid == os.getpid() and b"api" in cmdline and b"grpc" in cmdline:
            return pid
    raise RuntimeError("no code server process found")


def _failure(instance: object, run_id: str) -> str:
    from dagster import DagsterEventType

    kinds = {DagsterEventType.STEP_FAILURE, DagsterEventType.RUN_FAILURE, DagsterEventType.ENGINE_EVENT}
    for event in instance.all_logs(run_id, of_type=kinds):
        error = getattr(event.dagster_event.event_specific_data, "error", None)
        if event.dagster_event.event_type != DagsterEventType.ENGINE_EVENT or error is not None:
            return f"{event.message or ''} {error.message if error else ''}"[:800]
    return ""


# ---------------------------------------------------------------------------- the single run

SINGLE_RUN = """
import json, sys, time, datetime as dt
from pathlib import Path
from creditctl.runner import run_nightly
start = time.perf_counter()
outcome = run_nightly(Path(sys.argv[1]), as_of=dt.date.fromisoformat(sys.argv[2]), mode="apply")
wall = time.perf_counter() - start
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
print(json.dumps({"run_id": outcome.run_id, "status": "SUCCESS" if outcome.success else "FAILURE",
                  "failure": outcome.message, "run_s": round(wall, 2), "peak_rss_mb": round(hwm / 1024, 1)}))
"""


def single_run(env: dict[str, str]) -> dict:
    """run_nightly over every company in a fresh process (what `creditctl run --mode apply` does)."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", SINGLE_RUN, env["CREDITCTL_CONFIG"], AS_OF.isoformat()],
                          env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False)
    process_s = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"the single run failed (exit {proc.returncode})")
    run = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"wall_s": run["run_s"], "process_s": round(process_s, 2), "runs": {"all": run},
            "peak_rss_sum_mb": run["peak_rss_mb"], "peak_rss_max_mb": run["peak_rss_mb"],
            "peak_rss_concurrent_mb": run["peak_rss_mb"]}


# ---------------------------------------------------------------------------- what the runs did

def outcome(env: dict[str, str], erp_url: str, result: dict) -> dict:
    """The state store's view of the variant's runs (as one night should leave it) and the ERP's."""
    import pandas as pd
    from sqlalchemy import create_engine, text

    from connectors.canonical_schema import OUTBOUND_TABLE
    from etl.config import load_config
    from etl.store import StateStore

    with _environment(env):
        config = load_config(env["CREDITCTL_CONFIG"])
        store = StateStore(config.state_url())
    companies = [c for c, _ in COMPANIES]
    try:
        runs, problems = {}, []
        for key, run in result["runs"].items():
            record = store.run(run["run_id"]) or {}
            expected = companies if key == "all" else [key]
            audit = store.audit(run_id=run["run_id"])
            decisions = store.decisions(run["run_id"])
            runs[key] = {"store_status": record.get("status"), "customers": record.get("customers"),
                         "changes": record.get("changes"), "audit_rows": len(audit),
                         "decisions": len(decisions)}
            if record.get("status") != "succeeded":
                problems.append(f"{key}: store status {record.get('status')} ({record.get('message')})")
            if set(audit.get("company", pd.Series(dtype=str))) - set(expected):
                problems.append(f"{key}: audit rows of other companies")
            if set(decisions["company"]) != set(expected):
                problems.append(f"{key}: decisions for {sorted(set(decisions['company']))}")
        with store.engine.connect() as conn:
            journal = dict(conn.execute(text("SELECT status, count(*) FROM journal GROUP BY status")).all())
        locks = store.locks()
        if locks:
            problems.append(f"locks left: {[r['name'] for r in locks]}")
        if journal.get("pending"):
            problems.append(f"{journal['pending']} journal rows pending")
        audit = store.audit(companies=companies)  # what was written: one row per applied change
    finally:
        store.dispose()
    plan = sum(len((Path(config.data_dir) / "runs" / r["run_id"] / "plan.csv").read_text().splitlines()) - 1
               for r in result["runs"].values())
    checks = _check_results(env, [r["run_id"] for r in result["runs"].values()])
    failed = sorted(name for name, passed in checks.items() if not passed)
    if failed:
        problems.append(f"failed checks: {failed}")
    if len(audit) != plan:
        problems.append(f"{plan} planned change(s), {len(audit)} audited")
    engine = create_engine(erp_url)
    with engine.connect() as conn:
        outbound = conn.execute(text(f"SELECT count(*) FROM {OUTBOUND_TABLE}")).scalar()
    engine.dispose()
    return {"runs": runs, "audit_rows": len(audit), "journal": journal, "locks_left": len(locks),
            "planned": plan, "checks_passed": sum(checks.values()), "checks": len(checks),
            "erp_outbound_rows": outbound, "problems": problems}


def _check_results(env: dict[str, str], run_ids: list[str]) -> dict[str, bool]:
    """"<run>:<check>" -> passed, for every asset check the runs evaluated (erp_state_verified included)."""
    from dagster import DagsterEventType, DagsterInstance

    found = {}
    with _environment(env), DagsterInstance.get() as instance:
        for run_id in run_ids:
            for event in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION):
                data = event.dagster_event.event_specific_data
                found[f"{run_id[:8]}:{data.check_name}"] = bool(data.passed)
    return found


# ---------------------------------------------------------------------------- driver

def bench_size(args: argparse.Namespace, n: int) -> dict:
    src = f"{DB_PREFIX}{n}_src"
    variants = ["partitions", "single"]
    names = [src] + [f"{DB_PREFIX}{n}_{v}" for v in variants] + (
        [f"{DB_PREFIX}{n}_state_{v}" for v in variants] if args.store == "postgres" else [])
    url = _fresh_db(args.admin_url, src)
    try:
        _log(f"{n:,} customers over {len(COMPANIES)} companies: generating …")
        start = time.perf_counter()
        extract = nightly_data.generate(n, AS_OF, seed=args.seed, companies=COMPANIES)
        generate_s = time.perf_counter() - start
        loaded = nightly_data.CanonicalLoader(url).load(extract, log=_log)
        per_company = extract.customers["company"].value_counts().to_dict()
        rows = {e: len(getattr(extract, e)) for e in ("customers", "open_items", "open_orders", "payments")}
        del extract
        result: dict[str, Any] = {"customers": n, "customers_per_company": per_company, "rows": rows,
                                  "executor": args.executor, "store": args.store,
                                  "data": {"generate_s": round(generate_s, 2), "load_s": loaded.seconds}}
        for variant in variants:
            erp_url = _fresh_db(args.admin_url, f"{DB_PREFIX}{n}_{variant}", template=src)
            state_url = (_fresh_db(args.admin_url, f"{DB_PREFIX}{n}_state_{variant}")
                         if args.store == "postgres" else None)
            with tempfile.TemporaryDirectory(prefix=f"creditctl-partition-bench-{variant}-",
                                             ignore_cleanup_errors=True) as tmp:  # a code server may still exit
                env = write_setup(Path(tmp), erp_url, state_url)
                _log(f"  {variant}: running …")
                load_start = os.getloadavg()[0]
                measured = (launch_partitions(env, args.executor, args.sample, args.timeout)
                            if variant == "partitions" else single_run(env))
                measured["loadavg_start"] = round(load_start, 2)
                measured["outcome"] = outcome(env, erp_url, measured)
                _log(f"  {variant}: wall {measured['wall_s']:.1f} s, peak RSS sum {measured['peak_rss_sum_mb']:,.0f} MB"
                     f" max {measured['peak_rss_max_mb']:,.0f} MB, problems {measured['outcome']['problems']}")
                result[variant] = measured
        p, s = result["partitions"], result["single"]
        result["speedup"] = round(s["wall_s"] / p["wall_s"], 2) if p["wall_s"] else None
        result["measured_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        return result
    finally:
        if not args.keep:
            for name in names:
                _drop_db(args.admin_url, name)


def save(args: argparse.Namespace, runs: list[dict], argv: list[str]) -> None:
    try:
        saved = json.loads(args.out.read_text())
    except (OSError, ValueError):
        saved = {}
    key = lambda r: (r["customers"], r["executor"], r["store"])  # noqa: E731
    kept = {key(r): r for r in saved.get("runs", [])}
    kept.update({key(r): r for r in runs})
    with open("/proc/meminfo") as fh:
        mem_kb = int(fh.readline().split()[1])
    doc = {
        "benchmark": "partitions",
        "command": " ".join(["bench/partition_bench.py", *argv]),
        "machine": {"cpus": os.cpu_count(), "mem_gb": round(mem_kb / 2**20, 1),
                    "python": platform.python_version()},
        "as_of": AS_OF.isoformat(),
        "measures": "partitions: one Dagster run per company, launched together through the instance's run "
                    "launcher (each run its own process; --executor inside it); single: creditctl.runner."
                    "run_nightly over every company in one process. wall_s: first submission to last run end "
                    "(single: the run_nightly call); run_s: a run's own start to end; peak_rss_mb of a run: peak "
                    "summed RSS of its process tree (sampled); *_sum/_max: over the runs; *_concurrent: peak of "
                    "all runs' trees at once",
        "runs": sorted(kept.values(), key=lambda r: (r["executor"], r["store"], r["customers"])),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)), help="total customers, comma-separated "
                    "(split over four companies)")
    ap.add_argument("--executor", default="multiprocess", choices=["multiprocess", "in_process"],
                    help="the executor inside each partition run")
    ap.add_argument("--store", default="sqlite", choices=["sqlite", "postgres"],
                    help="the state store: a fresh SQLite file, or a fresh PostgreSQL database")
    ap.add_argument("--admin-url", default=os.environ.get("CREDITCTL_BENCH_PG_URL", DEFAULT_ADMIN_URL),
                    help="a PostgreSQL URL allowed to create databases")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--sample", type=float, default=0.2, help="memory sampling interval, s")
    ap.add_argument("--timeout", type=float, default=3600.0, help="give up on the partition runs after this, s")
    ap.add_argument("--keep", action="store_true", help="keep the benchmark databases")
    ap.add_argument("--no-save", action="store_true", help="print only; do not write the results file")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    # a TERM unwinds like Ctrl-C: the partition runs are killed and the databases dropped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    runs = []
    for n in (int(s) for s in args.sizes.split(",") if s.strip()):
        result = bench_size(args, n)
        runs.append(result)
        if not args.no_save:  # after each size: a later size failing keeps the earlier results
            save(args, [result], argv)
    print(json.dumps(runs, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
