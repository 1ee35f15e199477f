"""docs/operations.md and the README say only what exists: every creditctl command line they
show parses, every schedule/sensor they start is defined, every variable they name is read."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer.main

from assets.definitions import build_definitions
from creditctl.cli import app
from tests.conftest import ROOT

DOCS = [ROOT / "docs" / "operations.md", ROOT / "README.md"]
SOURCES = [p for folder in ("assets", "etl", "creditctl", "connectors", "validation")
           for p in (ROOT / folder).rglob("*.py")]


def _command_lines(path: Path, program: str) -> list[str]:
    """Lines of the doc's ```bash blocks and `inline code` that run ``program``."""
    text = path.read_text(encoding="utf-8")
    blocks = "\n".join(re.findall(r"```bash\n(.*?)```", text, flags=re.S)).replace("\\\n", " ")
    lines = [line.split("#")[0].strip() for line in blocks.splitlines()]
    lines += re.findall(r"`((?:\.venv/bin/)?" + program + r" [^`]+)`", text)
    return [line for line in lines if re.match(r"(\.venv/bin/)?" + program + r"\b", line)]


def _is_group(command: object) -> bool:
    return hasattr(command, "commands")  # typer's groups are not always click.Group subclasses


def _resolve(args: list[str]) -> tuple[object, list[str]]:
    command = typer.main.get_command(app)
    while _is_group(command) and args and args[0] in command.commands:
        command, args = command.commands[args[0]], args[1:]
    return command, args


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_creditctl_line_names_real_commands_and_options(doc: Path) -> None:
    lines = _command_lines(doc, "creditctl")
    assert lines, f"no creditctl command found in {doc.name}"
    for line in lines:
        args = [a for a in shlex.split(line.replace("…", "X"))[1:] if a != "--debug"]  # the global option
        if args in ([], ["..."]):
            continue
        command, rest = _resolve(args)
        assert not _is_group(command), f"{doc.name}: {line!r} names no command"
        known = {opt for param in command.params for opt in param.opts}
        unknown = [a for a in rest if a.startswith("--") and a.split("=")[0] not in known]
        assert not unknown, f"{doc.name}: {line!r}: unknown option(s) {unknown}"


def test_started_schedules_and_sensors_exist(tmp_path: Path, monkeypatch) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("erp: {kind: demo, companies: [A], options: {path: x.sqlite}}\nrules: [r.yaml]\n")
    monkeypatch.setenv("CREDITCTL_CONFIG", str(config))
    defs = build_definitions()
    lines = _command_lines(ROOT / "docs" / "operations.md", "dagster")
    started = [(m.group(1), m.group(2)) for line in lines if (m := re.match(r"dagster (schedule|sensor) start (\S+)", line))]
    assert {kind for kind, _ in started} == {"schedule", "sensor"}
    for kind, name in started:
        if kind == "schedule":
            assert defs.resolve_schedule_def(name).name == name
        else:
            assert defs.resolve_sensor_def(name).name == name


def test_every_variable_the_docs_name_is_read_by_the_code() -> None:
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    code = "\n".join(p.read_text(encoding="utf-8") for p in SOURCES)
    named = set(re.findall(r"\b((?:CREDITCTL|DAGSTER)_[A-Z_]+)\b", text))
    assert "CREDITCTL_SMTP_HOST" in named
    deploy = (ROOT / "docs" / "deploy" / "dagster.yaml").read_text(encoding="utf-8")
    missing = sorted(v for v in named if v not in code and v not in deploy and v != "DAGSTER_HOME")
    assert not missing, f"docs/operations.md names variables nothing reads: {missing}"


def test_the_guard_messages_the_docs_quote_are_the_codes() -> None:
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    code = "\n".join(p.read_text(encoding="utf-8") for p in SOURCES)
    for fragment in ("guards.max_quarantine_percent", "guards.max_customer_drop_percent",
                     "guards.max_new_blocks_percent", "holds the writeback lock for",
                     "not found in the ERP after apply", "from the journal"):
        assert fragment in text and fragment in code, fragment
