"""What a person sees: the Dagster UI's asset graph on the demo, and the run's HTML report, in headless Chromium.

Screenshots are kept under test-artifacts/browser/ (or $CREDITCTL_TEST_ARTIFACTS/browser), named by test.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest

from etl.store import StateStore
from tests.browser_helpers import (
    Webserver,
    dagster_home,
    kept_on_failure,
    screenshot,
    start_chromium,
    start_webserver,
    wait_until,
)
from tests.conftest import ROOT

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

#: the assets the issue names; the graph must show each of them
CREDIT_CONTROL_ASSETS = {
    "erp_customers", "erp_open_items", "erp_open_orders", "erp_payments", "fx_rates", "credit_positions",
    "credit_rules", "credit_decisions", "writeback_plan", "erp_writeback", "credit_report",
}
LOCATION = "creditctl"  # workspace.yaml's pinned location_name
GROUP = "credit_control"
# every text node inside the graph's SVG nodes (Dagster draws each asset node as HTML in a foreignObject)
NODE_TEXTS_JS = """
const texts = [];
for (const node of document.querySelectorAll('svg foreignObject')) {
  const walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
  for (let t = walker.nextNode(); t; t = walker.nextNode()) { if (t.textContent.trim()) texts.push(t.textContent.trim()); }
}
return texts;
"""
# the names of the given asset nodes that are not wholly inside the graph's visible area, or covered by its toolbar
NOT_IN_VIEW_JS = """
const names = new Set(arguments[0]);
const svg = document.querySelector('svg foreignObject').ownerSVGElement;
let clip = svg.parentElement;
while (clip && getComputedStyle(clip).overflow !== 'hidden') clip = clip.parentElement;
const area = clip.getBoundingClientRect();
const seen = new Set();
for (const node of svg.querySelectorAll('foreignObject')) {
  const walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
  for (let t = walker.nextNode(); t; t = walker.nextNode()) {
    if (!names.has(t.textContent.trim())) continue;
    const box = t.parentElement.parentElement.getBoundingClientRect();
    const inside = box.width > 0 && box.left >= area.left && box.right <= area.right
      && box.top >= area.top && box.bottom <= area.bottom;
    // centre and corners must hit the node itself, not the toolbar floating over the graph
    const points = [[box.left + box.width / 2, box.top + box.height / 2], [box.left + 3, box.top + 3],
      [box.right - 3, box.top + 3], [box.left + 3, box.bottom - 3], [box.right - 3, box.bottom - 3]];
    const uncovered = points.every(([x, y]) => { const hit = document.elementFromPoint(x, y); return hit && node.contains(hit); });
    if (inside && uncovered) seen.add(t.textContent.trim());
  }
}
return [...names].filter(n => !seen.has(n)).sort();
"""
IMAGES_JS = """
return Array.from(document.images).map(i => ({id: i.id, src: i.src.slice(0, 22), complete: i.complete,
  naturalWidth: i.naturalWidth, naturalHeight: i.naturalHeight, shownWidth: i.getBoundingClientRect().width}));
