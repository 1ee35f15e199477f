"""`creditctl`: one-off runs, the demo, rule development (SPEC §9).

Exit codes: 0 ok, 1 run failed (guard, validation, writeback), 2 usage or lint error. Errors are
one line on stderr; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from creditctl.helpfmt import DEBUG_HELP, Typer
from creditctl.helpfmt import state as _state

app = Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
            help="Automated credit control: ERP -> credit positions -> rules -> guarded writeback.")
rules_app = Typer(no_args_is_help=True, help="Check and test rule files.")
app.add_typer(rules_app, name="rules")
override_app = Typer(no_args_is_help=True,
                     help="A credit manager's exemptions and forced blocks (win over the rules; audited).")
app.add_typer(override_app, name="override")

out = Console()
err = Console(stderr=True, soft_wrap=True)


class Failed(Exception):
    """A run failed (exit 1); the message is one line."""


class Usage(Exception):
    """Bad input or a lint error (exit 2); the message is one line (or one per lint error)."""


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        out.print(f"creditctl {version('creditctl')}", highlight=False)
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help=DEBUG_HELP)] = False,
    version: Annotated[bool, typer.Option("--version", is_eager=True, callback=_version,
                                          help="Show the version and exit.")] = False,
) -> None:
    if debug:
        _state["debug"] = True


WritebackMode = Literal["off", "dry-run", "apply"]  # etl.config's, not imported here: help stays fast


def _as_of(value: str | None, option: str = "--as-of") -> dt.date | None:
    """A date option's value; ``option`` is the option as typed, for the error (--as-of, --until, ...)."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise Usage(f"{option} {value!r}: not a date, use YYYY-MM-DD") from None


def _companies_note(n: int) -> str:
    return f"{n} compan{'y' if n == 1 else 'ies'}"


