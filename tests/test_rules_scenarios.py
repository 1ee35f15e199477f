"""The rule scenario tests (rules/tests/*.yaml) as pytest cases, and the scenario runner itself."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import yaml

from etl.rules import load_ruleset
from etl.rules.scenarios import ScenarioResult, run_scenario_file, run_scenario_files

ROOT = Path(__file__).resolve().parents[1]
SCENARIO_DIR = ROOT / "rules" / "tests"
FILES = sorted(SCENARIO_DIR.glob("*.yaml"))


def _cases() -> list[tuple[Path, int, str]]:
    cases = []
    for path in FILES:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for index, scenario in enumerate(doc.get("scenarios") or []):
            cases.append((path, index, str(scenario.get("name", index))))
    return cases


@functools.cache
def _results(path: Path) -> tuple[ScenarioResult, ...]:
    return tuple(run_scenario_file(path))


@pytest.mark.parametrize(("path", "index", "name"), _cases(),
                         ids=[f"{p.stem}::{n}" for p, _, n in _cases()])
def test_scenario(path: Path, index: int, name: str) -> None:
    result = _results(path)[index]
    assert result.name == name
    assert result.passed, f"{path.name}::{name}: {result.message}"


def test_every_rule_of_the_default_policy_has_a_firing_scenario() -> None:
    ruleset = load_ruleset([ROOT / "rules" / "credit_control.yaml"])
    expected_ids = set()
    for path in FILES:
        for scenario in yaml.safe_load(path.read_text(encoding="utf-8"))["scenarios"]:
            expected_ids.update(scenario["expect"].get("rule_ids") or [])
    assert {r.id for r in ruleset.rules} <= expected_ids


def test_a_wrong_expectation_fails_with_what_differs(tmp_path: Path) -> None:
    path = tmp_path / "wrong.yaml"
    path.write_text(yaml.safe_dump({
        "rules": str(ROOT / "rules" / "credit_control.yaml"), "as_of": "2026-03-31",
        "scenarios": [{"name": "wrong", "items": [{"days_overdue": 95, "amount": 1500}],
                       "expect": {"action": "hold", "rule_ids": ["over-limit-hold"], "new_credit_limit": 1}}],
    }), encoding="utf-8")
    [result] = run_scenario_file(path)
    assert not result.passed
    assert "action: expected hold, got block" in result.message
    assert "rule_ids: expected ['over-limit-hold'], got ['overdue-90-block']" in result.message
    assert "new_credit_limit: expected 1.0, got 10000.0" in result.message


def test_broken_files_become_failed_results(tmp_path: Path) -> None:
    bad_key = tmp_path / "a.yaml"
    bad_key.write_text("as_of: 2026-03-31\nscenarios:\n  - {name: x, colour: red, expect: {action: none}}\n")
    no_rules = tmp_path / "b.yaml"
    no_rules.write_text("rules: missing.yaml\nas_of: 2026-03-31\nscenarios:\n  - {name: y, expect: {action: none}}\n")
    not_yaml = tmp_path / "c.yaml"
    not_yaml.write_text("scenarios: [\n")
    results = run_scenario_files([tmp_path])
    assert [(r.name, r.passed) for r in results] == [("x", False), ("y", False), ("(file)", False)]
    assert "colour: unknown key" in results[0].message
    assert "rule files fail lint" in results[1].message and "missing.yaml not found" in results[1].message
    assert "cannot read scenario file" in results[2].message


def test_every_scenario_error_is_shown_at_its_line_and_column(tmp_path: Path) -> None:
    # two typos in one scenario: both are reported ("(and 1 more)" once hid the second), each located
    path = tmp_path / "typos.yaml"
    path.write_text(
        f"rules: {ROOT / 'rules' / 'credit_control.yaml'}\n"
        "as_of: 2026-03-31\n"
        "scenarios:\n"
        "  - name: typos\n"
        "    customer: {credit_limt: 20000}\n"
        "    items: [{days_overdue: 95, amout: 1500}]\n"
        "    expect: {action: block}\n", encoding="utf-8")
    [result] = run_scenario_file(path)
    assert not result.passed and (result.line, result.column) == (4, 5)
    lines = result.message.splitlines()
    assert lines == [
        f"{path}:5:16: bad scenario: customer.credit_limt: unknown key (did you mean 'credit_limit'?)",
        f"{path}:6:13: bad scenario: items.0.amount: Field required",
        f"{path}:6:32: bad scenario: items.0.amout: unknown key (did you mean 'amount'?)",
    ]
    assert "more)" not in result.message


def test_a_wrong_expectation_names_the_line_of_the_expected_field(tmp_path: Path) -> None:
    path = tmp_path / "wrong.yaml"
    path.write_text(
        f"rules: {ROOT / 'rules' / 'credit_control.yaml'}\n"
        "as_of: 2026-03-31\n"
        "scenarios:\n"
        "  - name: fine\n"
        "    expect: {action: none}\n"
        "  - name: wrong\n"
        "    items: [{days_overdue: 95, amount: 1500}]\n"
        "    expect:\n"
        "      action: hold\n"
        "      rule_ids: [over-limit-hold]\n", encoding="utf-8")
    fine, wrong = run_scenario_file(path)
    assert fine.passed and fine.message == ""
    assert (wrong.line, wrong.column) == (6, 5)
    assert wrong.message.splitlines() == [
        f"{path}:9:15: action: expected hold, got block",
        f"{path}:10:17: rule_ids: expected ['over-limit-hold'], got ['overdue-90-block'] (fired: overdue-90-block)",
    ]


def test_rule_files_failing_lint_show_every_lint_error(tmp_path: Path) -> None:
    rules = tmp_path / "bad.yaml"
    rules.write_text("version: 1\nrules:\n  - id: a\n    when: expsure > 1\n    then: blok\n    reason: x\n")
    path = tmp_path / "s.yaml"
    path.write_text("rules: bad.yaml\nas_of: 2026-03-31\nscenarios:\n  - {name: x, expect: {action: none}}\n")
    [result] = run_scenario_file(path)
    first, *lint = result.message.splitlines()
    assert first == f"{path}:1:8: rule files fail lint:"
    assert [m.split(": ", 1)[0] for m in lint] == [f"{rules}:4:11", f"{rules}:5:11"]
    assert "expsure" in lint[0] and "blok" in lint[1]
