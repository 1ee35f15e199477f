"""Memory stays bounded by design (issue 15): the nightly job over 100k customers, run the way a
user runs it (`creditctl run`, the Dagster job in one process), succeeds with its memory capped
by the kernel: the process runs in a memory cgroup of its own whose limit is the ceiling (over
it, the kernel's OOM killer ends the run). A cgroup counts the memory actually used; an address
space or data-segment rlimit would count reservations too (the run's VmData is about twice
its RSS), so it could not tell the two versions below apart with any margin.

Measured with this harness at 100k customers: this code peaks at ~1.3 GB RSS; the code before
compact extract frames and validate-once (bbd6906) at ~2.4 GB, and fails the 1.8 GB ceiling.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from etl.store import StateStore
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import nightly_data  # noqa: E402 - the benchmark's generator: 20 open items, 12 payments, 2 orders each

CUSTOMERS = 100_000
CEILING_MB = 1_800
AS_OF = dt.date(2026, 11, 28)
ERP_ENV = "TEST_MEMORY_ERP_URL"


def _memory_cgroup(limit: int) -> Path:
    """A fresh memory cgroup (v1 or v2) under this process's own, limited to ``limit`` bytes."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):  # cgroup v1
            group = Path("/sys/fs/cgroup/memory") / path.lstrip("/") / f"creditctl-ceiling-{os.getpid()}"
            limit_file = "memory.limit_in_bytes"
            break
    else:  # cgroup v2: the unified hierarchy
        path = Path("/proc/self/cgroup").read_text().splitlines()[0].split(":", 2)[2]
        group = Path("/sys/fs/cgroup") / path.lstrip("/") / f"creditctl-ceiling-{os.getpid()}"
        limit_file = "memory.max"
    try:
        group.mkdir()
        (group / limit_file).write_text(str(limit))
    except OSError as exc:
        pytest.fail(f"cannot create a memory cgroup at {group} ({exc}); this test needs a writable memory "
                    "cgroup (root, or a delegated cgroup) to cap the run's memory", pytrace=False)
    return group


def _peak_mb(group: Path) -> float:
    for name in ("memory.max_usage_in_bytes", "memory.peak"):
        if (group / name).is_file():
            return int((group / name).read_text()) / 2**20
    return float("nan")


def test_the_nightly_job_over_100k_customers_runs_under_its_memory_ceiling(pg_url: str, tmp_path: Path) -> None:
    nightly_data.CanonicalLoader(pg_url).load(nightly_data.generate(CUSTOMERS, AS_OF), log=lambda _: None)
    data = tmp_path / "data"
    companies = ", ".join(c for c, _ in nightly_data.COMPANIES)
    config = tmp_path / "creditctl.yaml"
    config.write_text(f"erp: {{kind: canonical, url_env: {ERP_ENV}, companies: [{companies}]}}\n"
                      f"rules: [{ROOT / 'rules' / 'credit_control.yaml'}]\nwriteback: apply\ndata_dir: {data}\n",
                      encoding="utf-8")
    env = {**os.environ, ERP_ENV: pg_url, "DAGSTER_HOME": str(data / "dagster_home"), "CREDITCTL_DATA_DIR": str(data)}
    (data / "dagster_home").mkdir(parents=True)
    (data / "dagster_home" / "dagster.yaml").write_text((ROOT / "creditctl" / "dagster.yaml").read_text())

    # --approve: the first night of a new installation blocks more than the blast-radius guard allows
    group = _memory_cgroup(CEILING_MB * 2**20)
    procs = str(group / "cgroup.procs")

    def _enter() -> None:  # in the child, before exec: the run and everything it starts are capped
        with open(procs, "w") as fh:
            fh.write(str(os.getpid()))

    try:
        proc = subprocess.run(
            [sys.executable, "-m", "creditctl", "run", "--config", str(config), "--mode", "apply", "--approve",
             "--as-of", AS_OF.isoformat()],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=900, preexec_fn=_enter, check=False)
        peak_mb = _peak_mb(group)
    finally:
        group.rmdir()
    killed = " (killed by the OOM killer)" if proc.returncode == -9 else ""
    assert proc.returncode == 0, (
        f"the nightly run over {CUSTOMERS:,} customers failed under a {CEILING_MB:,} MB memory ceiling{killed}, "
        f"peak {peak_mb:,.0f} MB: {(proc.stdout + proc.stderr)[-1500:]}")
    assert peak_mb <= CEILING_MB
    store = StateStore(f"sqlite:///{data / 'state.sqlite'}")
    try:
        run = store.last_run("succeeded")
        assert run is not None and run["mode"] == "apply", proc.stdout[-1500:]
        assert len(store.decisions(run["run_id"])) == CUSTOMERS
    finally:
        store.dispose()
