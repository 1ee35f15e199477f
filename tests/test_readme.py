"""Every `creditctl` command line of the README's ```bash blocks runs, as written, with the installed
console script: from the repo root and from another folder, in an environment without the
Makefile's variables (no CREDITCTL_DATA_DIR, DAGSTER_HOME, CREDITCTL_STATE_URL).

The README runs its commands on the committed example (examples/creditctl.yaml, the files
connector on examples/data/). Without CREDITCTL_DATA_DIR that config's data folder is the
project's data/, so the test works on a copy of examples/ whose config sets ``data_dir`` to a
temporary folder — the only change to what the README says. Besides that, a command line is
changed only where running it here needs it: the script's absolute path, ``examples/...`` to
the copy, ``--out`` files to a temporary folder (never into the repo), RUN_ID to the id the
README's ``run`` printed and, from the other folder, repo paths such as ``rules/...`` made
absolute. HOME (and the XDG folders) are temporary too. Every store and run folder a command
names must be in the temporary data folder, and no output may name the developer's data/.

`creditctl demo` (what `make demo` runs) is named in the README's text, not in its command
blocks: it has no config, so only CREDITCTL_DATA_DIR could keep it out of data/, and it costs
half a minute; tests/test_demo_cli.py runs it. The two folders' command sequences run side by
side (each has its own copy, data folder and outputs): most of the time is their two Dagster runs.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from etl.config import load_config
from tests.conftest import ROOT

README = ROOT / "README.md"
CREDITCTL = ROOT / ".venv" / "bin" / "creditctl"
#: the commands this test can run here (no real ERP); those that write a file into the current
#: folder unless given --out
RUNNABLE = {"run", "evaluate", "rules check", "rules test", "simulate", "report", "override add",
            "override list", "override remove", "audit", "store upgrade"}
WRITES_OUT = {"evaluate", "simulate", "report"}
#: besides every CREDITCTL_* variable (the Makefile's CREDITCTL_DATA_DIR, the state store's URL,
#: CREDITCTL_CONFIG, ...): the Dagster instance the Makefile points at
DROPPED = ("DAGSTER_HOME", "DAGSTER_PG_URL")
TIMEOUT = 240


def readme_commands() -> list[list[str]]:
    """The `creditctl` command lines of the README's ```bash blocks, split as a shell would."""
    text = README.read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            args = shlex.split(line, comments=True)
            if args and re.fullmatch(r"(\.venv/bin/)?creditctl", args[0]):
                commands.append(args)
    return commands


def _name(args: list[str]) -> str:
    """The (sub)command a line runs: 'run', 'rules check', ..."""
    words = [a for a in args[1:] if a != "--debug"]
    return " ".join(words[:2]) if words and words[0] in ("rules", "override", "store", "connector") else words[0]


def _environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDITCTL_") and k not in DROPPED}
    env["HOME"] = str(home)
    for name, sub in (("XDG_DATA_HOME", ".local/share"), ("XDG_CONFIG_HOME", ".config"),
                      ("XDG_CACHE_HOME", ".cache"), ("XDG_STATE_HOME", ".local/state")):
        env[name] = str(home / sub)
    return env


def _example_copy(folder: Path, data_dir: Path) -> Path:
    """examples/ copied into ``folder`` beside a link to the project's rules/ (so ../rules/... holds),
    its config's data_dir set to ``data_dir``; returns the copy's examples folder."""
    examples = folder / "examples"
    shutil.copytree(ROOT / "examples", examples)
    (folder / "rules").symlink_to(ROOT / "rules", target_is_directory=True)
    config_path = examples / "creditctl.yaml"
    raw = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    assert "data_dir" not in raw, "examples/creditctl.yaml sets data_dir: this test sets its own"
    raw["data_dir"] = str(data_dir)
    config_path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    config = load_config(config_path)
    assert config.data_dir == data_dir.resolve()
    assert config.rules == [(ROOT / "rules" / "credit_control.yaml").resolve()]
    return examples


