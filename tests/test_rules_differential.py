"""Differential property test: durable_rules engine vs the independent reference evaluator.

Random rule files over the vocabulary (comparisons, and/or/not, arithmetic, in / not in,
is null, boolean fields, scope, effective, enabled, a scorecard) and random customers (nulls,
boundary and equal values) must give the same fired rule ids and the same decision fields.
"""

from __future__ import annotations

import datetime
import math
import os
import tempfile
from pathlib import Path

import pandas as pd
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etl.decisions import evaluate_decisions
from etl.rules import load_ruleset
from etl.rules.derive import evaluate_condition
from etl.rules.grammar import parse_expression
from tests.rules_reference import holds, reference_decisions

AS_OF = datetime.date(2026, 3, 31)
NUMBER_FIELDS = ["credit_limit", "base_credit_limit", "exposure", "overdue_91_plus", "utilisation", "avg_days_late", "external_rating"]
STRING_FIELDS = {"segment": ["retail", "construction", "o'brien", ""], "country": ["DE", "US", "NO"],
                 "company": ["DE01", "US01"]}
BOOL_FIELDS = ["has_payment_history", "is_blocked", "data_incomplete"]
# shared by data and literals, so equality and boundaries are hit often
NUMBERS = [0.0, -0.0, 1.0, -1.0, 2.5, 10.0, 1234.56, 0.1, 0.2, 0.30000000000000004, 1e-05, 1e16]
#: raise for a deeper soak, e.g. RULES_DIFF_EXAMPLES=2000 pytest tests/test_rules_differential.py
EXAMPLES = int(os.environ.get("RULES_DIFF_EXAMPLES", "90"))
LIMITS = [0.0, 1.0, 10.0, 1234.56, 5000.0, 99999.99, 0.01]

def _fmt(x: float) -> str:
    text = repr(x)
    return f"({text})" if x < 0 or text.startswith("-") else text


@st.composite
def num_expr(draw: st.DrawFn, pool: list[float], depth: int = 2) -> str:
    # mostly plain fields and literals (so equal values and boundaries are frequent), some arithmetic
    choice = draw(st.integers(0, 9 if depth > 0 else 5))
    if choice <= 3:
        return draw(st.sampled_from(NUMBER_FIELDS))
    if choice <= 5:
        return _fmt(draw(st.sampled_from(pool)))
    if choice == 6:
        return f"-{draw(num_expr(pool, depth - 1))}"
    op = draw(st.sampled_from(["+", "-", "*", "/"]))
    return f"({draw(num_expr(pool, depth - 1))} {op} {draw(num_expr(pool, depth - 1))})"


def _str_lit(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@st.composite
def condition(draw: st.DrawFn, pool: list[float], depth: int = 2, score: bool = False) -> str:
    # weights: comparisons and negations are where null semantics and boundaries bite
    kinds = ["cmp"] * 3 + ["str", "bool", "bool", "in", "in", "null"] + (["score"] if score else [])
    if depth > 0:
        kinds += ["not"] * 4 + ["and", "and", "or", "or"]
    kind = draw(st.sampled_from(kinds))
    if kind == "cmp":
        op = draw(st.sampled_from(["<", "<=", ">", ">=", "==", "!="]))
        return f"{draw(num_expr(pool))} {op} {draw(num_expr(pool))}"
    if kind == "str":
        name = draw(st.sampled_from(sorted(STRING_FIELDS)))
        op = draw(st.sampled_from(["==", "!="]))
        value = draw(st.sampled_from(STRING_FIELDS[name] + ["zz"]))
        return f"{name} {op} {_str_lit(value)}" if draw(st.booleans()) else f"{_str_lit(value)} {op} {name}"
    if kind == "bool":
        name = draw(st.sampled_from(BOOL_FIELDS))
        form = draw(st.integers(0, 3))
        return [name, f"{name} == true", f"{name} != false", f"{name} == false"][form]
    if kind == "in":
        word = draw(st.sampled_from(["in", "not in"]))
        if draw(st.booleans()):
            name = draw(st.sampled_from(sorted(STRING_FIELDS)))
            items = draw(st.lists(st.sampled_from(STRING_FIELDS[name] + ["zz"]), min_size=1, max_size=3))
            return f"{name} {word} [{', '.join(_str_lit(i) for i in items)}]"
        items = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3))
        return f"{draw(num_expr(pool, 1))} {word} [{', '.join(repr(i) for i in items)}]"
    if kind == "null":
        target = draw(st.one_of(st.sampled_from(NUMBER_FIELDS + sorted(STRING_FIELDS) + BOOL_FIELDS), num_expr(pool, 1)))
        return f"{target} is {'not ' if draw(st.booleans()) else ''}null"
    if kind == "score":
        if draw(st.booleans()):
            return f"risk_grade {draw(st.sampled_from(['==', '!=']))} {_str_lit(draw(st.sampled_from('ABC')))}"
        return f"risk_score {draw(st.sampled_from(['>', '>=', '<']))} {draw(st.sampled_from([0, 10, 20, 30]))}"
    if kind == "not":
        return f"not ({draw(condition(pool, depth - 1, score))})"
    word = "and" if kind == "and" else "or"
    return f"({draw(condition(pool, depth - 1, score))}) {word} ({draw(condition(pool, depth - 1, score))})"


