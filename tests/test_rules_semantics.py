"""Condition semantics through the durable_rules engine: nulls, negation, boundaries, scope."""

from __future__ import annotations

import datetime
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from etl.rules import evaluate_rules, load_ruleset
from tests.rules_reference import holds

AS_OF = datetime.date(2026, 3, 31)


def write_rules(tmp_path: Path, rules: list[dict], **top: object) -> Path:
    doc = {"version": 1, "name": "test", **top, "rules": rules}
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def fired_ids(tmp_path: Path, whens: dict[str, str], rows: list[dict], **top: object) -> list[set[str]]:
    """Per row, the ids of the rules that fired."""
    rules = [{"id": rid, "when": w, "then": "review"} for rid, w in whens.items()]
    ruleset = load_ruleset([write_rules(tmp_path, rules, **top)])
    frame = pd.DataFrame([{"company": "DE01", "customer_id": f"C{i:04d}", **r} for i, r in enumerate(rows)])
    fired = evaluate_rules(ruleset, frame, AS_OF).fired
    out: list[set[str]] = [set() for _ in rows]
    for cid, rid in zip(fired["customer_id"], fired["rule_id"], strict=True):
        out[int(cid[1:])].add(rid)
    return out


# --- the documented null semantics ------------------------------------------------------------
@pytest.mark.parametrize(("when", "row", "fires"), [
    ("segment == 'retail'", {"segment": None}, False),  # comparison with null is false
    ("not (segment == 'retail')", {"segment": None}, True),  # not negates the two-valued result
    ("segment != 'retail'", {"segment": None}, False),  # != with a null side is false too
    ("credit_limit * 1.1 < exposure", {"credit_limit": None, "exposure": 5.0}, False),  # arithmetic null
    ("not (credit_limit * 1.1 < exposure)", {"credit_limit": None, "exposure": 5.0}, True),
    ("exposure / credit_limit is null", {"credit_limit": 0.0, "exposure": 5.0}, True),  # x / 0 is null
    ("exposure / credit_limit > 0", {"credit_limit": 0.0, "exposure": 5.0}, False),
    ("exposure / credit_limit > 0", {"credit_limit": 2.0, "exposure": 5.0}, True),
    ("segment in ['retail', 'construction']", {"segment": None}, False),  # in with null is false
    ("segment not in ['retail']", {"segment": None}, True),  # not in == not (in)
    ("segment not in ['retail']", {"segment": "retail"}, False),
    ("has_payment_history", {"has_payment_history": None}, False),  # boolean alone: true only when true
    ("not has_payment_history", {"has_payment_history": None}, True),
    ("has_payment_history == false", {"has_payment_history": None}, False),
    ("credit_limit is null", {"credit_limit": None}, True),
    ("credit_limit is not null", {"credit_limit": 0.0}, True),
    ("exposure - exposure == 0", {"exposure": 1e300}, True),
    ("exposure * 1e300 > 0", {"exposure": 1e300}, False),  # overflow to infinity is null
])
def test_null_semantics(tmp_path: Path, when: str, row: dict, fires: bool) -> None:
    assert fired_ids(tmp_path, {"r": when}, [row]) == [{"r"} if fires else set()]
    assert holds(when, row) == fires  # the reference agrees with the spec examples too


def test_constant_conditions_fold(tmp_path: Path) -> None:
    got = fired_ids(tmp_path, {"always": "1 < 2", "never": "1 / 0 > 0", "not-never": "not (1 / 0 > 0)",
                               "const-null": "null is null", "lit-or": "false or exposure > 1"},
                    [{"exposure": 2.0}, {"exposure": 0.0}])
    assert got == [{"always", "not-never", "const-null", "lit-or"}, {"always", "not-never", "const-null"}]


# --- exhaustive leaf forms, plain and negated, against the reference --------------------------
LEAVES = [
    "{a} {op} {b}", "{a} {op} 1.5", "1.5 {op} {a}", "{a} {op} {b} * 2", "{a} + {b} {op} 3",
    "{a} {op} -{b}",
]
OPS = ["<", "<=", ">", ">=", "==", "!="]


