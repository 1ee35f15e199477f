"""Headless Chromium (Debian's), the Dagster webserver in a subprocess, and screenshots kept as artifacts."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import ROOT

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
VIEWPORT = (1600, 1000)
# root on a closed network: no sandbox, and nothing that phones home (otherwise Chromium's background
# connections get refused in bulk and page loads stall)
CHROMIUM_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
)
ARTIFACTS_ENV = "CREDITCTL_TEST_ARTIFACTS"


def artifact_dir() -> Path:
    """Where screenshots go: $CREDITCTL_TEST_ARTIFACTS/browser, else <repo>/test-artifacts/browser (git-ignored)."""
    folder = Path(os.environ.get(ARTIFACTS_ENV) or ROOT / "test-artifacts") / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def start_chromium(profile: Path) -> WebDriver:
    """Debian's headless Chromium through its chromedriver; fails (never skips) when either is missing."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file()]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found: `make setup` installs Debian's chromium and chromium-driver",
                    pytrace=False)
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("selenium is not installed: `make setup` installs the dev dependencies", pytrace=False)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    # --window-size is the outer window; pin the page's viewport so screenshots are VIEWPORT exactly
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": VIEWPORT[0], "height": VIEWPORT[1], "deviceScaleFactor": 1, "mobile": False})
    return driver


@contextmanager
def kept_on_failure(driver: WebDriver, name: str) -> Iterator[None]:
    """On any failure inside, keep a screenshot and the page source named after the test, then re-raise."""
    folder = artifact_dir()
    for stale in folder.glob(f"{name}-failed.*"):  # from an earlier run; would mislead next to a fresh result
        stale.unlink()
    try:
        yield
    except BaseException:
        try:
            driver.save_screenshot(str(folder / f"{name}-failed.png"))
            (folder / f"{name}-failed.html").write_text(driver.page_source, encoding="utf-8")
            print(f"failure artifacts: {folder / name}-failed.png, {folder / name}-failed.html")
        except Exception as exc:  # noqa: BLE001 - the original failure matters more
            print(f"could not keep failure artifacts for {name}: {exc}")
        raise


def wait_until(driver: WebDriver, seconds: float, condition: Callable[[WebDriver], object],
               failure: Callable[[], str]) -> object:
    """Poll the page (no fixed sleeps) until condition is truthy; else fail with failure()'s account of why."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, seconds, poll_frequency=0.25).until(condition)
    except TimeoutException:
        pytest.fail(f"after {seconds:.0f} s: {failure()}")


def screenshot(driver: WebDriver, name: str) -> Path:
    path = artifact_dir() / f"{name}.png"
    assert driver.save_screenshot(str(path)), f"screenshot {path} was not written"
    print(f"screenshot: {path}")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Webserver:
    url: str
    process: subprocess.Popen
    log: Path

    def graphql(self, query: str) -> dict:
        request = urllib.request.Request(f"{self.url}/graphql", data=json.dumps({"query": query}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.load(response)["data"]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def dagster_home(folder: Path) -> Path:
    """A fresh instance: no telemetry, no 'join the community' dialog over the UI."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dagster.yaml").write_text("telemetry:\n  enabled: false\nnux:\n  enabled: false\n")
    return folder


def start_webserver(env: dict[str, str], log: Path, timeout: float = 90) -> Webserver:
    """`dagster-webserver -w workspace.yaml` on a free port, returned once its code location answers GraphQL."""
    port = free_port()
    command = [str(Path(sys.executable).parent / "dagster-webserver"), "-w", "workspace.yaml",
               "-h", "127.0.0.1", "-p", str(port)]
    with log.open("wb") as sink:  # a file, not a pipe: a full pipe would block the server
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
    server = Webserver(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if server.graphql("{ assetNodes { id } }")["assetNodes"]:
                return server
        except OSError:
            pass
        if process.poll() is not None:
            pytest.fail(f"dagster-webserver exited with {process.returncode}: {_tail(log)}", pytrace=False)
        time.sleep(0.5)
    server.stop()
    pytest.fail(f"dagster-webserver did not serve the code location within {timeout:.0f} s: {_tail(log)}",
                pytrace=False)


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:]
