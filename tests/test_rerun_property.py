"""Property (SPEC §6.1, §6.2): decisions are a fixed point. Apply a night's plan to the ERP, run
again on the unchanged ERP (same ledger, the ERP now showing the written blocks, holds,
prepayment and limits, this tool's audit as provenance): the second night plans no change —
for random ledgers and random rule sets with several limit reductions, percentages taken from
the base, cuts that push a customer over its new limit, and holds that depend on the limit."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etl.extract import Extract
from etl.pipeline import evaluate
from etl.plan import build_plan, tool_owned
from etl.rules import load_ruleset
from etl.rules.scenarios import CustomerSpec, ItemSpec, OrderSpec, ScenarioSpec, build_extract

AS_OF = dt.date(2026, 11, 30)
_files = itertools.count()

customers = st.lists(st.tuples(
    st.one_of(st.none(), st.integers(0, 40).map(lambda k: k * 1000.0)),  # limit (0 is a limit of 0)
    st.lists(st.tuples(st.integers(-30, 200), st.integers(1, 60).map(lambda k: k * 250.0)), max_size=4),
    st.lists(st.integers(1, 40).map(lambda k: k * 500.0), max_size=2),  # open orders
    st.booleans(),  # blocked by a person already
), min_size=1, max_size=12)

rule_sets = st.fixed_dictionaries({
    "p1": st.integers(1, 60), "p2": st.integers(1, 60), "to": st.integers(0, 30).map(lambda k: k * 500),
    "overdue": st.integers(0, 8000), "util": st.sampled_from([0.5, 0.8, 1.0, 1.2]),
    "dpd": st.integers(0, 120), "block": st.integers(0, 20000), "prepay": st.integers(0, 20000),
    "release": st.booleans(),
})


def _rules(tmp: Path, p: dict) -> Path:
    path = tmp / f"rules_{next(_files)}.yaml"
    path.write_text(f"""version: 1
auto_release: {str(p['release']).lower()}
rules:
  - id: cut-overdue
    when: overdue_amount > {p['overdue']}
    then: {{reduce_limit: {{by_percent: {p['p1']}}}}}
    reason: overdue
  - id: cut-utilisation
    when: utilisation > {p['util']}
    then: {{reduce_limit: {{by_percent: {p['p2']}}}}}
    reason: high utilisation
  - id: cut-to
    when: max_days_overdue > {p['dpd']}
    then: {{reduce_limit: {{to: {p['to']}}}}}
    reason: long overdue
  - id: over-limit-hold
    when: exposure > credit_limit
    then: hold
    reason: over the limit
  - id: block-91
    when: overdue_91_plus > {p['block']}
    then: block
    reason: very late
  - id: prepay
    when: overdue_amount > {p['prepay']} and not has_payment_history
    then: require_prepayment
    reason: no history
""")
    return path


def _extract(spec: list) -> Extract:
    parts = []
    for n, (limit, items, orders, blocked) in enumerate(spec):
        scenario = ScenarioSpec(name=str(n), expect={"action": "none"},
                                customer=CustomerSpec(customer_id=f"C{n}", credit_limit=limit, is_blocked=blocked),
                                items=[ItemSpec(item_id=f"I{n}-{k}", days_overdue=d, amount=a)
                                       for k, (d, a) in enumerate(items)],
                                orders=[OrderSpec(order_id=f"S{n}-{k}", open_amount=a) for k, a in enumerate(orders)])
        parts.append(build_extract(scenario, AS_OF, "DE01", "EUR"))
    return Extract(**{e: (pd.concat([getattr(p, e) for p in parts], ignore_index=True) if e != "companies"
                          else parts[0].companies) for e in Extract.entities()})


def _state(extract: Extract) -> tuple[pd.DataFrame, pd.DataFrame]:
    c = extract.customers
    customers = c[["company", "customer_id", "is_blocked", "on_prepayment", "credit_limit"]].assign(
        payment_terms=np.where(c["on_prepayment"], "Prepayment", "Net 30"))
    return customers, extract.open_orders[["company", "order_id", "customer_id", "on_hold"]]


def _apply(extract: Extract, changes: pd.DataFrame) -> Extract:
    """The ERP after the plan: what the connectors write, on the extract's frames."""
    customers, orders = extract.customers.copy(), extract.open_orders.copy()
    for row in changes.itertuples():
        who = (customers["company"] == row.company) & (customers["customer_id"] == row.customer_id)
        if row.change in ("block", "unblock"):
            customers.loc[who, "is_blocked"] = row.change == "block"
        elif row.change in ("set_prepayment", "unset_prepayment"):
            customers.loc[who, "on_prepayment"] = row.change == "set_prepayment"
        elif row.change == "set_limit":
            customers.loc[who, "credit_limit"] = float(row.after)
        else:
            customers_order = (orders["company"] == row.company) & (orders["order_id"] == row.order_id)
            orders.loc[customers_order, "on_hold"] = row.change == "hold_order"
    return Extract(extract.companies, customers, extract.open_items, orders, extract.payments, extract.fx_rates)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=customers, params=rule_sets)
def test_apply_then_rerun_on_the_unchanged_erp_plans_nothing(spec: list, params: dict, tmp_path: Path) -> None:
    ruleset = load_ruleset([_rules(tmp_path, params)])
    erp = _extract(spec)
    audit = pd.DataFrame(columns=["company", "customer_id", "change", "order_id", "before", "after", "id"])
    for night in (1, 2, 3):
        decisions = evaluate(erp, ruleset, AS_OF, tool_owned(audit)).decisions
        plan = build_plan(decisions, *_state(erp), tool_owned(audit), ruleset.auto_release).changes
        if night > 1:
            assert plan.empty, f"night {night} planned again:\n{plan.to_string()}"
        erp = _apply(erp, plan)
        audit = pd.concat([audit, plan.assign(id=np.arange(len(audit), len(audit) + len(plan)))], ignore_index=True)
    # and no limit ever went up
    before, after = _extract(spec).customers["credit_limit"], erp.customers["credit_limit"]
    assert ((after <= before + 0.005) | before.isna()).all()
