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
