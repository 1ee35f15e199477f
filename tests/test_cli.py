"""`creditctl` as users call it: evaluate per SPEC §9, clear one-line errors with exit code 2."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from tests.cli_helpers import run_cli
from tests.conftest import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "evaluate"


def test_evaluate_writes_the_spec_decisions_row_by_row(tmp_path: Path, capsys, monkeypatch) -> None:
    out = tmp_path / "out" / "decisions.csv"
    result = run_cli(capsys, monkeypatch, "evaluate", "--data", str(FIXTURE), "--rules", str(FIXTURE / "rules.yaml"),
                     "--as-of", "2026-06-30", "--out", str(out))
    assert result.code == 0, result.err
    got = pd.read_csv(out, dtype=str, keep_default_na=False)
    expected = pd.read_csv(FIXTURE / "expected_decisions.csv", dtype=str, keep_default_na=False)
    assert list(got.columns) == [*expected.columns, "ruleset_sha256"]
    sha = hashlib.sha256((FIXTURE / "rules.yaml").read_bytes()).hexdigest()
    assert set(got["ruleset_sha256"]) == {sha}
    for (_, g), (_, e) in zip(got.iterrows(), expected.iterrows(), strict=True):
        assert g.drop("ruleset_sha256").to_dict() == e.to_dict()
    assert (out.parent / "quarantine.csv").is_file()


def test_evaluate_missing_data_folder(tmp_path: Path, capsys, monkeypatch) -> None:
    result = run_cli(capsys, monkeypatch, "evaluate", "--data", str(tmp_path / "nope"), "--rules",
                     str(FIXTURE / "rules.yaml"), "--as-of", "2026-06-30", "--out", str(tmp_path / "d.csv"))
    assert result.code == 2
    assert result.err.strip().count("\n") == 0 and "nope" in result.err and "folder not found" in result.err
    assert "Traceback" not in result.err


def test_evaluate_missing_rule_file(tmp_path: Path, capsys, monkeypatch) -> None:
    result = run_cli(capsys, monkeypatch, "evaluate", "--data", str(FIXTURE), "--rules", str(tmp_path / "gone.yaml"),
                     "--as-of", "2026-06-30", "--out", str(tmp_path / "d.csv"))
    assert result.code == 2
    assert "gone.yaml" in result.err and "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1


@pytest.mark.parametrize("bad", ["2026-13-01", "yesterday", "30.06.2026"])
def test_invalid_as_of(tmp_path: Path, capsys, monkeypatch, bad: str) -> None:
    result = run_cli(capsys, monkeypatch, "evaluate", "--data", str(FIXTURE), "--rules", str(FIXTURE / "rules.yaml"),
                     "--as-of", bad, "--out", str(tmp_path / "d.csv"))
    assert result.code == 2
    assert result.err.strip() == f"error: --as-of {bad!r}: not a date, use YYYY-MM-DD"


def test_config_with_unknown_key(tmp_path: Path, capsys, monkeypatch) -> None:
    config = tmp_path / "creditctl.yaml"
    config.write_text(
        "erp: {kind: files, companies: [DE01], options: {path: .}}\n"
        f"rules: [{FIXTURE / 'rules.yaml'}]\n"
        "writeback: dry-run\n"
        "writebak: apply\n"
    )
    result = run_cli(capsys, monkeypatch, "run", "--config", str(config))
    assert result.code == 2
    assert result.err.strip() == f"error: {config}:4:1: writebak: unknown key (did you mean 'writeback'?)"


def test_missing_config_file(tmp_path: Path, capsys, monkeypatch) -> None:
    result = run_cli(capsys, monkeypatch, "run", "--config", str(tmp_path / "none.yaml"))
    assert result.code == 2
    assert "none.yaml: config file not found" in result.err


def test_unknown_option_is_a_usage_error(capsys, monkeypatch) -> None:
    result = run_cli(capsys, monkeypatch, "evaluate", "--frobnicate")
    assert result.code == 2