# --- evaluate -------------------------------------------------------------------------------
@app.command()
def evaluate(
    data: Annotated[Path, typer.Option("--data", metavar="DIR", help="Folder with the ERP data as CSV/Parquet files (docs/connectors.md, files connector).")],
    rules: Annotated[list[Path], typer.Option("--rules", metavar="PATH", help="Rule file(s); repeat or list several.")],
    as_of: Annotated[str, typer.Option("--as-of", metavar="DATE", help="Evaluation date, YYYY-MM-DD.")],
    out_path: Annotated[Path, typer.Option("--out", metavar="PATH", help="Decisions CSV to write.")] = Path("decisions.csv"),
    more_rules: Annotated[list[Path] | None, typer.Argument(metavar="PATH...", help="More rule files (after --rules).")] = None,
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
    # the customer-drop guard needs the previous run's count: evaluate keeps no history
    problems = extract_guard_problems(result.validated, ruleset.guards.max_quarantine_percent,
                                      quarantine=result.quarantine)
    if problems:
        raise Failed(f"{'; '.join(problems)} (quarantine: {quarantine_path})")
    decisions = result.decisions.drop(columns=["run_id"], errors="ignore")
    write_decisions(decisions, out_path)
    _print_actions(decisions)
    err.print(f"wrote {len(decisions)} decisions to {out_path}, {len(result.quarantine)} quarantined row(s) to "
              f"{quarantine_path}")


# --- rules ----------------------------------------------------------------------------------
@rules_app.command("check")
def rules_check(
    paths: Annotated[list[Path] | None, typer.Argument(metavar="PATH...", help="Rule files (default rules/*.yaml).")] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", metavar="PATH", help="Run config: also warn about scopes naming a company it does not have.")] = None,
) -> None:
    """Lint rule files: every error with file:line:column and a hint."""
    from etl.rules import lint_paths, load_ruleset

    files = paths or sorted(_rules_folder().glob("*.yaml"))
    if not files:
        raise Usage("no rule files given and none in rules/*.yaml")
    messages = lint_paths(files)
    if messages:
        raise Usage("\n".join(str(m) for m in messages))
    if config is not None:
        from etl.config import load_config

        _warn_scopes(load_ruleset(files), load_config(config).erp.companies)
    out.print(f"{len(files)} rule file(s) OK")


def _warn_scopes(ruleset, companies: list[str]) -> None:  # noqa: ANN001 - etl.rules.RuleSet, imported lazily
    for warning in ruleset.unknown_scope_companies(companies):
        err.print(f"warning: {warning}", style="yellow", highlight=False, markup=False, soft_wrap=True)


@rules_app.command("test")
def rules_test(paths: Annotated[list[Path] | None, typer.Argument(metavar="PATH...", help="Scenario files or folders (default rules/tests/*.yaml).")] = None) -> None:
    """Run rule scenario tests and print a pytest-like summary."""
    from etl.rules.scenarios import run_scenario_files

    files = paths or sorted((_rules_folder() / "tests").glob("*.yaml"))
    if not files:
        raise Usage("no scenario files given and none in rules/tests/*.yaml")
    results = run_scenario_files(files)
    failed = [r for r in results if not r.passed]
    for r in results:
        mark = "[green]PASSED[/]" if r.passed else "[red]FAILED[/]"
        out.print(f"{escape(r.file)}::{escape(r.name)} {mark}", soft_wrap=True)
    for r in failed:  # every problem, each on its own line at file:line:column
        first, *more = r.message.splitlines() or [""]
        out.print(f"[red]FAILED[/] {escape(r.file)}::{escape(r.name)} - {escape(first)}", highlight=False, soft_wrap=True)
        for line in more:
            out.print(f"    {line}", highlight=False, markup=False, soft_wrap=True)
    summary = f"{len(results) - len(failed)} passed, {len(failed)} failed"
    out.print(f"[bold]{summary}[/]", soft_wrap=True)
    if failed:
        raise typer.Exit(1)


# --- run / demo -----------------------------------------------------------------------------
def _run_and_report(config_path: Path, as_of: dt.date | None, mode: str | None, approve: bool,
                    company: str | None = None, retries: int = 0) -> None:
    from creditctl.runner import run_nightly
    from etl.config import load_config, run_dir

    scope = f" for {company}" if company else ""
    with err.status(f"running nightly_credit_control{scope}") as status:
        outcome = run_nightly(config_path, as_of=as_of, mode=mode, approve=approve, company=company,
                              retries=retries,
                              on_step=lambda step: status.update(f"running nightly_credit_control{scope}: {step}"))
    if not outcome.success:  # one line, the new store's announcement in it
        new = ", new: created by this run" if outcome.store_created else ""
        raise Failed(f"run {outcome.run_id} failed: {outcome.message} (state store: {_shown(outcome.store_url)}{new})")
    if outcome.store_created:
        _announce_new_store(outcome.store_url)
    _print_summary(outcome.run_id, outcome.store_url, run_dir(outcome.run_id, load_config(config_path)))


@app.command()
def run(
    config: Annotated[Path, typer.Option("--config", metavar="PATH", help="Run config YAML (docs/configuration.md).")],
    mode: Annotated[WritebackMode | None, typer.Option(
        "--mode", metavar="[off|dry-run|apply]",
        help="off or dry-run (plan and report, write nothing) or apply (default: the config's writeback).")] = None,
    approve: Annotated[bool, typer.Option("--approve", help="Apply even beyond the blast-radius guard.")] = False,
    as_of: Annotated[str | None, typer.Option("--as-of", metavar="DATE", help="Evaluation date, YYYY-MM-DD (default today).")] = None,
    company: Annotated[str | None, typer.Option(
        "--company", metavar="COMPANY", help="Run one company's partition only (default: one run for every company).")] = None,
    retries: Annotated[int, typer.Option(
        "--retries", min=0, metavar="N", help="Retries of a read after a transient database error, 60 s apart.")] = 0,
) -> None:
    """Run the nightly job once for a configured ERP."""
    from etl.config import load_config

    if mode is not None and mode not in ("off", "dry-run", "apply"):
        raise Usage(f"--mode {mode!r}: use off, dry-run or apply")
    date = _as_of(as_of)
    run_config = load_config(config)
    if company is not None and company not in run_config.erp.companies:
        raise Usage(f"--company {company!r}: not one of erp.companies in {config} "
                    f"({', '.join(run_config.erp.companies)})")
    _run_and_report(config, date, mode, approve, company, retries)


@app.command()
def demo(
    customers: Annotated[int, typer.Option("--customers", min=10, metavar="N", help="Customers in the demo ERP.")] = 2000,
    as_of: Annotated[str | None, typer.Option("--as-of", metavar="DATE", help="Evaluation date, YYYY-MM-DD (default today).")] = None,
    rules: Annotated[Path | None, typer.Option(
        "--rules", metavar="PATH", help="Rule file for the demo (default: the project's rules/credit_control.yaml).")] = None,
) -> None:
    """Embedded demo ERP, full nightly run with writeback, summary. `make clean` starts over."""
    from creditctl.demo import default_rules, prepare_demo

    date = _as_of(as_of) or dt.date.today()
    rules = rules or default_rules()
    if not rules.is_file():
        raise Usage(f"--rules {rules}: rule file not found")
    with err.status(f"preparing the demo ERP ({customers} customers)"):
        config_path, created = prepare_demo(customers=customers, as_of=date, rules=rules)
    if created:
        err.print(f"generated the demo ERP ({customers} customers) for {date}; it is a SQLite file no ERPNext "
                  "serves, so its plans are written by SQL (a live ERPNext is written through its API)")
    _run_and_report(config_path, date, "apply", approve=False)
    err.print(f"demo config: {config_path}")


# --- state store: audit, overrides, unlock ------------------------------------------------
ConfigOption = Annotated[Path | None, typer.Option("--config", metavar="PATH", help="Run config (for its state store).")]


@app.command()
def simulate(
    config: Annotated[Path, typer.Option("--config", metavar="PATH", help="Run config YAML (its ERP and active rules).")],
    rules: Annotated[list[Path], typer.Option("--rules", metavar="PATH", help="Candidate rule file(s); repeat for several.")],
    baseline: Annotated[list[Path] | None, typer.Option("--baseline", metavar="PATH", help="Rules to compare with (default: the config's active rules).")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", metavar="DATE", help="Evaluation date, YYYY-MM-DD (default today).")] = None,
    out_path: Annotated[Path, typer.Option("--out", metavar="PATH", help="CSV of the customers whose decision differs.")] = Path("simulation.csv"),
) -> None:
    """What candidate rules would decide differently on the ERP's current data. Writes nothing to the ERP."""
    from zoneinfo import ZoneInfo

    from connectors import make_connector
    from etl.config import load_config
    from etl.extract import Extract
    from etl.provenance import resolve_provenance
    from etl.rules import load_ruleset
    from etl.simulate import simulate_rules

    run_config = load_config(config)
    date = _as_of(as_of) or dt.datetime.now(ZoneInfo(run_config.timezone)).date()
    candidate_rules = load_ruleset(rules)
    baseline_files = baseline or run_config.rules
    baseline_rules = load_ruleset(baseline_files)
    companies = run_config.erp.companies
    _warn_scopes(candidate_rules, companies)
    dropped = [r.id for r in baseline_rules.rules if r.id not in {c.id for c in candidate_rules.rules}]
    if dropped:  # a lone new file replaces the whole active set: every other rule counts as removed
        err.print(f"warning: the candidate rules lack {len(dropped)} rule(s) of the baseline "
                  f"({', '.join(dropped)}): they are simulated as removed. To try a new file beside them, pass "
                  + " ".join(f"--rules {p}" for p in [*baseline_files, *rules]),
                  style="bold yellow", highlight=False, markup=False, soft_wrap=True)
    with err.status("reading the ERP"):
        connector = make_connector(run_config.erp)
        extract = Extract(**{e: getattr(connector, f"read_{e}")(companies) for e in Extract.entities()})
    store = _store(config)
    try:
        provenance = resolve_provenance(store.audit(companies=companies), companies, connector.read_provenance,
                                        store=f"the state store {_shown(store.url)}")
        active = store.overrides(companies=companies, active_on=date)
    finally:
        store.dispose()
    if provenance.problem:  # read-only here: the limits' base is then the ERP's limit
        err.print(f"warning: {provenance.problem}", style="bold yellow", highlight=False, markup=False, soft_wrap=True)
    with err.status("evaluating both rule sets"):
        _, diff = simulate_rules(extract, baseline_rules, candidate_rules, date, provenance.owned, active)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    diff.rows.to_csv(out_path, index=False)
    # per company currency: EUR and USD exposures are never added up
    table = Table("difference", "currency", "customers", "exposure",
                  title=f"Candidate vs baseline rules, as of {date} (exposure in company currency)")
    for row in diff.summary().itertuples():
        table.add_row(row.change, row.company_currency or "?", str(row.customers), f"{row.exposure:,.2f}")
    out.print(table)
    out.print(f"{len(diff.rows)} customer(s) decided differently; nothing was written to the ERP", soft_wrap=True)
    out.print(f"details: {out_path}", soft_wrap=True, highlight=False)
    _print_store(store.url)


@app.command()
def report(
    run_id: Annotated[str, typer.Option("--run", metavar="RUN_ID", help="Run id (see the run summary or `creditctl audit`).")],
    out_path: Annotated[Path, typer.Option("--out", metavar="PATH", help="HTML file to write.")] = Path("report.html"),
    config: Annotated[Path | None, typer.Option("--config", metavar="PATH", help="Run config (for its state store).")] = None,
) -> None:
    """The run's HTML report: summary, what changed, decisions with reasons, charts, validation."""
    from etl.config import data_dir, load_config
    from etl.report import load_report_data, render_report

    store = _store(config)
    try:
        data = load_report_data(store, run_id, data_dir(load_config(config) if config else None) / "runs" / run_id)
        if data is None:
            raise Usage(f"--run {run_id}: no such run in the state store {_shown(store.url)}")
    finally:
        store.dispose()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(render_report(data), encoding="utf-8")
    out.print(f"report: {out_path}", soft_wrap=True, highlight=False)
    _print_store(store.url)


connector_app = Typer(no_args_is_help=True, help="Connector set-up.")
app.add_typer(connector_app, name="connector")
store_app = Typer(no_args_is_help=True, help="The state store (runs, decisions, audit, overrides).")
app.add_typer(store_app, name="store")


@connector_app.command("setup")
def connector_setup(
    kind: Annotated[str, typer.Argument(metavar="KIND", help="The connector to set up: odoo or erpnext.")],
    config: Annotated[Path, typer.Option("--config", metavar="PATH", help="Run config YAML (its erp.url_env names the database).")],
) -> None:
    """One-time ERP set-up a connector needs (Odoo: adds the custom order-hold fields to sale_order,
    then checks the addon creditctl_credit_control is installed, the prepayment term and the
    user's grants; ERPNext: checks the API user, its roles, the prepayment template, the
    frozen-entries role and the read user's grants, changing nothing; exit 1 when a check fails)."""
    from etl.config import load_config

    if kind not in ("odoo", "erpnext"):
        raise Usage(f"connector setup {kind!r}: only odoo and erpnext have a set-up")
    run_config = load_config(config)
    if run_config.erp.kind != kind:
        raise Usage(f"{config}: erp.kind is {run_config.erp.kind}, not {kind}")
    _report_setup(run_config, kind)


def _report_setup(run_config, kind: str) -> None:  # noqa: ANN001 - etl.config.RunConfig, imported lazily
    """The connector's set-up checks, one line each, unwrapped: easy to read, grep and paste into a ticket."""
    import importlib

    from connectors import make_connector

    check_setup = importlib.import_module(f"connectors.{kind}.setup").check_setup
    connector = make_connector(run_config.erp)
    try:
        checks = check_setup(connector)
    finally:
        connector.close()
    for check in checks:
        mark = "ok  " if check.ok else "[red]FAIL[/red]"
        out.print(f"{mark} {escape(check.name)}: {escape(check.detail)}", soft_wrap=True, highlight=False)
    failed = [c.name for c in checks if not c.ok]
    if failed:
        title = {"erpnext": "ERPNext", "odoo": "Odoo"}[kind]
        err.print(f"{title} set-up: {len(failed)} check(s) failed: {', '.join(failed)}", highlight=False)
        raise typer.Exit(1)


def _store_url(config: Path | None) -> str:
    """The config's state store, else $CREDITCTL_STATE_URL, else the default data folder's: the same
    store from whatever folder a command starts."""
    from etl.config import load_config, state_url

    return load_config(config).state_url() if config else state_url()


def _store(config: Path | None):  # noqa: ANN202 - etl.store.StateStore, imported lazily
    from etl.config import new_sqlite_store
    from etl.store import StateStore

    url = _store_url(config)
    if new_sqlite_store(url) is not None:
        _new_stores.add(url)
    return StateStore(url)


#: stores this command created; announced with the command's result, so an error stays one line
_new_stores: set[str] = set()


def _shown(url: str) -> str:
    from etl.config import display_url

    return display_url(url)


def _announce_new_store(url: str) -> None:
    err.print(f"new state store created at {_shown(url)} (empty: no runs, audit or overrides yet)",
              style="bold yellow", highlight=False, markup=False, soft_wrap=True)


def _print_store(url: str) -> None:
    if url in _new_stores:
        _announce_new_store(url)
    out.print(f"state store: {_shown(url)}", soft_wrap=True, highlight=False, markup=False)


def _rules_folder() -> Path:
    """rules/ of the current folder when it has one, else the project's (commands work from anywhere)."""
    from etl.config import project_root

    root = project_root()
    return Path("rules") if Path("rules").is_dir() or root is None else root / "rules"


@store_app.command("upgrade")
def store_upgrade(config: ConfigOption = None) -> None:
    """Bring the state store's schema to this version of creditctl (back it up first)."""
    from sqlalchemy import create_engine

    from etl.store import ensure_folder, revisions

    url = _store_url(config)
    ensure_folder(url)
    engine = create_engine(url)
    try:
        before, head = revisions(engine)
    finally:
        engine.dispose()
    _store(config).dispose()  # opening a store upgrades it in place
    shown = _shown(url)
    if before == head:
        out.print(f"state store {shown} already at revision {head}", soft_wrap=True, highlight=False, markup=False)
    else:
        out.print(f"state store {shown} upgraded from revision {before or '(empty)'} to {head}", soft_wrap=True,
                  highlight=False, markup=False)


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@app.command()
def audit(
    config: ConfigOption = None,
    customer: Annotated[str | None, typer.Option("--customer", metavar="ID", help="Only this customer id.")] = None,
    run_id: Annotated[str | None, typer.Option("--run", metavar="RUN_ID", help="Only this run id.")] = None,
    company: Annotated[str | None, typer.Option("--company", metavar="COMPANY", help="Only this company.")] = None,
) -> None:
    """What this tool changed in the ERP (and every override change): when, why, by which rules."""
    from etl.config import data_dir, load_config
    from etl.names import names_from_run_folders

    store = _store(config)
    try:
        rows = store.audit(companies=[company] if company else None, customer_id=customer, run_id=run_id)
        # the store keeps ids; the names are in the run folders: the listed runs' (newest first), then for
        # the rest (an override's customer, a run folder cleaned up) the latest run that decided the company
        runs_root = data_dir(load_config(config) if config else None) / "runs"
        wanted = set(zip(rows["company"], rows["customer_id"], strict=True))
        names = names_from_run_folders((runs_root / r for r in dict.fromkeys(reversed(rows["run_id"].tolist()))),
                                       wanted)
        unnamed = sorted({c for c, _ in wanted - names.keys()})
        if unnamed:
            latest = (store.known_customers(c)[0] for c in unnamed)
            for key, name in names_from_run_folders((runs_root / r for r in latest if r), wanted).items():
                names.setdefault(key, name)
    finally:
        store.dispose()
    # one line per row, unwrapped: readable in a narrow terminal and greppable
    for r in rows.itertuples():
        change = f"{r.change} (recovered)" if bool(r.recovered) else r.change
        name = names.get((r.company, r.customer_id))
        named = f" ({name})" if name else ""
        order = f" order {r.order_id}" if r.order_id else ""
        ruleset = f"  ruleset {r.ruleset_sha256[:12]}" if r.ruleset_sha256 else ""
        out.print(f"{str(r.applied_at)[:19]}  run {r.run_id}  {r.company}/{r.customer_id}{named}{order}  {change}: "
                  f"{r.before or '-'} -> {r.after or '-'}  rules {r.rule_ids or '-'}  why: {r.reason}{ruleset}",
                  soft_wrap=True, highlight=False, markup=False)
    out.print(f"{len(rows)} audit row(s)")
    _print_store(store.url)


@override_app.command("add")
def override_add(
    company: Annotated[str, typer.Option("--company", metavar="COMPANY", help="ERP company of the customer.")],
    customer: Annotated[str, typer.Option("--customer", metavar="ID", help="Customer id.")],
    kind: Annotated[str, typer.Option("--kind", metavar="[exempt|force_block]",
                                      help="exempt (no restriction from rules) or force_block.")],
    until: Annotated[str, typer.Option("--until", metavar="DATE", help=(
        "Last day the override is valid, YYYY-MM-DD (inclusive): from today to at most "
        "5 years ahead."))],  # etl.overrides.MAX_YEARS_AHEAD (not imported: the CLI starts fast)
    reason: Annotated[str, typer.Option("--reason", metavar="TEXT", help="Why (kept in the audit trail).")],
    config: Annotated[Path | None, typer.Option("--config", metavar="PATH", help=(
        "Run config: its state store, and its ERP to check the company and customer against "
        "(without it they are checked against the store's last run)."))] = None,
    by: Annotated[str | None, typer.Option("--by", metavar="NAME", help="Who (default: the login name).")] = None,
) -> None:
    """Exempt a customer from the rules, or force a block, until a date."""
    from etl.overrides import expiry_problem
    from etl.store import OVERRIDE_KINDS, OverrideConflict

    if kind not in OVERRIDE_KINDS:
        raise Usage(f"--kind {kind!r}: use {' or '.join(OVERRIDE_KINDS)}")
    expires = _as_of(until, "--until")
    problem = expiry_problem(expires, dt.date.today())
    if problem:
        raise Usage(f"--until {until!r}: {problem}")
    if not reason.strip():
        raise Usage("--reason: say why (it is kept in the audit trail)")
    store = _store(config)
    try:
        _check_override_target(company, customer, config, store)
        override_id = store.add_override(company, customer, kind, expires, reason, by or _user())
    except OverrideConflict as exc:
        raise Usage(str(exc)) from None
    finally:
        store.dispose()
    out.print(f"override #{override_id}: {kind} for {company}/{customer} until {expires} (audited)", highlight=False)
    _print_store(store.url)


def _check_override_target(company: str, customer: str, config: Path | None, store) -> None:  # noqa: ANN001
    """Refuse an override that would silently do nothing: an unknown company or customer id.

    With ``config`` both are checked against the ERP (erp.companies, then the company's customers
    as the connector reads them); without it against the state store's last run of the company,
    and what the store does not know is refused with the hint to pass --config.
    """
    from etl.overrides import did_you_mean

    def hint(value: str, known: list[str], cutoff: float = 0.6) -> str:
        guess = did_you_mean(value, known, cutoff)
        return f"; did you mean {guess!r}?" if guess else ""

    if config is not None:
        from connectors import make_connector
        from etl.config import load_config

        run_config = load_config(config)
        companies = list(run_config.erp.companies)
        if company not in companies:
            raise Usage(f"--company {company!r}: not one of erp.companies in {config} ({', '.join(companies)})"
                        f"{hint(company, companies)}")
        with err.status(f"checking {customer} in the ERP"):
            connector = make_connector(run_config.erp)
            try:
                known = connector.read_customers([company])["customer_id"].astype(str).tolist()
            finally:
                getattr(connector, "close", lambda: None)()
        if customer not in known:
            raise Usage(f"--customer {customer!r}: no such customer of {company} in the ERP of {config}"
                        f"{hint(customer, known, 0.8)}")
        return
    companies = store.known_companies()
    if company not in companies:
        listed = f" (known: {', '.join(companies)})" if companies else ""
        raise Usage(f"--company {company!r}: no run in the state store {store.url} covers it{listed}"
                    f"{hint(company, companies)} (pass --config to check it against the ERP)")
    run_id, known = store.known_customers(company)
    if run_id is None:
        raise Usage(f"--company {company!r}: no run in the state store {store.url} decided it yet "
                    "(pass --config to check the customer against the ERP)")
    if customer not in known:
        raise Usage(f"--customer {customer!r}: not a customer of {company} in the state store's last run "
                    f"{run_id}{hint(customer, known, 0.8)} (pass --config to check it against the ERP)")


@override_app.command("list")
def override_list(
    config: ConfigOption = None,
    all_: Annotated[bool, typer.Option("--all", help="Also removed and expired overrides.")] = False,
) -> None:
    """Overrides valid today (with --all: every override ever made)."""
    store = _store(config)
    try:
        rows = store.overrides() if all_ else store.overrides(active_on=dt.date.today())
    finally:
        store.dispose()
    from etl.overrides import superseded

    # a store written before contradictions were refused may hold several: show which one applies
    losers = superseded(rows, dt.date.today())
    for r in rows.itertuples():
        removed = "" if r.removed_at is None or _isna(r.removed_at) else \
            f"  REMOVED {str(r.removed_at)[:19]} by {r.removed_by}: {r.remove_reason}"
        if r.id in losers:
            removed += f"  SUPERSEDED by #{losers[r.id]} (the newest valid override of a customer applies)"
        out.print(f"#{r.id}  {r.company}/{r.customer_id}  {r.kind} until {r.expires_on}  why: {r.reason}  "
                  f"by {r.created_by} at {str(r.created_at)[:19]}{removed}", soft_wrap=True, highlight=False,
                  markup=False)
    out.print(f"{len(rows)} override(s)")
    _print_store(store.url)


@override_app.command("remove")
def override_remove(
    override_id: Annotated[int, typer.Argument(metavar="ID", help="Override id (see `creditctl override list`).")],
    reason: Annotated[str, typer.Option("--reason", metavar="TEXT", help="Why (kept in the audit trail).")],
    config: ConfigOption = None,
    by: Annotated[str | None, typer.Option("--by", metavar="NAME", help="Who (default: the login name).")] = None,
) -> None:
    """End an override now."""
    if not reason.strip():
        raise Usage("--reason: say why (it is kept in the audit trail)")
    store = _store(config)
    try:
        row = store.remove_override(override_id, reason, by or _user())
    except KeyError as exc:
        raise Usage(str(exc).strip("'\"")) from None
    except ValueError as exc:
        raise Usage(str(exc)) from None
    finally:
        store.dispose()
    out.print(f"override #{override_id} ({row['kind']} for {row['company']}/{row['customer_id']}) removed (audited)",
              highlight=False)
    _print_store(store.url)


@app.command()
def unlock(
    config: Annotated[Path, typer.Option("--config", metavar="PATH", help="Run config whose ERP companies to unlock.")],
) -> None:
    """Clear the writeback lock of a crashed run (only when no creditctl run is active on this ERP)."""
    from assets.resources import lock_names
    from etl.config import load_config

    store = _store(config)
    try:
        cleared = store.break_lock(lock_names(load_config(config)))
    finally:
        store.dispose()
    for lock in cleared:
        out.print(f"cleared {lock['name']} (run {lock['run_id']}, since {str(lock['acquired_at'])[:19]} UTC)",
                  highlight=False)
    out.print(f"{len(cleared)} lock(s) cleared")


def _isna(value: object) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


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
    mode = run_row.get("mode", "?")
    plan_path = folder / "plan.csv"
    planned = _plan_counts(plan_path)
    changes = Table("change", "planned", "written", title="Changes to the ERP")
    counts = audit_rows["change"].value_counts()
    for change in CHANGES:
        changes.add_row(change, str(planned.get(change, 0)), str(int(counts.get(change, 0))))
    out.print(changes)
    lines = [
        f"run id: {run_id}",
        f"mode: {mode}, customers: {len(decisions)}, changes planned: {sum(planned.values())}, "
        f"changes written: {len(audit_rows)}",
        f"decisions: {folder / 'decisions.csv'}",
        f"plan: {folder / 'plan.csv'}",
        f"quarantine: {folder / 'quarantine.csv'}",
        f"report: {folder / 'report.html'}",
        f"state store: {_shown(store_url)}",
    ]
    if mode != "apply":
        lines.insert(2, f"{mode}: nothing was written to the ERP; review the plan in {plan_path}")
        if run_row.get("message"):  # e.g. beyond the blast-radius guard: an apply would need --approve
            lines.insert(3, f"[bold yellow]{mode}: {escape(str(run_row['message']))}[/]")
    for line in lines:  # paths unwrapped, so they can be copied
        out.print(line, soft_wrap=True, highlight=False)


def _plan_counts(path: Path) -> dict[str, int]:
    import pandas as pd

    if not path.is_file():
        return {}
    plan = pd.read_csv(path, dtype=str, keep_default_na=False)
    return {str(k): int(v) for k, v in plan["change"].value_counts().items()} if "change" in plan else {}


def main() -> None:
    """Console-script entry: map known errors to one line and an exit code."""
    from etl.config import ConfigError
    from etl.ports import ConnectorError
    from etl.rules import RuleLintError
    from validation.quarantine import ContractError

    _state["debug"] = False  # set by any --debug while the command line is parsed
    _new_stores.clear()
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