@st.composite
def action(draw: st.DrawFn) -> object:
    kind = draw(st.sampled_from(["block", "hold", "require_prepayment", "review", "pct", "to"]))
    if kind == "pct":
        return {"reduce_limit": {"by_percent": draw(st.sampled_from([10, 25, 33.33, 50, 100, 0.5]))}}
    if kind == "to":
        return {"reduce_limit": {"to": draw(st.sampled_from([0, 500, 1234.56, 5000, 100000, 0.01]))}}
    return kind


@st.composite
def rule_file(draw: st.DrawFn, pool: list[float]) -> dict:
    with_card = draw(st.booleans())
    doc: dict = {"version": 1, "name": "random"}
    if with_card:
        doc["scorecard"] = {
            "points": [{"when": draw(condition(pool, 1)), "add": draw(st.sampled_from([5, 10, 15, 20]))}
                       for _ in range(draw(st.integers(0, 3)))],
            "grades": [{"max": 10, "grade": "A"}, {"max": 20, "grade": "B"}, {"grade": "C"}],
        }
    if draw(st.integers(0, 4)) == 0:
        doc["scope"] = {"country": draw(st.lists(st.sampled_from(["DE", "US", "NO"]), min_size=1, max_size=2))}
    rules = []
    for i in range(draw(st.integers(1, 8))):
        rule: dict = {"id": f"rule-{i}", "when": draw(condition(pool, 2, score=with_card)), "then": draw(action())}
        if draw(st.booleans()):
            rule["reason"] = f"reason {i}"
        extra = draw(st.integers(0, 7))
        if extra == 0:
            segments = [s for s in STRING_FIELDS["segment"] if s]
            rule["scope"] = {"segment": draw(st.lists(st.sampled_from(segments), min_size=1, max_size=2))}
        elif extra == 1:
            rule["scope"] = {"company": ["DE01"]}
        elif extra == 2:
            rule["enabled"] = False
        elif extra == 3:
            rule["effective"] = draw(st.sampled_from([
                {"from": datetime.date(2026, 3, 31)}, {"to": datetime.date(2026, 3, 30)},
                {"from": datetime.date(2026, 1, 1), "to": datetime.date(2026, 3, 31)},
                {"from": datetime.date(2026, 4, 1)},
            ]))
        rules.append(rule)
    doc["rules"] = rules
    return doc


@st.composite
def customers(draw: st.DrawFn) -> list[dict]:
    rows = []
    for i in range(draw(st.integers(1, 16))):
        row: dict = {"company": draw(st.sampled_from(STRING_FIELDS["company"])), "customer_id": f"C{i:03d}"}
        for name in NUMBER_FIELDS:
            pool = LIMITS if name in ("credit_limit", "base_credit_limit") else NUMBERS
            row[name] = draw(st.one_of(st.none(), st.sampled_from(pool)))
        if draw(st.booleans()):  # mostly a limit this tool never cut: the base is the limit
            row["base_credit_limit"] = row["credit_limit"]
        for name in ("segment", "country"):
            row[name] = draw(st.one_of(st.none(), st.sampled_from(STRING_FIELDS[name])))
        for name in BOOL_FIELDS:
            row[name] = draw(st.one_of(st.none(), st.booleans()))
        rows.append(row)
    return rows


