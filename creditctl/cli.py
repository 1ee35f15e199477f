"""`creditctl`: one-off runs, the demo, rule development (SPEC §9).

Exit codes: 0 ok, 1 run failed (guard, validation, writeback), 2 usage or lint error. Errors are
one line on stderr; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Automated credit control: ERP -> credit positions -> rules -> guarded writeback.")
rules_app = typer.Typer(no_args_is_help=True, help="Check and test rule files.")
app.add_typer(rules_app, name="rules")

out = Console()
err = Console(stderr=True, soft_wrap=True)


class Failed(Exception):
    """A run failed (exit 1); the message is one line."""


class Usage(Exception):
    """Bad input or a lint error (exit 2); the message is one line (or one per lint error)."""


_state = {"debug": False}


@app.callback()
def _main(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False) -> None:
    _state["debug"] = debug


def _as_of(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise Usage(f"--as-of {value!r}: not a date, use YYYY-MM-DD") from None


def _companies_note(n: int) -> str:
    return f"{n} compan{'y' if n == 1 else 'ies'}"


# --- evaluate -------------------------------------------------------------------------------
@app.command()
def evaluate(
    data: Annotated[Path, typer.Option("--data", help="Folder with the SPEC §3 CSV/Parquet files.")],
    rules: Annotated[list[Path], typer.Option("--rules", help="Rule file(s); repeat or list several.")],
    as_of: Annotated[str, typer.Option("--as-of", help="Evaluation date, YYYY-MM-DD.")],
    out_path: Annotated[Path, typer.Option("--out", help="Decisions CSV to write.")] = Path("decisions.csv"),
    more_rules: Annotated[list[Path] | None, typer.Argument(help="More rule files (after --rules).")] = None,
) -> None:
    """Pure evaluation: files in, decisions CSV out (plus quarantine.csv beside it)."""
    from connectors.files import FilesConnector, write_decisions
    from etl.pipeline import evaluate as run_evaluation
    from etl.pipeline import extract_guard_problems
    from etl.rules import load_ruleset

    date = _as_of(as_of)
    if not data.is_dir():
        raise Usage(f"--data {data}: folder not found")
    ruleset = load_ruleset([*rules, *(more_rules or [])])
    extract = FilesConnector(data).read_extract()
    with err.status("evaluating"):
        result = run_evaluation(extract, ruleset, date)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    quarantine_path = out_path.parent / "quarantine.csv"
    result.quarantine.to_csv(quarantine_path, index=False)
    problems = extract_guard_problems(result.validated, ruleset.guards.max_quarantine_percent)
    if problems:
        raise Failed(f"{problems[0]} (quarantine: {quarantine_path})")
    decisions = result.decisions.drop(columns=["run_id"], errors="ignore")
    write_decisions(decisions, out_path)
    _print_actions(decisions)
    err.print(f"wrote {len(decisions)} decisions to {out_path}, {len(result.quarantine)} quarantined row(s) to "
              f"{quarantine_path}")


# --- rules ----------------------------------------------------------------------------------
@rules_app.command("check")
def rules_check(paths: Annotated[list[Path] | None, typer.Argument(help="Rule files (default rules/*.yaml).")] = None) -> None:
    """Lint rule files: every error with file:line:column and a hint."""
    from etl.rules import lint_paths

    files = paths or sorted(Path("rules").glob("*.yaml"))
    if not files:
        raise Usage("no rule files given and none in rules/*.yaml")
    messages = lint_paths(files)
    if messages:
        raise Usage("\n".join(str(m) for m in messages))
    out.print(f"{len(files)} rule file(s) OK")


@rules_app.command("test")
def rules_test(paths: Annotated[list[Path] | None, typer.Argument(help="Scenario files (default rules/tests/*.yaml).")] = None) -> None:
    """Run rule scenario tests and print a pytest-like summary."""
    from etl.rules.scenarios import run_scenario_files

    files = paths or sorted(Path("rules/tests").glob("*.yaml"))
    if not files:
        raise Usage("no scenario files given and none in rules/tests/*.yaml")
    results = run_scenario_files(files)
    failed = [r for r in results if not r.passed]
    for r in results:
        mark = "[green]PASSED[/]" if r.passed else "[red]FAILED[/]"
        out.print(f"{r.file}::{r.name} {mark}", soft_wrap=True)
    for r in failed:
        out.print(f"[red]FAILED[/] {r.file}::{r.name} - {r.message}", highlight=False)
    summary = f"{len(results) - len(failed)} passed, {len(failed)} failed"
    out.print(f"[bold]{summary}[/]")
    if failed:
        raise typer.Exit(1)


# --- run / demo -----------------------------------------------------------------------------
def _run_and_report(config_path: Path, as_of: dt.date | None, mode: str | None, approve: bool) -> None:
    from creditctl.runner import run_nightly
    from etl.config import run_dir

    with err.status("running nightly_credit_control"):
        outcome = run_nightly(config_path, as_of=as_of, mode=mode, approve=approve)
    if not outcome.success:
        raise Failed(f"run {outcome.run_id} failed: {outcome.message}")
    _print_summary(outcome.run_id, outcome.store_url, run_dir(outcome.run_id))


@app.command()
def run(
    config: Annotated[Path, typer.Option("--config", help="Run config YAML (SPEC §9).")],
    mode: Annotated[str | None, typer.Option("--mode", help="dry-run or apply (default: the config's writeback).")] = None,
    approve: Annotated[bool, typer.Option("--approve", help="Apply even beyond the blast-radius guard.")] = False,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Evaluation date, YYYY-MM-DD (default today).")] = None,
) -> None:
    """Run the nightly job once for a configured ERP."""
    from etl.config import load_config

    if mode is not None and mode not in ("off", "dry-run", "apply"):
        raise Usage(f"--mode {mode!r}: use off, dry-run or apply")
    date = _as_of(as_of)
    load_config(config)
    _run_and_report(config, date, mode, approve)


@app.command()
def demo(
    customers: Annotated[int, typer.Option("--customers", min=10, help="Customers in the demo ERP.")] = 2000,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Evaluation date, YYYY-MM-DD (default today).")] = None,
    rules: Annotated[Path, typer.Option("--rules", help="Rule file for the demo.")] = Path("rules/credit_control.yaml"),
) -> None:
    """Embedded demo ERP, full nightly run with writeback, summary. `make clean` starts over."""
    from creditctl.demo import prepare_demo

    date = _as_of(as_of) or dt.date.today()
    if not rules.is_file():
        raise Usage(f"--rules {rules}: rule file not found (run from the project folder)")
    config_path, created = prepare_demo(customers=customers, as_of=date, rules=rules)
    if created:
        err.print(f"generated the demo ERP ({customers} customers) for {date}")
    _run_and_report(config_path, date, "apply", approve=False)
    err.print(f"demo config: {config_path}")


# --- audit ----------------------------------------------------------------------------------
@app.command()
def audit(
    config: Annotated[Path | None, typer.Option("--config", help="Run config (for its state store).")] = None,
    customer: Annotated[str | None, typer.Option("--customer", help="Only this customer id.")] = None,
    run_id: Annotated[str | None, typer.Option("--run", help="Only this run id.")] = None,
) -> None:
    """What this tool changed in the ERP, when and why."""
    from etl.config import data_dir, load_config
    from etl.store import StateStore

    url = load_config(config).state_url(data_dir()) if config else \
        os.environ.get("CREDITCTL_STATE_URL") or f"sqlite:///{(data_dir() / 'state.sqlite').resolve()}"
    rows = StateStore(url).audit(customer_id=customer, run_id=run_id)
    table = Table("applied_at", "run", "company", "customer", "change", "order", "before", "after", "rules")
    for r in rows.itertuples():
        table.add_row(str(r.applied_at)[:19], r.run_id[:8], r.company, r.customer_id, r.change, r.order_id,
                      r.before, r.after, r.rule_ids)
    out.print(table)
    out.print(f"{len(rows)} audit row(s)")


# --- output helpers -------------------------------------------------------------------------
def _print_actions(decisions) -> None:  # noqa: ANN001 - a DataFrame
    table = Table("company", "action", "customers", title="Decisions")
    counts = decisions.groupby(["company", "action"]).size()
    for (company, action), n in counts.items():
        table.add_row(str(company), str(action), str(n))
    out.print(table)


def _print_summary(run_id: str, store_url: str, folder: Path) -> None:
    from etl.plan import CHANGES
    from etl.store import StateStore

    store = StateStore(store_url)
    try:
        decisions = store.decisions(run_id)
        audit_rows = store.audit(run_id=run_id)
        run_row = store.run(run_id) or {}
    finally:
        store.dispose()
    _print_actions(decisions)
    changes = Table("change", "written", title="Changes written to the ERP")
    counts = audit_rows["change"].value_counts()
    for change in CHANGES:
        changes.add_row(change, str(int(counts.get(change, 0))))
    out.print(changes)
    lines = [
        f"run id: {run_id}",
        f"mode: {run_row.get('mode', '?')}, customers: {len(decisions)}, changes written: {len(audit_rows)}",
        f"decisions: {folder / 'decisions.csv'}",
        f"plan: {folder / 'plan.csv'}",
        f"quarantine: {folder / 'quarantine.csv'}",
        f"state store: {store_url}",
    ]
    for line in lines:  # paths unwrapped, so they can be copied
        out.print(line, soft_wrap=True, highlight=False)


def main() -> None:
    """Console-script entry: map known errors to one line and an exit code."""
    from etl.config import ConfigError
    from etl.ports import ConnectorError
    from etl.rules import RuleLintError
    from validation.quarantine import ContractError

    try:
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except SystemExit:
        raise
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - the one place errors become exit codes
        if _state["debug"]:
            err.print_exception()
        if isinstance(exc, typer.Abort):
            sys.exit(130)
        if callable(getattr(exc, "show", None)) and isinstance(getattr(exc, "exit_code", None), int):
            exc.show()  # a usage error of the command line parser (typer vendors click)
            sys.exit(2)
        if isinstance(exc, (Usage, ConfigError, RuleLintError)):
            code = 2
        elif isinstance(exc, (Failed, ConnectorError, ContractError)):
            code = 1
        else:
            code = 1
            exc = RuntimeError(f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
                               " (rerun with --debug for the traceback)")
        for line in str(exc).splitlines() or [type(exc).__name__]:
            err.print(f"error: {line}", highlight=False, markup=False, soft_wrap=True)
        sys.exit(code)
