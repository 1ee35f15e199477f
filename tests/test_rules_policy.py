"""The default policy on the demo ERP: realistic thresholds, within its own blast-radius guard."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from etl.rules import load_ruleset

ROOT = Path(__file__).resolve().parents[1]
AS_OF = datetime.date(2026, 3, 31)


def test_default_policy_on_the_demo_erp(tmp_path: Path) -> None:
    demo = pytest.importorskip("connectors.demo")
    from etl.extract import Extract
    from etl.pipeline import evaluate

    path = demo.generate_demo_erp(tmp_path / "demo.sqlite", customers=2000, as_of=AS_OF)
    connector = demo.DemoConnector(path)
    companies = list(demo.DEMO_COMPANIES)
    extract = Extract(
        companies=connector.read_companies(companies), customers=connector.read_customers(companies),
        open_items=connector.read_open_items(companies), open_orders=connector.read_open_orders(companies),
        payments=connector.read_payments(companies), fx_rates=connector.read_fx_rates(companies),
    )
    ruleset = load_ruleset([ROOT / "rules" / "credit_control.yaml"])
    result = evaluate(extract, ruleset, AS_OF)
    decisions = result.decisions.merge(result.positions[["company", "customer_id", "is_blocked"]],
                                       on=["company", "customer_id"])
    n = len(decisions)
    assert n >= 1900
    new_blocks = (decisions["block"] & ~decisions["is_blocked"].astype(bool)).sum()
    assert 0 < new_blocks <= n * ruleset.guards.max_new_blocks_percent / 100  # the guard would not trip
    assert (decisions["action"] == "none").mean() > 0.7  # mostly healthy customers get no action
    fired = set(result.fired["rule_id"])
    # every rule the demo data can trigger does (ERPNext has no insurance cover: that rule stays quiet)
    assert {r.id for r in ruleset.rules} - fired <= {"uninsured-exposure-review"}
    assert set(result.positions["risk_grade"]) == {"A", "B", "C", "D"}
