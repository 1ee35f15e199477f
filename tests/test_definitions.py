"""The code location: one Definitions, the SPEC §8 graph, `dagster definitions validate`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dagster import AssetKey

from assets.definitions import JOB_NAME, build_definitions
from tests.conftest import ROOT

ASSETS = {
    "erp_companies", "erp_customers", "erp_open_items", "erp_open_orders", "erp_deliveries", "erp_payments",
    "fx_rates",
    "credit_positions", "credit_rules", "credit_decisions", "writeback_plan", "erp_writeback", "credit_report",
}
EXTRACTS = ("erp_companies", "erp_customers", "erp_open_items", "erp_open_orders", "erp_deliveries",
            "erp_payments", "fx_rates")
CHECKS = {
    *((name, "contract") for name in EXTRACTS),
    *((name, "gx_suite") for name in EXTRACTS),
    ("writeback_plan", "blast_radius"),
    ("erp_writeback", "erp_state_verified"),
}


def test_definitions_load_with_the_spec_graph() -> None:
    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    assert {k.to_user_string() for k in graph.get_all_asset_keys()} == ASSETS
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert checks == CHECKS
    # everything upstream of the side effect feeds it; the plan is the writeback's only data input
    assert graph.get(AssetKey("erp_writeback")).parent_keys == {AssetKey("writeback_plan"), AssetKey("credit_rules")}
    assert graph.get(AssetKey("credit_positions")).parent_keys >= {
        AssetKey(n) for n in ("erp_customers", "erp_open_items", "erp_open_orders", "erp_deliveries",
                              "erp_payments", "fx_rates")
    }
    assert {a.group_name for a in graph.asset_nodes} == {"credit_control"}
    job = defs.resolve_job_def(JOB_NAME)
    assert job.name == "nightly_credit_control"


def test_schedule_runs_at_two_in_the_configured_timezone(tmp_path: Path, monkeypatch) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("erp: {kind: demo, companies: [A], options: {path: x.sqlite}}\nrules: [r.yaml]\n"
                      "timezone: Europe/Berlin\n")
    monkeypatch.setenv("CREDITCTL_CONFIG", str(config))
    schedule = build_definitions().resolve_schedule_def("nightly_credit_control_schedule")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "Europe/Berlin"
    assert schedule.job_name == JOB_NAME


def test_dagster_definitions_validate() -> None:
    env = {k: v for k, v in os.environ.items() if k != "CREDITCTL_CONFIG"}
    dagster = Path(sys.executable).parent / "dagster"
    proc = subprocess.run([str(dagster), "definitions", "validate", "-w", "workspace.yaml"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Validation successful" in proc.stdout + proc.stderr


def test_webserver_shows_the_credit_control_graph(tmp_path: Path) -> None:
    """What `dagster dev` serves: the code location loads and lists every credit-control asset."""
    import json
    import socket
    import time
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    env.pop("CREDITCTL_CONFIG", None)
    webserver = Path(sys.executable).parent / "dagster-webserver"
    log = (tmp_path / "webserver.log").open("w")  # a file, not a pipe nobody drains while it runs
    proc = subprocess.Popen([str(webserver), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=log)
    query = json.dumps({"query": "{ assetNodes { assetKey { path } groupName } }"}).encode()
    try:
        deadline = time.monotonic() + 90
        nodes = None
        while time.monotonic() < deadline and nodes is None:
            try:
                request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=query,
                                                 headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(request, timeout=5) as response:
                    nodes = json.load(response)["data"]["assetNodes"]
            except OSError:
                assert proc.poll() is None, (tmp_path / "webserver.log").read_text()[-2000:]
                time.sleep(1)
        assert nodes is not None, "the webserver did not answer within 90 s"
        assert {n["assetKey"]["path"][0] for n in nodes} == ASSETS
        assert {n["groupName"] for n in nodes} == {"credit_control"}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
