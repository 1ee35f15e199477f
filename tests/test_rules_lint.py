"""Grammar, type checking, lint messages (file:line:column + hint) and rule-set loading."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.rules import LintMessage, Rule, RuleLintError, lint_paths, load_ruleset
from etl.rules.compiler import compile_rules
from etl.rules.derive import evaluate_condition
from etl.rules.grammar import (
    And,
    Arith,
    Compare,
    ExpressionError,
    FieldRef,
    In,
    IsNull,
    Neg,
    Not,
    Number,
    Or,
    String,
    parse_expression,
    to_text,
)
from etl.rules.lint import check_expression
from etl.rules.ruleset import Scope
from etl.rules.typecheck import check_condition


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- grammar ----------------------------------------------------------------------------------
def test_precedence_and_associativity() -> None:
    e = parse_expression("not a > 1 and b or c")
    assert e == Or((And((Not(Compare(">", FieldRef("a"), Number(1.0))), FieldRef("b"))), FieldRef("c")))
    assert parse_expression("a - b - c") == Arith("-", Arith("-", FieldRef("a"), FieldRef("b")), FieldRef("c"))
    assert parse_expression("a + b * -c") == Arith("+", FieldRef("a"), Arith("*", FieldRef("b"), Neg(FieldRef("c"))))
    assert parse_expression("x not in ['a', \"b\"]") == In(FieldRef("x"), (String("a"), String("b")), True)
    assert parse_expression("x is not null") == IsNull(FieldRef("x"), True)
    assert parse_expression("android and notable") == And((FieldRef("android"), FieldRef("notable")))
    assert parse_expression("1_000.5 == 1000.5") == Compare("==", Number(1000.5), Number(1000.5))


@pytest.mark.parametrize("text", [
    "exposure > credit_limit * 1.1", "not (segment == 'retail') or x in [1, -2, 3.5]",
    "a / (b - c) is null", "s == 'it\\'s'", "-(-a) >= -1", "a and (b or c) and not d",
])
def test_canonical_text_parses_back(text: str) -> None:
    tree = parse_expression(text)
    assert parse_expression(to_text(tree)) == tree


@pytest.mark.parametrize(("text", "offset", "hint"), [
    ("exposure = 5", 9, "=="),
    ("exposure > 5 AND x", 13, "lowercase"),
    ("a < b < c", 6, "chained"),
    ("(a > 5", 6, ")"),
    ("a <> b", 3, "!="),
    ("x in [a]", 6, "literals"),
    ("a > 5 b", 6, "and"),
    ("'abc", 0, "close the string"),
    ("  ", 0, "condition"),
])
def test_syntax_errors_are_located_with_a_hint(text: str, offset: int, hint: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_expression(text)
    assert info.value.offset == offset
    assert hint in (info.value.hint or "")


# --- types ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "message"), [
    ("segment > 5", "cannot order segment (string)"),
    ("segment == 5", "cannot compare segment (string) with 5 (number)"),
    ("segment + 1 > 2", "cannot use segment (string) in arithmetic"),
    ("exposure and has_payment_history", "`and` needs conditions, but exposure (number)"),
    ("not exposure", "`not` needs conditions"),
    ("exposure", "exposure (number) is not a condition"),
    ("credit_limit == null", "always false"),
    ("has_payment_history > true", "cannot order has_payment_history (boolean)"),
    ("segment in ['a', 1]", "list item 1 (number) does not match segment (string)"),
    ("segment in []", "empty list"),
    ("exposre > 1", "unknown field 'exposre'"),
    ("-segment == 'a'", "cannot negate segment"),
    ("(exposure > 1) == true", "(exposure > 1) is a condition, not a value"),
    ("(exposure > 1) in [true]", "is a condition, not a value"),
    ("(segment is null) is null", "is a condition, not a value"),
])
def test_type_errors(text: str, message: str) -> None:
    issues = check_condition(parse_expression(text))
    assert any(message in i.message for i in issues), [i.message for i in issues]


def test_well_typed_conditions_pass() -> None:
    for text in ["exposure > credit_limit * 1.1", "not has_payment_history", "risk_grade in ['C', 'D']",
                 "is_blocked == false", "dso is null", "-exposure < 0"]:
        assert check_condition(parse_expression(text)) == [], text


def test_unknown_field_suggests_the_closest_name() -> None:
    issues = check_condition(parse_expression("overdue_90_plus > 0 and utilization > 1"))
    assert [(i.offset, i.hint) for i in issues] == [(0, "did you mean 'overdue_91_plus'?"),
                                                     (24, "did you mean 'utilisation'?")]


def test_scorecard_conditions_cannot_use_the_score() -> None:
    issues = check_condition(parse_expression("risk_score > 10"), in_scorecard=True)
    assert "scorecard cannot use risk_score" in issues[0].message
    with pytest.raises(RuleLintError, match="<condition>:1:1"):
        check_expression("risk_grade == 'A'", in_scorecard=True)


# --- lint: one file, every error --------------------------------------------------------------
BAD = """\
version: 1
name: Broken policy
rules:
  - id: unknown-field
    when: overdue_90_plus > 0
    then: block
  - id: type-mismatch
    when: segment > 5
    then: hold
  - id: unknown-field
    when: exposure > 0
    then: review
  - id: unknown-action
    when: exposure > 0
    then: blok
  - id: bad-scope
    when: exposure > 0
    then: review
    scope: {segmnt: [retail]}
  - id: unparseable
    when: "exposure >> 5"
    then: review
