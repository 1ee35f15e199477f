"""The whole nightly job on a fresh demo ERP: decisions, ERP state after writeback, idempotence."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from assets.resources import CreditControlSettings
from connectors.demo import DemoConnector
from creditctl.demo import prepare_demo
from etl.config import data_dir, load_config
from etl.pipeline import evaluate
from etl.plan import unapplied
from etl.rules import load_ruleset
from etl.store import StateStore
from tests.conftest import ROOT
from tests.writeback_helpers import AS_OF, Demo


def _materialize(config_path: Path, **settings):  # noqa: ANN202 - ExecuteInProcessResult
    return Demo(config_path).materialize(**settings)


@pytest.fixture
def demo_config() -> Path:
    path, created = prepare_demo(customers=400, as_of=AS_OF, rules=ROOT / "rules" / "credit_control.yaml")
    assert created
    return path


def test_nightly_job_decides_writes_back_and_is_idempotent(demo_config: Path) -> None:
    config = load_config(demo_config)
    connector = DemoConnector(Path(config.erp.options["path"]), config.erp.options)
    companies = config.erp.companies
    before_customers, before_orders = connector.read_state(companies)
    # the decisions an independent, Dagster-free evaluation of the same data gives
    from etl.extract import Extract

    extract_frames = {e: getattr(connector, f"read_{e}")(companies) for e in Extract.entities()}

    expected = evaluate(Extract(**extract_frames), load_ruleset(config.rules), AS_OF).decisions

    first = _materialize(demo_config)
    assert first.success
    assert all(e.passed for e in first.get_asset_check_evaluations())
    decisions = first.output_for_node("credit_decisions")
    assert decisions["action"].value_counts().to_dict() == expected["action"].value_counts().to_dict()
    assert set(decisions["run_id"]) == {first.run_id}
    counts = decisions["action"].value_counts()
    assert counts.get("block", 0) > 0 and counts.get("hold", 0) > 0 and counts.get("none", 0) > len(decisions) / 2

    # the ERP now shows every decision: blocks, held orders, prepayment, lowered limits
    customers, orders = connector.read_state(companies)
    state = decisions.merge(customers, on=["company", "customer_id"], suffixes=("", "_erp"))
    assert state.loc[state["block"], "is_blocked"].all()
    assert state.loc[state["require_prepayment"], "on_prepayment"].all()
    cut = state[state["new_credit_limit"].notna()]
    assert cut["credit_limit_erp"].notna().all()
    assert (cut["credit_limit_erp"] <= cut["new_credit_limit"] + 0.005).all()
    held = orders.merge(decisions[decisions["hold"]][["company", "customer_id"]])
    assert held["on_hold"].all() and len(held) > 0
    plan = first.output_for_node("writeback_plan")
    assert len(plan.changes) > 0
    assert unapplied(plan.changes, customers, orders).empty

    # a person's blocks are untouched
    person_blocked = before_customers[before_customers["is_blocked"]]
    after = customers.merge(person_blocked[["company", "customer_id"]])
    assert after["is_blocked"].all()

    store = StateStore(config.state_url(data_dir()))
    audit = store.audit(run_id=first.run_id)
    assert len(audit) == len(plan.changes)
    assert store.run(first.run_id)["status"] == "succeeded"

    second = _materialize(demo_config)
    assert second.success
    assert len(second.output_for_node("writeback_plan").changes) == 0
    assert store.audit(run_id=second.run_id).empty
    again_customers, again_orders = connector.read_state(companies)
    pd.testing.assert_frame_equal(again_customers, customers)
    pd.testing.assert_frame_equal(again_orders, orders)
    assert len(before_orders) == len(orders)


def test_dry_run_writes_nothing(demo_config: Path) -> None:
    config = load_config(demo_config)
    connector = DemoConnector(Path(config.erp.options["path"]), config.erp.options)
    before = connector.read_state(config.erp.companies)
    result = _materialize(demo_config, mode="dry-run")
    assert result.success
    assert len(result.output_for_node("writeback_plan").changes) > 0
    after = connector.read_state(config.erp.companies)
    pd.testing.assert_frame_equal(before[0], after[0])
    pd.testing.assert_frame_equal(before[1], after[1])


def test_blast_radius_guard_halts_writeback_unless_approved(demo_config: Path, tmp_path: Path) -> None:
    strict = tmp_path / "block_all.yaml"
    strict.write_text("version: 1\nname: Block everyone\nguards: {max_new_blocks_percent: 5}\nrules:\n"
                      "  - id: block-all\n    when: customer_age_days >= 0\n    then: block\n    reason: Test\n")
    text = demo_config.read_text().replace(str(ROOT / "rules" / "credit_control.yaml"), str(strict))
    demo_config.write_text(text)
    config = load_config(demo_config)
    connector = DemoConnector(Path(config.erp.options["path"]), config.erp.options)
    before = connector.read_state(config.erp.companies)
    halted = _materialize(demo_config)
    assert not halted.success
    failed = [e for e in halted.get_asset_check_evaluations() if not e.passed]
    assert [e.check_name for e in failed] == ["blast_radius"]
    pd.testing.assert_frame_equal(before[0], connector.read_state(config.erp.companies)[0])
    approved = _materialize(demo_config, approve=True)
    assert approved.success
    assert connector.read_state(config.erp.companies)[0]["is_blocked"].all()


def test_credit_rules_asset_fails_with_the_lint_message(tmp_path: Path) -> None:
    from dagster import Failure

    from assets.decisions import credit_rules
    from etl.rules import lint_paths

    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: Bad\nrules:\n  - id: typo\n    when: exposur > 1\n    then: block\n")
    config = tmp_path / "c.yaml"
    config.write_text(f"erp: {{kind: files, companies: [A], options: {{path: {tmp_path}}}}}\nrules: [{bad}]\n")
    with pytest.raises(Failure) as info:
        credit_rules(settings=CreditControlSettings(config_path=str(config)))
    assert info.value.description == "\n".join(str(m) for m in lint_paths([bad]))
    assert "bad.yaml:5:11: unknown field 'exposur'" in info.value.description
