"""Run the console script's entry point in-process, as a user would call it."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pytest

from creditctl.cli import main


@dataclass
class CliResult:
    code: int
    out: str
    err: str


def run_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str) -> CliResult:
    monkeypatch.setattr(sys, "argv", ["creditctl", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    captured = capsys.readouterr()
    code = exit_info.value.code
    return CliResult(code if isinstance(code, int) else (0 if code is None else 1), captured.out, captured.err)


def command_paths() -> list[tuple[str, ...]]:
    """Every command and subcommand of the click tree typer builds for creditctl, the root included."""
    import click
    import typer

    from creditctl.cli import app

    paths: list[tuple[str, ...]] = []

    def walk(command: click.Command, path: tuple[str, ...]) -> None:
        paths.append(path)
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return paths