def _run_all(where: str, tmp: Path) -> list[str]:
    """Run the README's lines in order from the repo root or from another folder; the log of what ran."""
    base = tmp / where
    outputs, home = base / "out", base / "home"
    for folder in (outputs, home):
        folder.mkdir(parents=True)
    data_dir = (base / "data").resolve()
    examples = _example_copy(base / "checkout", data_dir)
    cwd = ROOT if where == "repo-root" else base / "elsewhere"
    cwd.mkdir(exist_ok=True)
    env = _environment(home)
    run_id: str | None = None
    log: list[str] = []
    for line in readme_commands():
        name = _name(line)
        shown = shlex.join(line)
        assert name in RUNNABLE, f"README shows `{shown}`, which this test cannot run here"
        args = [str(CREDITCTL)]
        for previous, arg in zip(line, line[1:], strict=False):
            if previous == "--out":
                arg = str(outputs / Path(arg).name)
            elif arg == "RUN_ID":
                assert run_id, f"`{shown}` needs the id of a run, and no README line ran one before it"
                arg = run_id
            elif arg.startswith("examples/"):
                arg = str(examples / arg.removeprefix("examples/"))
            elif where != "repo-root" and "/" in arg and (ROOT / arg).exists():
                arg = str(ROOT / arg)
            args.append(arg)
        if name in WRITES_OUT:
            assert "--out" in line, f"`{shown}` writes into the current folder: give --out in the README"
        proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=TIMEOUT, check=False)
        output = proc.stdout + proc.stderr
        context = f"[{where}] `{shown}` exited {proc.returncode}\n{output}"
        assert proc.returncode == 0, context
        assert str(ROOT / "data") not in output, f"{context}\n-> uses the developer's data folder"
        for store in re.findall(r"sqlite:///\S+", output):  # every store a command names
            assert store.startswith(f"sqlite:///{data_dir}/"), f"{context}\n-> a state store outside {data_dir}"
        if name == "run":
            run_id = re.search(r"run id: ([0-9a-f-]{36})", output).group(1)
            assert "nothing was written to the ERP" in output, context
            for path in re.findall(r"^(?:decisions|plan|quarantine|report): (\S+)$", proc.stdout, flags=re.M):
                assert Path(path).is_relative_to(data_dir / "runs" / run_id) and Path(path).is_file(), context
        if name in WRITES_OUT:
            out = outputs / Path(line[line.index("--out") + 1]).name
            assert out.is_file() and out.stat().st_size > 0, f"{context}\n-> no {out}"
        log.append(f"{where}: {shown}")
    return log


def test_readme_shows_the_commands_a_user_needs() -> None:
    names = [_name(line) for line in readme_commands()]
    assert {"run", "evaluate", "rules check", "rules test", "simulate", "report", "override add",
            "override list", "audit", "store upgrade"} <= set(names), names
    assert names.index("run") < names.index("report")  # report --run RUN_ID shows the run's id
    for line in readme_commands():
        if "--config" in line:
            assert line[line.index("--config") + 1] == "examples/creditctl.yaml", line  # the committed example
    assert CREDITCTL.is_file(), "the console script is installed by `make setup`"


def _repo_files() -> dict[str, float]:
    return {p.name: p.stat().st_mtime for p in ROOT.iterdir() if p.is_file()}


def test_readme_commands_run_from_the_repo_root_and_from_another_folder(tmp_path: Path) -> None:
    before = _repo_files()
    # the two folders side by side: each has its own data folder, state store and outputs
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(_run_all, where, tmp_path) for where in ("repo-root", "other-folder")]
        logs = [f.result() for f in futures]
    assert all(len(log) == len(readme_commands()) for log in logs)
    # nothing the commands write landed in the repo's top folder (the --out files went to tmp)
    changed = {name for name, mtime in _repo_files().items() if before.get(name) != mtime}
    assert not changed & {"decisions.csv", "quarantine.csv", "simulation.csv", "report.html"}, changed