"""


@dataclass(frozen=True)
class DemoRun:
    data: Path
    config: Path
    run_id: str
    store_url: str
    env: dict[str, str]

    @property
    def folder(self) -> Path:
        return self.data / "runs" / self.run_id


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """`creditctl demo` with 300 customers, as a user runs it, in its own data folder and Dagster instance."""
    data = tmp_path_factory.mktemp("browser-data")
    home = dagster_home(tmp_path_factory.mktemp("browser-dagster-home"))
    env = {k: v for k, v in os.environ.items()
           if k not in ("CREDITCTL_STATE_URL", "CREDITCTL_DEMO_STATE_URL", "CREDITCTL_CONFIG")}
    # the run's materialisations land in the same instance the webserver shows; wide COLUMNS keeps paths on one line
    env.update(CREDITCTL_DATA_DIR=str(data), DAGSTER_HOME=str(home), DAGSTER_DISABLE_TELEMETRY="1",
               GX_ANALYTICS_ENABLED="false", COLUMNS="1000")
    creditctl = Path(sys.executable).parent / "creditctl"
    proc = subprocess.run([str(creditctl), "demo", "--customers", "300", "--as-of", "2026-11-28"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    run_id = _printed(r"run id: ([0-9a-f-]{36})", proc.stdout)
    store_url = _printed(r"state store: (\S+)", proc.stdout)
    return DemoRun(data, Path(_printed(r"demo config: (\S+)", proc.stderr)), run_id, store_url, env)


def _printed(pattern: str, output: str) -> str:
    found = re.search(pattern, output)
    assert found, f"`creditctl demo` no longer prints {pattern!r}:\n{output[-2000:]}"
    return found.group(1)


@pytest.fixture(scope="module")
def webserver(demo_run: DemoRun, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Webserver]:
    """What `make dev` serves on the demo: dagster-webserver with the demo's config and instance."""
    env = {**demo_run.env, "CREDITCTL_CONFIG": str(demo_run.config)}
    server = start_webserver(env, tmp_path_factory.mktemp("webserver") / "webserver.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield driver
    finally:
        driver.quit()


def test_asset_graph_shows_the_credit_control_assets(webserver: Webserver, browser: WebDriver, request) -> None:
    from selenium.webdriver.common.by import By

    served = webserver.graphql("{ assetNodes { assetKey { path } groupName } }")["assetNodes"]
    in_group = {n["assetKey"]["path"][-1] for n in served if n["groupName"] == GROUP}
    assert CREDIT_CONTROL_ASSETS <= in_group, f"the code location's {GROUP} group lacks {CREDIT_CONTROL_ASSETS - in_group}"

    name = request.node.name
    with kept_on_failure(browser, name):
        browser.get(f"{webserver.url}/locations/{LOCATION}/asset-groups/{GROUP}")
        # React draws the graph after several GraphQL calls: wait until every node of the group is in the SVG
        texts: set[str] = set()

        def graph_drawn(driver: WebDriver) -> bool:
            texts.clear()
            texts.update(driver.execute_script(NODE_TEXTS_JS))
            return texts >= in_group

        wait_until(browser, 45, graph_drawn, lambda: f"the {GROUP} graph has no node for {sorted(in_group - texts)}")
        assert GROUP in browser.title
        # the first zoom leaves the graph's edges off screen at this size: zoom out until every node is wholly visible
        zoom_out = browser.find_element(By.XPATH, "//button[.//*[@aria-label='zoom_out']]")
        hidden: list[str] = []

        def all_in_view(driver: WebDriver) -> bool:
            hidden[:] = driver.execute_script(NOT_IN_VIEW_JS, sorted(in_group))
            if hidden:
                zoom_out.click()  # the zoom animates; the next poll looks again
            return not hidden

        wait_until(browser, 20, all_in_view, lambda: f"asset nodes not wholly visible even zoomed out: {hidden}")
        screenshot(browser, name)


def test_report_shows_the_runs_summary_charts_and_decisions(demo_run: DemoRun, browser: WebDriver, request) -> None:
    from selenium.webdriver.common.by import By

    # what the report must show, from the run's own records
    store = StateStore(demo_run.store_url)
    try:
        decisions, audit = store.decisions(demo_run.run_id), store.audit(run_id=demo_run.run_id)
    finally:
        store.dispose()
    from_csv = pd.read_csv(demo_run.folder / "decisions.csv", dtype={"customer_id": str})
    assert len(from_csv) == len(decisions) > 0
    planned = len(pd.read_csv(demo_run.folder / "plan.csv"))
    fired = int((from_csv["rule_ids"].fillna("") != "").sum())
    counts = {(c, a): str(n) for (c, a), n in decisions.groupby(["company", "action"]).size().items()}
    report = demo_run.folder / "report.html"
    assert report.is_file(), f"the run wrote no report at {report}"

    name = request.node.name
    with kept_on_failure(browser, name):
        browser.get(report.as_uri())
        wait_until(browser, 20, lambda d: d.execute_script("return document.readyState") == "complete",
                   lambda: f"{report} did not finish loading")
        run_line = browser.find_element(By.ID, "run").text
        assert demo_run.run_id in run_line
        assert f"{len(decisions)} customers, {len(audit)} change(s) written to the ERP, {planned} planned" in run_line
        summary = browser.find_element(By.ID, "summary")
        assert summary.is_displayed()
        rows = [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
                for row in summary.find_elements(By.TAG_NAME, "tr")[1:]]
        assert {(r[0], r[1]): r[2] for r in rows} == counts  # customers per company and action
        screenshot(browser, f"{name}-summary")

        images: list[dict] = []

        def charts_loaded(driver: WebDriver) -> bool:
            images[:] = driver.execute_script(IMAGES_JS)
            return bool(images) and all(i["complete"] for i in images)

        wait_until(browser, 20, charts_loaded, lambda: f"chart images still loading: {images}")
        assert {i["id"] for i in images} == {"aging-chart", "top-exposure-chart"}
        for image in images:
            assert image["src"] == "data:image/png;base64,", image  # embedded: no file or network needed
            assert image["naturalWidth"] > 0 and image["naturalHeight"] > 0, f"{image['id']} did not render: {image}"
            assert image["shownWidth"] > 0, f"{image['id']} takes no space on the page: {image}"

        decided = browser.find_elements(By.CSS_SELECTOR, "#decisions tr")[1:]
        assert len(decided) == fired > 0  # every decision a rule fired for, with its rules
        assert all(row.find_elements(By.TAG_NAME, "td")[6].text for row in decided), "a decision row lacks its rules"
        browser.execute_script("arguments[0].scrollIntoView()", browser.find_element(By.ID, "aging-chart"))
        screenshot(browser, f"{name}-charts")


#: a decision's action as the top-exposure chart's legend says it, in the chart's order (tests/etl.report)
LEGEND_WORDS = {"block": "block", "hold": "hold orders", "require_prepayment": "prepayment",
                "reduce_limit": "limit cut", "review": "review", "none": "no action"}


def test_report_opens_with_whom_to_call_first_with_names_currencies_and_legends(
        demo_run: DemoRun, browser: WebDriver, request) -> None:
    from selenium.webdriver.common.by import By

    # what the page must show, from the run folder's own files
    read = {"dtype": {"customer_id": str, "order_id": str}}
    positions = pd.read_csv(demo_run.folder / "positions.csv", **read)
    decisions = pd.read_csv(demo_run.folder / "decisions.csv", **read)
    plan = pd.read_csv(demo_run.folder / "plan.csv", **read)
    keys = ["company", "customer_id"]
    label = {k: f"{n} ({k[1]})" for k, n in zip(zip(positions["company"], positions["customer_id"], strict=True),
                                                 positions["name"], strict=True)}
    currency = dict(zip(positions["company"], positions["company_currency"], strict=False))
    assert set(currency.values()) == {"EUR", "USD"}, currency
    restricted = plan[plan["change"].isin(["block", "hold_order", "set_prepayment"])][keys].drop_duplicates()
    work = restricted.merge(positions, on=keys)
    work = work.assign(at_risk=work["overdue_amount"] + work["over_limit_amount"].fillna(0.0)).sort_values(
        ["at_risk", "exposure", "company", "customer_id"], ascending=[False, False, True, True], kind="stable")
    expected_order = [label[k] for k in zip(work["company"], work["customer_id"], strict=True)]
    assert len(expected_order) > 3
    chart = positions.merge(decisions[keys + ["action"]], on=keys)
    top = pd.concat([part.nlargest(10, "exposure") for _, part in chart.groupby("company_currency")])
    expected_legend = [LEGEND_WORDS[a] for a in LEGEND_WORDS if a in set(top["action"])]
    totals = {c: f"{v:,.2f} {c}" for c, v in positions.groupby("company_currency")["exposure"].sum().items()}

    name = request.node.name
    with kept_on_failure(browser, name):
        browser.get((demo_run.folder / "report.html").as_uri())
        wait_until(browser, 20, lambda d: d.execute_script("return document.readyState") == "complete",
                   lambda: "the report did not finish loading")

        def cells(table_id: str) -> list[list[str]]:
            return [[c.text for c in row.find_elements(By.TAG_NAME, "td")]
                    for row in browser.find_elements(By.CSS_SELECTOR, f"#{table_id} tr")[1:]]

        # the page opens with the worklist, by exposure at risk, each customer by name
        headings = [h.text for h in browser.find_elements(By.TAG_NAME, "h2")]
        assert headings[0] == "Whom to call first", headings
        worklist = cells("worklist")
        assert [r[1] for r in worklist] == expected_order
        for row, company in zip(worklist, work["company"], strict=True):
            assert row[2] == company and row[4], row  # why, in words
            assert all(amount.endswith(" " + currency[company]) for amount in row[5:8]), row
        screenshot(browser, f"{name}-worklist")

        # money per company currency: the summary's exposure, the totals (never EUR + USD together)
        summary = cells("summary")
        assert summary and all(r[3].endswith(" " + currency[r[0]]) for r in summary), summary
        assert {r[0]: r[3] for r in cells("currency-totals")} == totals

        # names in the decisions too
        fired = decisions[decisions["rule_ids"].fillna("") != ""]
        shown = {r[1] for r in cells("decisions")}
        assert shown == {label[k] for k in zip(fired["company"], fired["customer_id"], strict=True)}

        # the top-exposure chart's colours are explained: its legend, read back from the drawing
        legend = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#top-exposure-legend .legend-entry")]
        assert legend == expected_legend
        alt = browser.find_element(By.ID, "top-exposure-chart").get_attribute("alt")
        assert "(EUR, USD)" in alt and all(f"{e} = " in alt for e in expected_legend), alt
        browser.execute_script("arguments[0].scrollIntoView()", browser.find_element(By.ID, "top-exposure-chart"))
        screenshot(browser, f"{name}-legend")