def test_every_leaf_and_its_negation_matches_the_reference(tmp_path: Path) -> None:
    whens: dict[str, str] = {}
    for i, (form, op) in enumerate(itertools.product(LEAVES, OPS)):
        text = form.format(a="exposure", b="credit_limit", op=op)
        whens[f"leaf-{i}"] = text
        whens[f"not-leaf-{i}"] = f"not ({text})"
    extra = {
        "in-num": "exposure in [1.5, 3]", "not-in-num": "exposure not in [1.5, 3]",
        "not-not-in": "not (exposure not in [3])", "in-str": "segment in ['retail', 'x']",
        "not-in-str": "not (segment in ['retail'])", "null": "credit_limit is null",
        "not-null": "not (credit_limit is null)", "not-not-null": "not (exposure is not null)",
        "bool": "has_payment_history", "not-bool": "not has_payment_history",
        "bool-eq": "has_payment_history == true", "not-bool-eq": "not (has_payment_history == false)",
        "bool-ne": "has_payment_history != true", "str-eq": "segment == 'retail'",
        "not-str-ne": "not (segment != 'retail')", "and": "not (exposure > 1 and credit_limit > 1)",
        "or": "not (exposure > 1 or segment == 'retail')",
        "derived-null": "exposure / (credit_limit - 1.5) is null",
    }
    whens.update(extra)
    values = [None, 0.0, 1.5, 3.0]
    rows = [{"exposure": a, "credit_limit": b, "segment": s, "has_payment_history": h}
            for a, b, s, h in itertools.product(values, values, [None, "retail", "x"], [None, True, False])]
    got = fired_ids(tmp_path, whens, rows)
    for row, ids in zip(rows, got, strict=True):
        want = {rid for rid, text in whens.items() if holds(text, row)}
        assert ids == want, f"{row}: engine {sorted(ids - want)} extra, {sorted(want - ids)} missing"


# --- boundaries the default policy relies on --------------------------------------------------
def test_boundaries_are_exact(tmp_path: Path) -> None:
    whens = {"over": "exposure > credit_limit * 1.1", "days": "max_days_overdue > 45",
             "cents": "overdue_91_plus >= 250.01"}
    rows = [
        {"exposure": 11000.0, "credit_limit": 10000.0, "max_days_overdue": 45.0, "overdue_91_plus": 250.0},
        {"exposure": 11000.01, "credit_limit": 10000.0, "max_days_overdue": 46.0, "overdue_91_plus": 250.01},
    ]
    # 10000 * 1.1 is 11000.000000000002 in binary: 11000 is not above it, 11000.01 is
    assert fired_ids(tmp_path, whens, rows) == [set(), {"over", "days", "cents"}]


def test_numbers_the_engine_parser_would_reject_still_work(tmp_path: Path) -> None:
    """1e-05 / 1e+16 are written by json.dumps in a form durable_rules cannot parse."""
    got = fired_ids(tmp_path, {"tiny": "utilisation > 0.00001", "huge": "exposure >= 10000000000000000"},
                    [{"utilisation": 2e-05, "exposure": 1e16}, {"utilisation": 1e-05, "exposure": 9999999999999998.0}])
    assert got == [{"tiny", "huge"}, set()]


def test_strings_with_quotes_and_unicode(tmp_path: Path) -> None:
    got = fired_ids(tmp_path, {"q": "segment == 'o\\'brien'", "u": "segment == 'Bäckerei'",
                               "dq": 'segment == "say \\"hi\\""'},
                    [{"segment": "o'brien"}, {"segment": "Bäckerei"}, {"segment": 'say "hi"'}, {"segment": "x"}])
    assert got == [{"q"}, {"u"}, {"dq"}, set()]


# --- scope, effective, enabled ----------------------------------------------------------------
def test_scope_effective_enabled(tmp_path: Path) -> None:
    rules = [
        {"id": "scoped", "when": "exposure > 0", "then": "hold", "scope": {"segment": ["retail"], "country": "DE"}},
        {"id": "company", "when": "exposure > 0", "then": "review", "scope": {"company": [1000]}},
        {"id": "off", "when": "exposure > 0", "then": "block", "enabled": False},
        {"id": "future", "when": "exposure > 0", "then": "block", "effective": {"from": datetime.date(2026, 4, 1)}},
        {"id": "past", "when": "exposure > 0", "then": "block", "effective": {"to": datetime.date(2026, 3, 30)}},
        {"id": "window", "when": "exposure > 0", "then": "review",
         "effective": {"from": datetime.date(2026, 3, 31), "to": datetime.date(2026, 3, 31)}},
    ]
    ruleset = load_ruleset([write_rules(tmp_path, rules)])
    frame = pd.DataFrame({
        "company": ["DE01", "DE01", "1000", "DE01"], "customer_id": ["a", "b", "c", "d"],
        "exposure": [1.0, 1.0, 1.0, 1.0], "segment": ["retail", "retail", None, "retail"],
        "country": ["DE", "US", "DE", None],
    })
    fired = evaluate_rules(ruleset, frame, AS_OF).fired
    got = fired.groupby("customer_id")["rule_id"].agg(list).to_dict()
    assert got == {"a": ["scoped", "window"], "b": ["window"], "c": ["company", "window"], "d": ["window"]}
    later = evaluate_rules(ruleset, frame, datetime.date(2026, 4, 1)).fired
    assert set(later["rule_id"]) == {"scoped", "company", "future"}