"""


def test_every_error_of_a_file_is_reported_once_and_located(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", BAD)
    messages = lint_paths([path])
    got = sorted((m.line, m.column, m.message) for m in messages)
    assert got == [
        (5, 11, "unknown field 'overdue_90_plus'"),
        (8, 11, "cannot order segment (string) with >"),
        (10, 9, "duplicate rule id 'unknown-field' (first defined at " + f"{path}:4:9)"),
        (15, 11, "unknown action 'blok'"),
        (19, 13, "bad scope key 'segmnt'"),
        (21, 22, "cannot parse condition: unexpected '>'"),
    ]
    hints = {m.line: m.hint for m in messages}
    assert hints[5] == "did you mean 'overdue_91_plus'?"
    assert hints[15] == "did you mean 'block'?"
    assert "did you mean 'segment'?" in hints[19]
    assert all(m.hint for m in messages)
    with pytest.raises(RuleLintError) as info:
        load_ruleset([path])
    assert len(info.value.messages) == 6
    assert str(info.value).splitlines()[0] == str(info.value.messages[0])


def test_lint_message_format() -> None:
    m = LintMessage("rules/x.yaml", 3, 7, "unknown field 'a'", "did you mean 'b'?")
    assert str(m) == "rules/x.yaml:3:7: unknown field 'a' (hint: did you mean 'b'?)"
    assert str(LintMessage("f", 1, 2, "bad", None)) == "f:1:2: bad"


@pytest.mark.parametrize(("body", "line", "col", "message"), [
    ("rules:\n  - id: Bad_Id\n    when: exposure > 0\n    then: hold\n", 2, 9, "rule id 'Bad_Id' is not kebab-case"),
    ("rules:\n  - id: x\n    when: exposure > 0\n", 2, 5, "missing `then`"),
    ("rules:\n  - id: x\n    when: exposure > 0\n    then: reduce_limit\n", 4, 11, "reduce_limit needs by_percent or to"),
    ("rules:\n  - id: x\n    when: exposure > 0\n    then: {reduce_limit: {by_percent: 10, to: 5}}\n", 4, 26,
     "reduce_limit takes exactly one of by_percent and to"),
    ("rules:\n  - id: x\n    when: exposure > 0\n    then: {hold: 1}\n", 4, 12, "hold takes no parameters"),
    ("rules:\n  - id: x\n    when: exposure > 0\n    then: hold\n    colour: red\n", 5, 5, "unknown key 'colour' in this rule"),
    ("rules:\n  - id: x\n    when: exposure > 0\n    then: hold\n    scope: {country: [NO]}\n", 5, 22,
     "scope value False was read by YAML as a boolean"),
    ("rules:\n  - id: x\n    when: |\n      exposure > 0 and\n      not has_paymnt_history\n    then: hold\n", 5, 11,
     "unknown field 'has_paymnt_history'"),
    ("version: 2\nrules: []\n", 1, 10, "unsupported version 2"),
    ("rules: [\n", 2, 1, "not valid YAML"),
    ("", 1, 1, "the rule file is empty"),
    ("- id: x\n", 1, 1, "a rule file is a mapping"),
    ("rules:\n  - id: x\n    when: exposure > 0\n    when: exposure > 1\n    then: hold\n", 4, 5, "duplicate key 'when'"),
    ("guards: {max_new_blocks: 3}\n", 1, 10, "unknown key 'max_new_blocks' in guards"),
    ("rules:\n  - id: x\n    when: risk_grade == 'D'\n    then: hold\n", 3, 11,
     "risk_grade is always null: the rule set has no scorecard"),
    ("scorecard:\n  grades: [{max: 10, grade: A}, {max: 5, grade: B}, {grade: C}]\n", 2, 3, "grade maxima must increase"),
    ("rules:\n  - id: x\n    when: exposure > 0\n    then: hold\n    effective: {from: 2026-05-01, to: 2026-01-01}\n",
     5, 16, "effective.from 2026-05-01 is after effective.to 2026-01-01"),
])
def test_single_errors(tmp_path: Path, body: str, line: int, col: int, message: str) -> None:
    messages = lint_paths([write(tmp_path, "r.yaml", body)])
    assert [(m.line, m.column) for m in messages] == [(line, col)], [str(m) for m in messages]
    assert message in messages[0].message, str(messages[0])


# --- files, includes, merging -----------------------------------------------------------------
def test_missing_file_is_one_lint_line(tmp_path: Path) -> None:
    with pytest.raises(RuleLintError) as info:
        load_ruleset([tmp_path / "nope.yaml"])
    assert str(info.value) == f"{tmp_path / 'nope.yaml'}:1:1: rule file {tmp_path / 'nope.yaml'} not found " \
                              "(hint: check the path (rule files are usually under rules/))"
    assert "no rule files given" in str(lint_paths([])[0])


def test_include_cycle_and_missing_include(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", "include: [b.yaml]\nrules: []\n")
    write(tmp_path, "b.yaml", "include:\n  - sub/c.yaml\n  - missing.yaml\n")
    write(tmp_path, "sub/c.yaml", "include: ../a.yaml\n")
    messages = [str(m) for m in lint_paths([a])]
    assert any("include cycle: a.yaml -> b.yaml -> c.yaml -> a.yaml" in m and m.startswith(
        str(tmp_path / "sub/c.yaml") + ":1:10") for m in messages), messages
    assert any("included file" in m and "missing.yaml not found" in m and ":3:5:" in m for m in messages), messages
    assert len(messages) == 2


def test_merging_files(tmp_path: Path) -> None:
    base = write(tmp_path, "base.yaml", """\
