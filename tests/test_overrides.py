"""Overrides (SPEC §6.2): exemptions and forced blocks win over the rules while valid; audited."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from etl.overrides import apply_overrides
from tests.cli_helpers import run_cli
from tests.conftest import ROOT
from tests.writeback_helpers import AS_OF, make_demo


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
    config = make_demo(20).config_path
    until = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    added = run_cli(capsys, monkeypatch, "override", "add", "--config", str(config), "--company", "Demo GmbH",
                    "--customer", "CUST-1", "--kind", "exempt", "--until", until, "--reason", "disputed invoice",
                    "--by", "alice")
    assert added.code == 0, added.err
    assert "override #1: exempt for Demo GmbH/CUST-1" in added.out
    bad = run_cli(capsys, monkeypatch, "override", "add", "--config", str(config), "--company", "Demo GmbH",
                  "--customer", "CUST-1", "--kind", "pardon", "--until", until, "--reason", "x")
    assert bad.code == 2 and "exempt or force_block" in bad.err
    listed = run_cli(capsys, monkeypatch, "override", "list", "--config", str(config))
    assert "CUST-1" in listed.out and "1 override(s)" in listed.out
    removed = run_cli(capsys, monkeypatch, "override", "remove", "1", "--config", str(config), "--reason",
                      "settled", "--by", "alice")
    assert removed.code == 0, removed.err
    assert "0 override(s)" in run_cli(capsys, monkeypatch, "override", "list", "--config", str(config)).out
    assert "1 override(s)" in run_cli(capsys, monkeypatch, "override", "list", "--all", "--config", str(config)).out
    again = run_cli(capsys, monkeypatch, "override", "remove", "1", "--config", str(config), "--reason", "x")
    assert again.code == 2 and "already removed" in again.err
    audit = run_cli(capsys, monkeypatch, "audit", "--config", str(config), "--customer", "CUST-1")
    assert "override_add" in audit.out and "override_remove" in audit.out and "2 audit row(s)" in audit.out