def test_file_scope_applies_to_every_rule_and_intersects(tmp_path: Path) -> None:
    rules = [{"id": "all", "when": "exposure > 0", "then": "review"},
             {"id": "narrow", "when": "exposure > 0", "then": "review", "scope": {"company": ["DE01"]}}]
    ruleset = load_ruleset([write_rules(tmp_path, rules, scope={"company": ["DE01", "US01"]})])
    assert ruleset.rule("narrow").scope == {"company": ("DE01",)}
    frame = pd.DataFrame({"company": ["DE01", "US01", "FR01"], "customer_id": ["a", "b", "c"], "exposure": [1.0] * 3})
    fired = evaluate_rules(ruleset, frame, AS_OF).fired
    assert fired.groupby("company")["rule_id"].agg(list).to_dict() == {"DE01": ["all", "narrow"], "US01": ["all"]}


# --- result shapes ----------------------------------------------------------------------------
def test_result_keeps_positions_and_orders_fired(tmp_path: Path) -> None:
    rules = [{"id": "second", "when": "exposure > 5", "then": "review"},
             {"id": "first", "when": "exposure > 1", "then": "review"}]
    ruleset = load_ruleset([write_rules(tmp_path, rules)])
    frame = pd.DataFrame({"company": ["B", "A", "A"], "customer_id": ["1", "2", "1"], "exposure": [9.0, 9.0, 2.0],
                          "extra": ["x", "y", "z"]}, index=[10, 11, 12])
    result = evaluate_rules(ruleset, frame, AS_OF)
    assert list(result.positions.index) == [10, 11, 12]
    assert list(result.positions.columns) == ["company", "customer_id", "exposure", "extra", "risk_score", "risk_grade"]
    assert result.positions["risk_score"].isna().all() and result.positions["risk_grade"].isna().all()
    assert result.fired.to_dict("records") == [
        {"company": "A", "customer_id": "1", "rule_id": "first"},
        {"company": "A", "customer_id": "2", "rule_id": "second"},
        {"company": "A", "customer_id": "2", "rule_id": "first"},
        {"company": "B", "customer_id": "1", "rule_id": "second"},
        {"company": "B", "customer_id": "1", "rule_id": "first"},
    ]


def test_missing_column_is_a_clear_error_and_unused_columns_may_be_absent(tmp_path: Path) -> None:
    ruleset = load_ruleset([write_rules(tmp_path, [{"id": "r", "when": "exposure > 0", "then": "review"}])])
    with pytest.raises(ValueError, match="exposure"):
        evaluate_rules(ruleset, pd.DataFrame({"company": ["A"], "customer_id": ["1"]}), AS_OF)
    empty = evaluate_rules(ruleset, pd.DataFrame({"company": [], "customer_id": [], "exposure": []}), AS_OF)
    assert empty.fired.empty and list(empty.fired.columns) == ["company", "customer_id", "rule_id"]


def test_nullable_dtypes_are_read_as_their_types(tmp_path: Path) -> None:
    frame = pd.DataFrame({
        "company": pd.Series(["A", "A", "A"], dtype="string"), "customer_id": ["1", "2", "3"],
        "external_rating": pd.Series([7, pd.NA, 3], dtype="Int64"),
        "has_payment_history": pd.Series([True, pd.NA, False], dtype="boolean"),
        "segment": pd.Series(["retail", pd.NA, "x"], dtype="string"),
        "exposure": [np.inf, 1.0, np.nan],
    })
    got = fired_ids_frame(tmp_path, {"rating": "external_rating >= 7", "hist": "not has_payment_history",
                                     "seg": "segment is null", "exp": "exposure is null"}, frame)
    assert got == [{"rating", "exp"}, {"hist", "seg"}, {"hist", "exp"}]


def fired_ids_frame(tmp_path: Path, whens: dict[str, str], frame: pd.DataFrame) -> list[set[str]]:
    rules = [{"id": rid, "when": w, "then": "review"} for rid, w in whens.items()]
    ruleset = load_ruleset([write_rules(tmp_path, rules)])
    fired = evaluate_rules(ruleset, frame, AS_OF).fired
    ids = list(frame["customer_id"])
    out: list[set[str]] = [set() for _ in ids]
    for cid, rid in zip(fired["customer_id"], fired["rule_id"], strict=True):
        out[ids.index(cid)].add(rid)
    return out