version: 1
name: Base
auto_release: true
guards: {max_new_blocks_percent: 8, max_quarantine_percent: 0.5}
scope: {company: [DE01, US01]}
include: [shared.yaml]
rules:
  - {id: base-a, when: exposure > 1, then: hold, reason: base a}
""")
    write(tmp_path, "shared.yaml", "rules:\n  - {id: shared-a, when: exposure > 2, then: review}\n")
    extra = write(tmp_path, "extra.yaml", """\
name: Extra
guards: {max_new_blocks_percent: 3}
rules:
  - {id: extra-a, when: exposure > 3, then: block, description: Extra A}
""")
    ruleset = load_ruleset([base, extra])
    assert [r.id for r in ruleset.rules] == ["base-a", "shared-a", "extra-a"]
    assert ruleset.rule("shared-a").scope == {"company": ("DE01", "US01")}  # includer's scope applies
    assert ruleset.rule("extra-a").scope == {}
    assert ruleset.rule("extra-a").reason == "Extra A" and ruleset.rule("shared-a").reason == "shared-a"
    assert ruleset.guards.max_new_blocks_percent == 3 and ruleset.guards.max_quarantine_percent == 0.5
    assert ruleset.guards.max_customer_drop_percent == 10
    assert ruleset.auto_release is True
    assert ruleset.name == "Base + Extra"
    content = b"".join(p.read_bytes() for p in [base, tmp_path / "shared.yaml", extra])
    assert ruleset.sha256 == hashlib.sha256(content).hexdigest()
    assert ruleset.fields_used() == {"exposure", "company"}
    assert ruleset.rule("base-a").path == str(base) and ruleset.rule("base-a").line == 8
    assert pickle.loads(pickle.dumps(ruleset)) == ruleset  # Dagster pickles it between steps
    assert hash(pickle.loads(pickle.dumps(ruleset))) == hash(ruleset)

    off = write(tmp_path, "off.yaml", "auto_release: false\n")
    assert load_ruleset([base, off]).auto_release is False
    assert load_ruleset([extra]).auto_release is False  # default: never release unless asked


def test_set_level_errors(tmp_path: Path) -> None:
    card = "scorecard:\n  points: []\n  grades: [{grade: A}]\n"
    a = write(tmp_path, "a.yaml", card + "rules:\n  - {id: same, when: exposure > 1, then: hold}\n")
    b = write(tmp_path, "b.yaml", card + "rules:\n  - {id: same, when: exposure > 1, then: hold}\n")
    messages = [str(m) for m in lint_paths([a, b])]
    assert len(messages) == 2
    assert messages[0].startswith(f"{b}:2:3: a rule set has at most one scorecard")  # sorted by position
    assert messages[1].startswith(f"{b}:5:10: duplicate rule id 'same' (first defined at {a}:5:10)")
    scoped = write(tmp_path, "scoped.yaml",
                   "scope: {company: [DE01]}\nrules:\n  - {id: x, when: exposure > 1, then: hold, scope: {company: [US01]}}\n")
    assert "never applies" in str(lint_paths([scoped])[0])


def test_the_default_policy_lints_clean() -> None:
    root = Path(__file__).resolve().parents[1]
    assert lint_paths([root / "rules" / "credit_control.yaml"]) == []
    ruleset = load_ruleset([root / "rules" / "credit_control.yaml"])
    assert ruleset.auto_release is True and ruleset.scorecard is not None
    assert (ruleset.guards.max_new_blocks_percent, ruleset.guards.max_quarantine_percent,
            ruleset.guards.max_customer_drop_percent) == (5, 1, 10)
    assert all(r.reason for r in ruleset.rules)


TOKENS = ["exposure", "credit_limit", "segment", "has_payment_history", "risk_grade", "1", "2.5", "'x'", "true",
          "null", "and", "or", "not", "in", "is", "(", ")", "[", "]", ",", "+", "-", "*", "/", "<", "==", "!="]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=12))
def test_whatever_lints_clean_also_compiles_and_evaluates(tokens: list[str]) -> None:
    """Fuzz: parse either fails with a located ExpressionError or yields an AST; a well-typed one
    compiles to engine conditions and evaluates vectorised without an exception."""
    text = " ".join(tokens)
    try:
        expr = parse_expression(text)
    except ExpressionError as exc:
        assert 0 <= exc.offset <= len(text)
        return
    if check_condition(expr):
        return
    rule = Rule(id="r", description=None, when=text, action="review", reduce_by_percent=None, reduce_to=None,
                reason="r", scope=Scope(), effective=None, enabled=True, path="-", line=1, condition=expr)
    compiled = compile_rules([rule])
    assert set(compiled.conditions) <= {"r0"}
    frame = pd.DataFrame({"exposure": [1.0, None], "credit_limit": [None, 2.5], "segment": ["x", None],
                          "has_payment_history": [True, None], "risk_grade": [None, "x"]})
    assert len(evaluate_condition(expr, frame)) == 2
