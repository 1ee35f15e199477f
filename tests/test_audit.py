"""The audit trail (SPEC §6.3): one row per ERP change with before -> after, rule ids and the
ruleset hash; releases only of this tool's own restrictions; `creditctl audit`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from etl.plan import RELEASE_REASON
from tests.cli_helpers import run_cli
from tests.conftest import ROOT
from tests.writeback_helpers import DEMO_STATE_ENV, make_demo

NOTHING_FIRES = ("version: 1\nname: Lenient\nauto_release: true\nrules:\n"
                 "  - id: never\n    when: exposure < -1\n    then: block\n    reason: never\n")


def test_every_change_audited_once_and_releases_only_of_this_tools_blocks(
        tmp_path: Path, capsys, monkeypatch, pg_url: str) -> None:
    monkeypatch.setenv(DEMO_STATE_ENV, pg_url)
    demo = make_demo(150)
    before, _ = demo.state()
    person_blocked = before[before["is_blocked"]][["company", "customer_id"]]
    assert len(person_blocked) > 0

    first = demo.materialize()
    assert first.success
    plan = first.output_for_node("writeback_plan").changes
    sha = first.output_for_node("credit_rules").sha256
    store = demo.store()
    try:
        audit = store.audit(run_id=first.run_id)
    finally:
        store.dispose()
    keys = ["company", "customer_id", "change", "order_id", "before", "after", "rule_ids", "reason"]
    pd.testing.assert_frame_equal(audit[keys].reset_index(drop=True), plan[keys].astype(str).reset_index(drop=True))
    assert (audit["ruleset_sha256"] == sha).all() and (audit["rule_ids"] != "").all()
    assert (audit["before"] != audit["after"]).all()

    monkeypatch.chdir(ROOT)
    shown = run_cli(capsys, monkeypatch, "audit", "--config", str(demo.config_path), "--run", first.run_id)
    assert shown.code == 0 and f"{len(audit)} audit row(s)" in shown.out
    tool_blocked = audit[audit["change"] == "block"][["company", "customer_id"]].reset_index(drop=True)
    kept, released = tool_blocked.iloc[0], tool_blocked.iloc[1:]
    one = run_cli(capsys, monkeypatch, "audit", "--config", str(demo.config_path), "--customer", kept["customer_id"])
    assert "block: false -> true" in one.out and sha[:12] in one.out

    # no rule asks for anything any more; one of this tool's blocked customers now has a quarantined row
    demo.use_rules(NOTHING_FIRES, tmp_path)
    connector = demo.connector()
    items = connector.read_open_items([kept["company"]])
    connector.close()
    item = items[(items["customer_id"] == kept["customer_id"]) & (items["amount"] > 0)]["item_id"].iloc[0]
    erp = sa.create_engine(f"sqlite:///{demo.erp_path}")
    invoice = item.split("/")[0]  # an installment's invoice
    with erp.begin() as conn:  # one open invoice due before its date: quarantined
        conn.execute(sa.text('update "tabSales Invoice" set due_date = date(posting_date, \'-10 days\') '
                             'where name = :v'), {"v": invoice})
        conn.execute(sa.text('update "tabPayment Schedule" set due_date = (select date(posting_date, \'-10 days\') '
                             'from "tabSales Invoice" where name = :v) where parent = :v'), {"v": invoice})
    erp.dispose()
    second = demo.materialize()
    assert second.success
    decided = second.output_for_node("credit_decisions").set_index(["company", "customer_id"])
    assert decided.loc[(kept["company"], kept["customer_id"]), "data_incomplete"]
    state = demo.state()[0].set_index(["company", "customer_id"])["is_blocked"]
    assert state.loc[(kept["company"], kept["customer_id"])]  # data_incomplete: kept
    assert not state.loc[list(released.itertuples(index=False, name=None))].any()  # this tool's: released
    assert state.loc[list(person_blocked.itertuples(index=False, name=None))].all()  # a person's: never
    store = demo.store()
    try:
        unblocks = store.audit(run_id=second.run_id)
    finally:
        store.dispose()
    unblocks = unblocks[unblocks["change"] == "unblock"]
    assert len(unblocks) == len(released) and (unblocks["reason"] == RELEASE_REASON).all()
    assert (unblocks["before"] == "true").all() and (unblocks["after"] == "false").all()
