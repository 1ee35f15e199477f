"""`creditctl demo` end to end: summary on the first run, 0 changes on the second."""

from __future__ import annotations

import re

from tests.cli_helpers import run_cli
from tests.conftest import ROOT


def test_demo_twice_second_run_writes_nothing(capsys, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    first = run_cli(capsys, monkeypatch, "demo", "--customers", "300", "--as-of", "2026-11-28")
    assert first.code == 0, first.err
    assert "Decisions" in first.out and "Changes to the ERP" in first.out
    written = int(re.search(r"changes written: (\d+)", first.out).group(1))
    assert written > 0
    assert re.search(r"run id: [0-9a-f-]{36}", first.out)
    assert "decisions.csv" in first.out and "state store: sqlite:///" in first.out
    report = re.search(r"report: (\S+)", first.out).group(1)
    assert "<h1>Credit control run 2026-11-28</h1>" in open(report, encoding="utf-8").read()

    second = run_cli(capsys, monkeypatch, "demo", "--customers", "300", "--as-of", "2026-11-28")
    assert second.code == 0, second.err
    assert "changes written: 0" in second.out
    assert "generated the demo ERP" not in second.err


def test_run_reports_a_guard_failure_as_exit_1(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    first = run_cli(capsys, monkeypatch, "demo", "--customers", "300", "--as-of", "2026-11-28")
    assert first.code == 0, first.err
    from creditctl.demo import demo_dir

    strict = tmp_path / "block_all.yaml"
    strict.write_text("version: 1\nname: Block everyone\nrules:\n"
                      "  - id: block-all\n    when: customer_age_days >= 0\n    then: block\n    reason: Test\n")
    config = demo_dir() / "creditctl.yaml"
    config.write_text(config.read_text().replace(str(ROOT / "rules" / "credit_control.yaml"), str(strict)))
    result = run_cli(capsys, monkeypatch, "run", "--config", str(config), "--as-of", "2026-11-28")
    assert result.code == 1
    assert "max_new_blocks_percent" in result.err and "--approve" in result.err
    assert len(result.err.strip().splitlines()) == 1
