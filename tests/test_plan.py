"""The writeback plan (SPEC §6.2): only changes, releases only of what this tool set."""

from __future__ import annotations

import numpy as np
import pandas as pd

from etl.plan import PLAN_COLUMNS, RELEASE_REASON, base_limits, build_plan, tool_owned, unapplied


def decision(customer: str, *, block=False, hold=False, prepay=False, limit=10_000.0, new_limit=None,
             incomplete=False, company="C1", rules="") -> dict:
    return {
        "company": company, "customer_id": customer,
        "action": "block" if block else "hold" if hold else "none",
        "block": block, "hold": hold or block, "require_prepayment": prepay,
        "credit_limit": limit, "new_credit_limit": limit if new_limit is None else new_limit,
        "rule_ids": rules, "reasons": "because" if rules else "", "risk_grade": None,
        "data_incomplete": incomplete, "ruleset_sha256": "abc",
    }


def state(customer: str, *, blocked=False, prepay=False, limit=10_000.0, terms="Net 30", company="C1") -> dict:
    return {"company": company, "customer_id": customer, "is_blocked": blocked, "on_prepayment": prepay,
            "credit_limit": limit, "payment_terms": terms}


def order(customer: str, order_id: str, on_hold=False, company="C1") -> dict:
    return {"company": company, "order_id": order_id, "customer_id": customer, "on_hold": on_hold}


def audit_rows(*rows: tuple) -> pd.DataFrame:
    cols = ["company", "customer_id", "change", "order_id", "before", "after"]
    frame = pd.DataFrame([dict(zip(cols, r, strict=True)) for r in rows], columns=cols)
    return frame.assign(id=np.arange(len(frame)))


def plan_for(decisions, states, orders=(), audit=None, auto_release=True):
    return build_plan(pd.DataFrame(decisions), pd.DataFrame(states),
                      pd.DataFrame(list(orders), columns=["company", "order_id", "customer_id", "on_hold"]),
                      tool_owned(audit if audit is not None else audit_rows()), auto_release)


def test_only_changes_are_planned() -> None:
    plan = plan_for(
        [decision("a", block=True, rules="r1"), decision("b", block=True), decision("c")],
        [state("a"), state("b", blocked=True), state("c")],
        [order("a", "o1"), order("a", "o2", on_hold=True), order("c", "o3")],
    )
    changes = plan.changes
    assert list(changes.columns) == [*PLAN_COLUMNS, "name"]  # name: for people reading plan.csv
    assert changes[["customer_id", "change", "order_id"]].values.tolist() == [
        ["a", "block", ""], ["a", "hold_order", "o1"],
    ]
    assert changes.loc[0, "rule_ids"] == "r1"
    assert plan.new_blocks == 1 and plan.customers == 3


def test_a_persons_block_is_never_released() -> None:
    plan = plan_for([decision("a")], [state("a", blocked=True)], [order("a", "o1", on_hold=True)])
    assert plan.changes.empty


def test_this_tools_block_and_hold_are_released_when_no_rule_asks() -> None:
    audit = audit_rows(("C1", "a", "block", "", "false", "true"), ("C1", "a", "hold_order", "o1", "false", "true"))
    plan = plan_for([decision("a")], [state("a", blocked=True)],
                    [order("a", "o1", on_hold=True), order("a", "o2", on_hold=True)], audit)
    assert plan.changes[["change", "order_id"]].values.tolist() == [["unblock", ""], ["release_order", "o1"]]
    assert set(plan.changes["reason"]) == {RELEASE_REASON}


def test_no_release_without_auto_release_or_for_incomplete_data() -> None:
    audit = audit_rows(("C1", "a", "block", "", "false", "true"))
    assert plan_for([decision("a")], [state("a", blocked=True)], audit=audit, auto_release=False).changes.empty
    assert plan_for([decision("a", incomplete=True)], [state("a", blocked=True)], audit=audit).changes.empty


def test_block_released_once_then_owned_no_more() -> None:
    audit = audit_rows(("C1", "a", "block", "", "false", "true"), ("C1", "a", "unblock", "", "true", "false"))
    # a person blocked the customer again after this tool released it: not ours to release
    assert plan_for([decision("a")], [state("a", blocked=True)], audit=audit).changes.empty


