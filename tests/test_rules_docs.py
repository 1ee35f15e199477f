"""Every ```yaml block of docs/rules.md lints (or fails as it says), and the field table is complete.

Conventions: a block that starts with `# expect-lint-error: <text>` must fail lint with a message
containing <text>; a mapping with `version` is a whole rule file and must lint clean (files it
includes are stubbed); a single rule or a list of rules is linted inside a minimal file; a
mapping with `scenarios` is a scenario file and must pass against the default policy.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from etl.rules import lint_paths
from etl.rules.scenarios import run_scenario_file
from etl.rules.vocabulary import FIELDS

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "rules.md"
POLICY = ROOT / "rules" / "credit_control.yaml"


def yaml_blocks() -> list[tuple[int, str]]:
    text = DOC.read_text(encoding="utf-8")
    return [(text[: m.start()].count("\n") + 2, m.group(1))
            for m in re.finditer(r"^```yaml\n(.*?)^```", text, re.DOTALL | re.MULTILINE)]


BLOCKS = yaml_blocks()


def test_the_doc_has_examples_of_every_construct() -> None:
    assert len(BLOCKS) >= 15
    body = "\n".join(b for _, b in BLOCKS)
    for construct in (" and ", " or ", "not ", " in [", " not in [", " is null", " is not null", " * ",
                      "reduce_limit", "by_percent", "to:", "scope:", "effective:", "enabled:", "include:",
                      "scorecard:", "== '", "!= ", "<=", ">=", "null"):
        assert construct in body, construct


@pytest.mark.parametrize(("line", "block"), BLOCKS, ids=[f"line-{line}" for line, _ in BLOCKS])
def test_yaml_block(tmp_path: Path, line: int, block: str) -> None:
    first = block.splitlines()[0]
    expected_error = first.split(":", 1)[1].strip() if first.startswith("# expect-lint-error:") else None
    data = yaml.safe_load(block)
    if isinstance(data, dict) and "scenarios" in data:
        data["rules"] = str(POLICY)
        path = tmp_path / "scenarios.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        results = run_scenario_file(path)
        assert results and all(r.passed for r in results), [r.message for r in results if not r.passed]
        return
    if isinstance(data, dict) and "version" in data:
        text = block
        for include in data.get("include") or []:
            stub = tmp_path / include
            stub.parent.mkdir(parents=True, exist_ok=True)
            stub.write_text("version: 1\n", encoding="utf-8")
    else:
        rules = data if isinstance(data, list) else [data]
        text = yaml.safe_dump({"version": 1, "rules": rules}, sort_keys=False)
    path = tmp_path / "doc.yaml"
    path.write_text(text, encoding="utf-8")
    messages = lint_paths([path])
    if expected_error is None:
        assert messages == [], f"docs/rules.md block at line {line}: " + "; ".join(map(str, messages))
    else:
        assert any(expected_error in m.message for m in messages), (
            f"docs/rules.md block at line {line} should fail with {expected_error!r}: {[str(m) for m in messages]}")


def test_field_table_lists_every_field_with_its_type() -> None:
    rows = re.findall(r"^\| `(\w+)` \| (number|string|boolean) \|", DOC.read_text(encoding="utf-8"), re.MULTILINE)
    assert {name: kind for name, kind in rows} == {name: spec.type.value for name, spec in FIELDS.items()}


def test_float_tolerance_policy_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert "company currency" in text and "whole cents" in text and "equality on money" in text.lower()
