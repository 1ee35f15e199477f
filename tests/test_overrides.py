"""Overrides (SPEC §6.2): exemptions and forced blocks win over the rules while valid; audited."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from etl.overrides import active_overrides, apply_overrides
from tests.cli_helpers import run_cli
from tests.conftest import ROOT
from tests.writeback_helpers import AS_OF, DEMO_STATE_ENV, Demo, make_demo


def first_customer(demo: Demo, company: str) -> str:
    customers, _ = demo.state()
    return str(customers[customers["company"] == company]["customer_id"].iloc[0])


def _decisions() -> pd.DataFrame:
    return pd.DataFrame([
        {"company": "C1", "customer_id": "a", "action": "block", "block": True, "hold": True,
         "require_prepayment": True, "credit_limit": 1000.0, "new_credit_limit": 500.0, "rule_ids": "r1;r2",
         "reasons": "overdue | late", "data_incomplete": False},
        {"company": "C1", "customer_id": "b", "action": "none", "block": False, "hold": False,
         "require_prepayment": False, "credit_limit": 1000.0, "new_credit_limit": 1000.0, "rule_ids": "",
         "reasons": "", "data_incomplete": False},
    ])


def _override(oid: int, customer: str, kind: str, until: dt.date, removed: bool = False) -> dict:
    return {"id": oid, "company": "C1", "customer_id": customer, "kind": kind, "reason": "manager says",
            "expires_on": until, "removed_at": pd.Timestamp("2026-11-01", tz="UTC") if removed else None}


def test_exempt_and_force_block_apply_while_valid() -> None:
    overrides = pd.DataFrame([_override(1, "a", "exempt", AS_OF), _override(2, "b", "force_block", AS_OF)])
    out = apply_overrides(_decisions(), overrides, AS_OF)
    a, b = out.iloc[0], out.iloc[1]
    assert not (a["block"] or a["hold"] or a["require_prepayment"]) and a["new_credit_limit"] == 1000.0
    assert a["action"] == "none" and a["rule_ids"] == "override:exempt"
    assert "override #1" in a["reasons"] and "manager says" in a["reasons"] and "r1;r2" in a["reasons"]
    assert b["block"] and b["hold"] and b["action"] == "block" and b["rule_ids"] == "override:force_block"

    expired = apply_overrides(_decisions(), overrides, AS_OF + dt.timedelta(days=1))
    pd.testing.assert_frame_equal(expired, _decisions())
    removed = pd.DataFrame([_override(1, "a", "exempt", AS_OF, removed=True)])
    pd.testing.assert_frame_equal(apply_overrides(_decisions(), removed, AS_OF), _decisions())


def test_an_exempted_customer_is_not_blocked_until_the_override_expires() -> None:
    demo = make_demo(150)
    dry = demo.materialize(mode="dry-run")
    decisions = dry.output_for_node("credit_decisions")
    customers, _ = demo.state()
    candidates = decisions.merge(customers[~customers["is_blocked"]][["company", "customer_id"]])
    target = candidates[candidates["block"]].iloc[0]
    healthy = candidates[candidates["action"] == "none"].iloc[0]
    store = demo.store()
    store.add_override(target["company"], target["customer_id"], "exempt", AS_OF, "payment plan agreed", "alice")
    store.add_override(healthy["company"], healthy["customer_id"], "force_block", AS_OF, "fraud check", "bob")
    store.dispose()

    def blocked(customer: pd.Series) -> bool:
        state, _ = demo.state()
        return bool(state.set_index(["company", "customer_id"]).loc[(customer["company"], customer["customer_id"]),
                                                                     "is_blocked"])

    valid = demo.materialize()
    assert valid.success
    assert not blocked(target) and blocked(healthy)
    decided = valid.output_for_node("credit_decisions").set_index("customer_id")
    assert decided.loc[target["customer_id"], "rule_ids"] == "override:exempt"
    assert decided.loc[healthy["customer_id"], "rule_ids"].startswith("override:force_block")

    expired = demo.materialize(as_of=AS_OF + dt.timedelta(days=1))
    assert expired.success
    assert blocked(target)  # the exemption ran out: the rules block again
    assert not blocked(healthy)  # the forced block ran out: this tool's block is released (auto_release)
    store = demo.store()
    try:
        audit = store.audit(customer_id=target["customer_id"])
        assert audit.loc[0, "change"] == "override_add"
        assert (audit.loc[1:, "run_id"] == expired.run_id).all()  # nothing restricted it while exempt
        assert "block" in audit["change"].tolist()
    finally:
        store.dispose()


def test_override_cli_add_list_remove_is_audited(capsys, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    demo = make_demo(20)
    config = demo.config_path
    customer = first_customer(demo, "Demo GmbH")  # an override is checked against the ERP's customers
    until = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    added = run_cli(capsys, monkeypatch, "override", "add", "--config", str(config), "--company", "Demo GmbH",
                    "--customer", customer, "--kind", "exempt", "--until", until, "--reason", "disputed invoice",
                    "--by", "alice")
    assert added.code == 0, added.err
    assert f"override #1: exempt for Demo GmbH/{customer}" in added.out
    bad = run_cli(capsys, monkeypatch, "override", "add", "--config", str(config), "--company", "Demo GmbH",
                  "--customer", customer, "--kind", "pardon", "--until", until, "--reason", "x")
    assert bad.code == 2 and "exempt or force_block" in bad.err
    listed = run_cli(capsys, monkeypatch, "override", "list", "--config", str(config))
    assert customer in listed.out and "1 override(s)" in listed.out
    removed = run_cli(capsys, monkeypatch, "override", "remove", "1", "--config", str(config), "--reason",
                      "settled", "--by", "alice")
    assert removed.code == 0, removed.err
    assert "0 override(s)" in run_cli(capsys, monkeypatch, "override", "list", "--config", str(config)).out
    assert "1 override(s)" in run_cli(capsys, monkeypatch, "override", "list", "--all", "--config", str(config)).out
    again = run_cli(capsys, monkeypatch, "override", "remove", "1", "--config", str(config), "--reason", "x")
    assert again.code == 2 and "already removed" in again.err
    audit = run_cli(capsys, monkeypatch, "audit", "--config", str(config), "--customer", customer)
    assert "override_add" in audit.out and "override_remove" in audit.out and "2 audit row(s)" in audit.out


def test_far_expiry_dates_are_dates_not_timestamps() -> None:
    far = dt.date(9999, 12, 31)
    overrides = pd.DataFrame([_override(1, "a", "exempt", far), _override(2, "b", "force_block", far)])
    assert active_overrides(overrides, AS_OF)["id"].tolist() == [1, 2]
    out = apply_overrides(_decisions(), overrides, AS_OF)
    assert out.loc[0, "rule_ids"] == "override:exempt" and "until 9999-12-31" in out.loc[0, "reasons"]
    assert out.loc[1, "action"] == "block"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_far_expiry_already_in_the_store_breaks_no_list_simulation_or_run(
        backend: str, request: pytest.FixtureRequest, tmp_path: Path, capsys, monkeypatch) -> None:
    """An override until 9999-12-31 (the old CLI accepted it; the new one refuses it) used to make
    list, simulate and every nightly run fail with OutOfBoundsDatetime, and list --all even after
    its removal."""
    if backend == "postgresql":
        monkeypatch.setenv(DEMO_STATE_ENV, request.getfixturevalue("pg_url"))
    monkeypatch.chdir(ROOT)
    demo = make_demo(30)
    config = str(demo.config_path)
    customers, _ = demo.state()
    gmbh = customers[customers["company"] == "Demo GmbH"]["customer_id"].tolist()
    exempted, removed = gmbh[0], gmbh[1]
    store = demo.store()
    try:
        store.add_override("Demo GmbH", exempted, "exempt", dt.date(9999, 12, 31), "forever, said the old CLI", "al")
        gone = store.add_override("Demo GmbH", removed, "force_block", dt.date(9999, 12, 31), "forever", "al")
        store.remove_override(gone, "settled", "al")
        if backend == "postgresql":  # PostgreSQL even holds dates Python cannot (year 10000 and on)
            with store.engine.begin() as conn:
                conn.execute(sa.text(
                    "INSERT INTO overrides (company, customer_id, kind, reason, created_by, created_at, expires_on)"
                    " VALUES ('Demo Inc', 'X-1', 'exempt', 'by hand', 'sql', now(), '12000-06-30')"))
    finally:
        store.dispose()
    rows = 3 if backend == "postgresql" else 2

    listed = run_cli(capsys, monkeypatch, "override", "list", "--config", config)
    assert listed.code == 0, listed.err
    assert f"Demo GmbH/{exempted}  exempt until 9999-12-31" in listed.out and f"{rows - 1} override(s)" in listed.out
    everything = run_cli(capsys, monkeypatch, "override", "list", "--all", "--config", config)
    assert everything.code == 0, everything.err
    assert f"{removed}  force_block until 9999-12-31" in everything.out and f"{rows} override(s)" in everything.out

    run = run_cli(capsys, monkeypatch, "run", "--config", config, "--mode", "dry-run", "--as-of", AS_OF.isoformat())
    assert run.code == 0, run.err
    store = demo.store()
    try:
        decisions = store.decisions(store.last_run()["run_id"]).set_index(["company", "customer_id"])
    finally:
        store.dispose()
    assert decisions.loc[("Demo GmbH", exempted), "rule_ids"] == "override:exempt"
    assert "until 9999-12-31" in decisions.loc[("Demo GmbH", exempted), "reasons"]
    assert not decisions.loc[("Demo GmbH", removed), "rule_ids"].startswith("override:")

    simulated = run_cli(capsys, monkeypatch, "simulate", "--config", config, "--rules",
                        str(ROOT / "rules" / "credit_control.yaml"), "--as-of", AS_OF.isoformat(),
                        "--out", str(tmp_path / "simulation.csv"))
    assert simulated.code == 0, simulated.err
    assert "0 customer(s) decided differently" in simulated.out
