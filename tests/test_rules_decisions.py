"""etl.decisions.decide: COLLECT combination, precedence, limits to the cent (SPEC §5.3, §6.1)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from etl.decisions import ACTIONS, DECISION_COLUMNS, decide
from etl.rules import RuleSet, load_ruleset

RULES = [
    {"id": "review-it", "when": "exposure > 0", "then": "review", "reason": "Review"},
    {"id": "cut-25", "when": "exposure > 0", "then": {"reduce_limit": {"by_percent": 25}}, "reason": "Cut 25"},
    {"id": "cap-5000", "when": "exposure > 0", "then": {"reduce_limit": {"to": 5000}}, "reason": "Cap"},
    {"id": "prepay", "when": "exposure > 0", "then": "require_prepayment", "reason": "Prepay"},
    {"id": "hold-it", "when": "exposure > 0", "then": "hold", "reason": "Hold"},
    {"id": "block-it", "when": "exposure > 0", "then": "block", "reason": "Block"},
    {"id": "half", "when": "exposure > 0", "then": {"reduce_limit": {"by_percent": 50}}, "reason": "Half"},
]


@pytest.fixture(scope="module")
def ruleset(tmp_path_factory: pytest.TempPathFactory) -> RuleSet:
    path = tmp_path_factory.mktemp("decide") / "rules.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "rules": RULES}), encoding="utf-8")
    return load_ruleset([path])


def positions(limits: list[float | None], **extra: list) -> pd.DataFrame:
    n = len(limits)
    return pd.DataFrame({"company": ["DE01"] * n, "customer_id": [f"C{i}" for i in range(n)],
                         "credit_limit": [np.nan if v is None else v for v in limits],
                         "risk_grade": [None] * n, "data_incomplete": [False] * n, **extra})


def fired(pairs: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame({"company": ["DE01"] * len(pairs), "customer_id": [p[0] for p in pairs],
                         "rule_id": [p[1] for p in pairs]})


def one(ruleset: RuleSet, limit: float | None, rule_ids: list[str]) -> pd.Series:
    return decide(positions([limit]), fired([("C0", r) for r in rule_ids]), ruleset).iloc[0]


def test_shape_and_no_fired_rule(ruleset: RuleSet) -> None:
    frame = positions([1000.0, None, 5.5])
    frame = frame.iloc[[2, 0, 1]]  # decisions come out sorted anyway
    out = decide(frame, fired([]), ruleset)
    assert list(out.columns) == [c for c in DECISION_COLUMNS if c != "run_id"]
    assert list(out["customer_id"]) == ["C0", "C1", "C2"]
    assert list(out["action"]) == ["none"] * 3
    assert not out[["block", "hold", "require_prepayment"]].to_numpy().any()
    assert out["credit_limit"].tolist()[0] == 1000.0 and math.isnan(out["credit_limit"].tolist()[1])
    assert out["new_credit_limit"].tolist()[2] == 5.5 and math.isnan(out["new_credit_limit"].tolist()[1])
    assert list(out["rule_ids"]) == ["", "", ""] and list(out["reasons"]) == ["", "", ""]
    assert list(out["ruleset_sha256"]) == [ruleset.sha256] * 3
    assert out["block"].dtype == bool and out["new_credit_limit"].dtype == "float64"


@pytest.mark.parametrize(("rule_ids", "action"), [
    (["review-it"], "review"),
    (["review-it", "cut-25"], "reduce_limit"),
    (["cut-25", "prepay"], "require_prepayment"),
    (["prepay", "hold-it", "review-it"], "hold"),
    (["hold-it", "block-it"], "block"),
    (["block-it"], "block"),
])
def test_most_restrictive_action_wins(ruleset: RuleSet, rule_ids: list[str], action: str) -> None:
    row = one(ruleset, 1000.0, rule_ids)
    assert row["action"] == action
    assert ACTIONS.index(action) == min(ACTIONS.index(ruleset.rule(r).action) for r in rule_ids)


def test_block_implies_hold_and_flags_are_independent(ruleset: RuleSet) -> None:
    row = one(ruleset, 1000.0, ["block-it", "prepay"])
    assert (row["block"], row["hold"], row["require_prepayment"]) == (True, True, True)
    row = one(ruleset, 1000.0, ["hold-it"])
    assert (row["block"], row["hold"], row["require_prepayment"]) == (False, True, False)


def test_ids_and_reasons_follow_rule_file_order(ruleset: RuleSet) -> None:
    row = one(ruleset, 1000.0, ["block-it", "review-it", "prepay"])  # fired order differs
    assert row["rule_ids"] == "review-it;prepay;block-it"
    assert row["reasons"] == "Review | Prepay | Block"


@pytest.mark.parametrize(("limit", "rule_ids", "expected"), [
    (10000.0, ["cut-25"], 7500.0),
    (10000.0, ["cap-5000"], 5000.0),
    (10000.0, ["cut-25", "cap-5000", "half"], 5000.0),  # lowest resulting limit wins
    (8000.0, ["cut-25", "cap-5000"], 5000.0),
    (6000.0, ["cut-25", "cap-5000"], 4500.0),
    (3000.0, ["cap-5000"], 3000.0),  # `to` never raises a limit
    (None, ["cut-25"], None),  # a percentage of no limit is no limit
    (None, ["cap-5000"], 5000.0),  # `to` sets a limit where there was none
    (None, ["cut-25", "cap-5000"], 5000.0),
    (0.0, ["cut-25"], 0.0),
    (1234.57, ["cut-25"], 925.93),  # 925.9275 -> half up
    (0.01, ["half"], 0.01),  # 0.005 -> half up to 0.01
    (1.01, ["half"], 0.51),  # 0.505: 0.505 is 0.50499999... in binary; rounding is on the decimal value
    (2.01, ["half"], 1.01),  # 1.005
    (99999999.99, ["cut-25"], 74999999.99),  # 74999999.9925
    (10000.0, ["review-it"], 10000.0),  # no reduction: unchanged
])
def test_new_credit_limit(ruleset: RuleSet, limit: float | None, rule_ids: list[str], expected: float | None) -> None:
    got = one(ruleset, limit, rule_ids)["new_credit_limit"]
    if expected is None:
        assert math.isnan(got)
    else:
        assert got == expected


def test_several_customers_and_companies(ruleset: RuleSet) -> None:
    frame = pd.DataFrame({"company": ["US01", "DE01", "DE01"], "customer_id": ["A", "B", "A"],
                          "credit_limit": [100.0, 200.0, 300.0], "risk_grade": ["A", None, "D"],
                          "data_incomplete": [True, False, None]})
    hits = pd.DataFrame({"company": ["DE01", "US01", "DE01"], "customer_id": ["A", "A", "A"],
                         "rule_id": ["half", "block-it", "hold-it"]})
    out = decide(frame, hits, ruleset)
    assert list(zip(out["company"], out["customer_id"], strict=True)) == [("DE01", "A"), ("DE01", "B"), ("US01", "A")]
    assert list(out["action"]) == ["hold", "none", "block"]
    assert list(out["rule_ids"]) == ["hold-it;half", "", "block-it"]
    assert list(out["new_credit_limit"]) == [150.0, 200.0, 100.0]
    assert list(out["risk_grade"]) == ["D", None, "A"]
    assert list(out["data_incomplete"]) == [False, False, True]


def test_unknown_fired_rule_is_an_error(ruleset: RuleSet) -> None:
    with pytest.raises(ValueError, match="nope"):
        decide(positions([1.0]), fired([("C0", "nope")]), ruleset)


def test_by_percent_must_have_at_most_two_decimals(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "rules": [
        {"id": "x", "when": "exposure > 0", "then": {"reduce_limit": {"by_percent": 12.345}}}]}))
    from etl.rules import lint_paths

    assert "more than two decimals" in lint_paths([path])[0].message


# ------------------------------------------------------------------- base limit and fixed point

def _rules(tmp_path: Path, rules: list[dict], scorecard: dict | None = None) -> RuleSet:
    doc: dict = {"version": 1, "rules": rules}
    if scorecard:
        doc["scorecard"] = scorecard
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return load_ruleset([path])


def _positions(limit: float, exposure: float, base: float | None = None, late: float = 40.0) -> pd.DataFrame:
    from etl.positions import with_credit_limit

    frame = pd.DataFrame({"company": ["DE01"], "customer_id": ["C0"], "exposure": [exposure],
                          "avg_days_late": [late], "base_credit_limit": [limit if base is None else base],
                          "data_incomplete": [False]})
    return with_credit_limit(frame, np.array([limit]))


def test_by_percent_is_taken_from_the_base_never_compounded(ruleset: RuleSet) -> None:
    # this tool cut 10000 to 7500 last night; cut-25 fires again: 25% of the base is 7500, no further cut
    frame = positions([7_500.0], base_credit_limit=[10_000.0])
    out = decide(frame, fired([("C0", "cut-25")]), ruleset).iloc[0]
    assert out["new_credit_limit"] == 7_500.0 and out["credit_limit"] == 7_500.0
    # half of the base (5000) is lower than the current 7500
    assert decide(frame, fired([("C0", "half")]), ruleset).iloc[0]["new_credit_limit"] == 5_000.0
    # never above the limit in force: 25% off the base (9000) is above the 8000 in force: no change
    low = positions([8_000.0], base_credit_limit=[12_000.0])
    assert decide(low, fired([("C0", "cut-25")]), ruleset).iloc[0]["new_credit_limit"] == 8_000.0


def test_a_cut_that_puts_the_customer_over_its_new_limit_holds_the_same_night(tmp_path: Path) -> None:
    from etl.decisions import evaluate_decisions

    rules = _rules(tmp_path, [
        {"id": "cut-late", "when": "avg_days_late > 30", "then": {"reduce_limit": {"by_percent": 50}}, "reason": "Late"},
        {"id": "over-limit", "when": "exposure > credit_limit * 1.1", "then": "hold", "reason": "Over"},
        {"id": "busy", "when": "utilisation > 1.5", "then": "review", "reason": "Busy"},
    ], scorecard={"points": [{"when": "over_limit_amount > 0", "add": 50}],
                  "grades": [{"max": 10, "grade": "A"}, {"grade": "D"}]})
    scored, fired_rules, out = evaluate_decisions(_positions(10_000.0, 8_000.0), rules, AS_OF_FP)
    row = out.iloc[0]
    assert row["action"] == "hold" and bool(row["hold"])
    assert row["rule_ids"] == "cut-late;over-limit;busy"
    assert row["credit_limit"] == 10_000.0 and row["new_credit_limit"] == 5_000.0
    assert row["risk_grade"] == "D"  # the scorecard saw over_limit_amount 3000 against the new limit
    assert scored.iloc[0]["credit_limit"] == 5_000.0 and scored.iloc[0]["over_limit_amount"] == 3_000.0
    assert fired_rules["rule_id"].tolist() == ["cut-late", "over-limit", "busy"]
    # the rerun after apply: the ERP holds 5000, the base is still 10000: the same decision
    _, _, again = evaluate_decisions(_positions(5_000.0, 8_000.0, base=10_000.0), rules, AS_OF_FP)
    assert again.iloc[0][["action", "rule_ids", "new_credit_limit"]].tolist() == ["hold", "cut-late;over-limit;busy", 5_000.0]


def test_fixed_point_keeps_the_lowest_limit_and_the_last_evaluation(tmp_path: Path) -> None:
    from etl.decisions import evaluate_decisions

    # cap-big fires only on the first evaluation; then the limit is 5000 and cut-small (<= 6000) fires
    rules = _rules(tmp_path, [
        {"id": "cap-big", "when": "credit_limit > 6000", "then": {"reduce_limit": {"to": 5000}}},
        {"id": "cut-small", "when": "credit_limit <= 6000", "then": {"reduce_limit": {"to": 4000}}},
    ])
    frames = pd.concat([_positions(10_000.0, 100.0), _positions(3_000.0, 100.0).assign(customer_id="C1")],
                       ignore_index=True)
    _, _, out = evaluate_decisions(frames, rules, AS_OF_FP)
    assert out["new_credit_limit"].tolist() == [4_000.0, 3_000.0]
    assert out["rule_ids"].tolist() == ["cut-small", "cut-small"]  # the last evaluation's
    assert out["credit_limit"].tolist() == [10_000.0, 3_000.0]


AS_OF_FP = pd.Timestamp("2026-03-31").date()
