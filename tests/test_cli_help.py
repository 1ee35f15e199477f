"""The CLI's help reads like a well-kept CLI: readable metavars, -h, --version, --debug anywhere."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.cli_helpers import command_paths, run_cli
from tests.conftest import ROOT

#: typer's Python-type placeholders and required-argument braces, never shown to a user
PLACEHOLDERS = re.compile(r"<bool>|<str>|<int>|<path>|<list\[|\{\w+\}|<[a-z_]+( range)?>")


PATHS = command_paths()


def test_the_tree_has_every_command() -> None:
    names = {" ".join(p) for p in PATHS}
    assert {"", "run", "demo", "evaluate", "simulate", "rules check", "rules test", "override add",
            "override remove", "store upgrade", "connector setup"} <= names


@pytest.mark.parametrize("path", PATHS, ids=[" ".join(p) or "creditctl" for p in PATHS])
def test_help_has_no_type_placeholders(path: tuple[str, ...], capsys, monkeypatch) -> None:
    result = run_cli(capsys, monkeypatch, *path, "--help")
    assert result.code == 0, result.err
    assert "Usage: creditctl" in result.out
    assert not PLACEHOLDERS.findall(result.out), result.out
    assert "SPEC" not in result.out  # users have no SPEC: help points to docs/
    short = run_cli(capsys, monkeypatch, *path, "-h")
    assert short.code == 0 and short.out == result.out
    assert re.search(r"--help\s+-h\s", result.out)
    if path:  # every command takes --debug itself
        assert "--debug" in result.out


def test_metavars_say_what_to_type(capsys, monkeypatch) -> None:
    remove = run_cli(capsys, monkeypatch, "override", "remove", "--help").out
    assert "Usage: creditctl override remove [OPTIONS] ID" in remove
    check = run_cli(capsys, monkeypatch, "rules", "check", "--help").out
    assert "[PATH...]" in check and "--config" in check
    run = run_cli(capsys, monkeypatch, "run", "--help").out
    assert re.search(r"--config\s+PATH", run) and re.search(r"--as-of\s+DATE", run)
    assert "[off|dry-run|apply]" in run


def test_version(capsys, monkeypatch) -> None:
    result = run_cli(capsys, monkeypatch, "--version")
    assert result.code == 0
    assert result.out.strip() == f"creditctl {version('creditctl')}"


def test_mode_accepts_off_dry_run_apply_and_nothing_else(tmp_path: Path, capsys, monkeypatch) -> None:
    missing = tmp_path / "missing.yaml"
    for mode in ("off", "dry-run", "apply"):
        result = run_cli(capsys, monkeypatch, "run", "--config", str(missing), "--mode", mode)
        assert result.code == 2 and "config file not found" in result.err, result.err  # past --mode
    bad = run_cli(capsys, monkeypatch, "run", "--config", str(missing), "--mode", "aply")
    assert bad.code == 2
    assert "--mode" in bad.err and all(m in bad.err for m in ("off", "dry-run", "apply"))


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_before_or_after_the_command_shows_the_traceback(where: str, tmp_path: Path, capsys,
                                                                monkeypatch) -> None:
    args = ["report", "--run", "r1", "--config", str(tmp_path / "missing.yaml")]
    args = ["--debug", *args] if where == "before" else [*args, "--debug"]
    result = run_cli(capsys, monkeypatch, *args)
    assert result.code == 2
    assert "Traceback" in result.err and "error: " in result.err
    plain = run_cli(capsys, monkeypatch, *[a for a in args if a != "--debug"])
    assert plain.code == 2 and "Traceback" not in plain.err


def test_rules_test_output_is_not_wrapped_when_piped(tmp_path: Path) -> None:
    scenario = tmp_path / "a-scenario-file-with-a-rather-long-name-so-that-every-line-is-long.yaml"
    scenario.write_text(
        f"rules: {ROOT / 'rules' / 'credit_control.yaml'}\nas_of: 2026-03-31\nscenarios:\n"
        "  - name: an invoice ninety-five days overdue blocks the account, whatever the limit says\n"
        "    items: [{days_overdue: 95, amount: 1500}]\n"
        "    expect: {action: hold, rule_ids: [over-limit-hold]}\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.run([sys.executable, "-m", "creditctl", "rules", "test", str(scenario)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert f"{scenario}::an invoice ninety-five days overdue blocks the account, whatever the limit says FAILED" \
        in lines
    failed = [line for line in lines if line.startswith("FAILED ")]
    assert failed == [f"FAILED {scenario}::an invoice ninety-five days overdue blocks the account, whatever the limit "
                      f"says - {scenario}:6:22: action: expected hold, got block"]
    assert f"    {scenario}:6:38: rule_ids: expected ['over-limit-hold'], got ['overdue-90-block'] " \
           "(fired: overdue-90-block)" in lines
    assert lines[-1] == "0 passed, 1 failed"