@st.composite
def case(draw: st.DrawFn) -> tuple[dict, list[dict]]:
    """Customers first, then rules whose literals come mostly from the customers' own values."""
    rows = draw(customers())
    seen = sorted({r[n] for r in rows for n in NUMBER_FIELDS if r[n] is not None})
    pool = seen + [0.0, 1.0, 1e-05] if seen else NUMBERS
    return draw(rule_file(pool)), rows


@st.composite
def condition_case(draw: st.DrawFn) -> tuple[str, list[dict]]:
    rows = draw(customers())
    seen = sorted({r[n] for r in rows for n in NUMBER_FIELDS if r[n] is not None})
    return draw(condition(seen + [0.0, 1.0] if seen else NUMBERS, 3)), rows


def _frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for name in NUMBER_FIELDS:
        frame[name] = frame[name].astype("float64")
    for name in BOOL_FIELDS:
        frame[name] = frame[name].astype(object)
    return frame


def _same_number(a: object, b: object) -> bool:
    a_null = a is None or (isinstance(a, float) and math.isnan(a))
    b_null = b is None or (isinstance(b, float) and math.isnan(b))
    return a_null == b_null and (a_null or a == b)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated=case())
def test_engine_agrees_with_reference(generated: tuple[dict, list[dict]]) -> None:
    doc, rows = generated
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "random.yaml"
        path.write_text(text, encoding="utf-8")
        ruleset = load_ruleset([path])
    frame = _frame(rows)
    scored, fired_rules, decided = evaluate_decisions(frame, ruleset, AS_OF)  # at the fixed point
    decisions = decided.set_index(["company", "customer_id"])
    expected = reference_decisions(yaml.safe_load(text), rows, AS_OF)
    fired = fired_rules.groupby(["company", "customer_id"])["rule_id"].agg(list).to_dict()
    for row, want in zip(rows, expected, strict=True):
        key = (row["company"], row["customer_id"])
        got = decisions.loc[key]
        context = f"\n{text}\ncustomer {row}"
        assert fired.get(key, []) == want["rule_ids"], context
        assert got["rule_ids"] == ";".join(want["rule_ids"]), context
        assert got["reasons"] == " | ".join(want["reasons"]), context
        assert got["action"] == want["action"], context
        for flag in ("block", "hold", "require_prepayment"):
            assert bool(got[flag]) == want[flag], context
        assert _same_number(got["new_credit_limit"], want["new_credit_limit"]), (
            f"{got['new_credit_limit']} != {want['new_credit_limit']}{context}")
        assert got["risk_grade"] == want["risk_grade"], context
        assert _same_number(got["credit_limit"], row["credit_limit"]), context  # the ERP's, not the new one
        position = scored.set_index(["company", "customer_id"]).loc[key]
        assert _same_number(position["risk_score"], want["risk_score"]), context


@settings(max_examples=EXAMPLES + 30, deadline=None)
@given(generated=condition_case())
def test_vectorised_evaluator_agrees_with_reference(generated: tuple[str, list[dict]]) -> None:
    """The pandas evaluator (scorecard, derived columns) has the same semantics."""
    text, rows = generated
    frame = _frame(rows)
    got = evaluate_condition(parse_expression(text), frame).tolist()
    want = [holds(text, row) for row in rows]
    assert got == want, f"{text}\n{rows}"


def test_reference_sees_the_documented_null_semantics() -> None:
    row = {"segment": None, "credit_limit": None, "exposure": 10.0}
    assert not holds("segment == 'retail'", row)
    assert holds("not (segment == 'retail')", row)
    assert not holds("credit_limit * 2 > 0", row)
    assert holds("exposure / 0 is null", row)
    assert not holds("segment in ['retail']", row)