def test_prepayment_set_and_restored_to_the_previous_terms() -> None:
    plan = plan_for([decision("a", prepay=True)], [state("a", terms="Net 30")])
    assert plan.changes[["change", "before"]].values.tolist() == [["set_prepayment", "Net 30"]]
    audit = audit_rows(("C1", "a", "set_prepayment", "", "Net 30", "prepayment"))
    plan = plan_for([decision("a")], [state("a", prepay=True, terms="Prepayment")], audit=audit)
    assert plan.changes[["change", "after"]].values.tolist() == [["unset_prepayment", "Net 30"]]


def test_limits_are_only_lowered() -> None:
    plan = plan_for([decision("a", limit=10_000, new_limit=7_500), decision("b", limit=5_000, new_limit=6_000),
                     decision("c", limit=np.nan, new_limit=2_000)],
                    [state("a"), state("b", limit=5_000), state("c", limit=np.nan)])
    assert plan.changes[["customer_id", "change", "before", "after"]].values.tolist() == [
        ["a", "set_limit", "10000.00", "7500.00"], ["c", "set_limit", "", "2000.00"],
    ]


def test_base_credit_limit_is_the_limit_before_this_tools_reductions() -> None:
    # new contract (SPEC §4): credit_limit stays the ERP's limit; the base is a separate field
    positions = pd.DataFrame({"company": ["C1", "C1", "C1"], "customer_id": ["a", "b", "c"],
                              "credit_limit": [7_500.0, 9_000.0, 1_000.0]})
    audit = audit_rows(("C1", "a", "set_limit", "", "10000.00", "7500.00"),
                       ("C1", "b", "set_limit", "", "12000.00", "8000.00"))
    based = base_limits(positions, tool_owned(audit))
    # a: still what we wrote -> the original; b: a person changed it since -> theirs; c: never ours
    assert based.tolist() == [10_000.0, 9_000.0, 1_000.0]
    assert positions["credit_limit"].tolist() == [7_500.0, 9_000.0, 1_000.0]


def test_a_persons_change_between_cuts_starts_a_new_base() -> None:
    # cut 10000 -> 7500, a person raised it to 20000, the tool cut again 20000 -> 15000, then -> 12000
    audit = audit_rows(("C1", "a", "set_limit", "", "10000.00", "7500.00"),
                       ("C1", "a", "set_limit", "", "20000.00", "15000.00"),
                       ("C1", "a", "set_limit", "", "15000.00", "12000.00"),
                       ("C1", "b", "set_limit", "", "", "5000.00"),
                       ("C1", "b", "set_limit", "", "5000.00", "4000.00"))
    positions = pd.DataFrame({"company": ["C1", "C1"], "customer_id": ["a", "b"], "credit_limit": [12_000.0, 4_000.0]})
    based = base_limits(positions, tool_owned(audit))
    assert based.iloc[0] == 20_000.0  # the person's 20000, not the first cut's 10000
    assert np.isnan(based.iloc[1])  # no limit before this tool set one with `to`


def test_unapplied_names_changes_the_erp_does_not_show() -> None:
    plan = plan_for([decision("a", block=True), decision("b", limit=100, new_limit=50)],
                    [state("a"), state("b", limit=100)], [order("a", "o1")])
    after_customers = pd.DataFrame([state("a", blocked=True), state("b", limit=100)])
    after_orders = pd.DataFrame([order("a", "o1", on_hold=True)])
    missing = unapplied(plan.changes, after_customers, after_orders)
    assert missing[["customer_id", "change"]].values.tolist() == [["b", "set_limit"]]


def test_override_audit_rows_are_no_erp_provenance() -> None:
    audit = audit_rows(("C1", "a", "block", "", "false", "true"),
                       ("C1", "a", "override_add", "", "", "exempt until 2026-12-31"),
                       ("C1", "b", "override_remove", "", "exempt", "removed"))
    owned = tool_owned(audit)
    assert owned[["customer_id", "subject"]].values.tolist() == [["a", "block"]]
    assert tool_owned(audit_rows(("C1", "b", "override_add", "", "", "x"))).empty
