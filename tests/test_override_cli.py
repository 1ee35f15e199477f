"""`creditctl override add` refuses, in one line (exit 2), an override that would be wrong or silently
do nothing: an implausible --until, an unknown company or customer (checked against the ERP with
--config, else against the state store's last run), a contradiction of a valid override. And every
date option's error names the option the user typed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
import typer

from creditctl.cli import app
from etl.overrides import (
    MAX_YEARS_AHEAD,
    active_overrides,
    did_you_mean,
    expiry_problem,
    latest_expiry,
)
from etl.store import OverrideConflict, StateStore
from etl.store import overrides as overrides_table
from tests.cli_helpers import CliResult, run_cli
from tests.conftest import ROOT
from tests.writeback_helpers import AS_OF, DEMO_STATE_ENV, Demo, make_demo

TODAY = dt.date.today()


@pytest.fixture
def demo(monkeypatch: pytest.MonkeyPatch) -> Demo:
    monkeypatch.chdir(ROOT)
    return make_demo(20)


def _gmbh_customer(demo: Demo) -> str:
    customers, _ = demo.state()
    return str(customers[customers["company"] == "Demo GmbH"]["customer_id"].iloc[0])


def _add(capsys, monkeypatch, *, company: str, customer: str, kind: str = "exempt",  # noqa: ANN001
         until: str | None = None, config: Path | None = None) -> CliResult:
    args = ["override", "add", "--company", company, "--customer", customer, "--kind", kind,
            "--until", until or (TODAY + dt.timedelta(days=30)).isoformat(), "--reason", "credit manager's call"]
    return run_cli(capsys, monkeypatch, *args, *(["--config", str(config)] if config else []))


def _refused(result: CliResult, *parts: str) -> None:
    assert result.code == 2, result
    assert result.err.count("\n") == 1 and result.err.startswith("error: "), result.err
    for part in parts:
        assert part in result.err, result.err


def _stored(demo: Demo) -> int:
    store = demo.store()
    try:
        return len(store.overrides())
    finally:
        store.dispose()


# --- --until ------------------------------------------------------------------------------------
def test_until_must_be_from_today_to_at_most_five_years_ahead(demo: Demo, capsys, monkeypatch) -> None:
    customer = _gmbh_customer(demo)
    add = lambda until: _add(capsys, monkeypatch, company="Demo GmbH", customer=customer, until=until,  # noqa: E731
                             config=demo.config_path)
    _refused(add("9999-12-31"), "--until '9999-12-31'", f"more than {MAX_YEARS_AHEAD} years ahead")
    _refused(add((latest_expiry(TODAY) + dt.timedelta(days=1)).isoformat()), "--until", "years ahead")
    _refused(add((TODAY - dt.timedelta(days=1)).isoformat()), "--until", "in the past")
    assert _stored(demo) == 0
    assert add(TODAY.isoformat()).code == 0  # valid through today
    last = add(latest_expiry(TODAY).isoformat())
    assert last.code == 0, last.err
    assert f"until {latest_expiry(TODAY)}" in last.out and _stored(demo) == 2


def test_the_bound_is_five_years_and_the_help_says_so() -> None:
    assert latest_expiry(dt.date(2026, 12, 6)) == dt.date(2031, 12, 6)
    assert latest_expiry(dt.date(2028, 2, 29)) == dt.date(2033, 2, 28)
    assert expiry_problem(dt.date(2031, 12, 6), dt.date(2026, 12, 6)) is None
    assert "past" in expiry_problem(dt.date(2026, 12, 5), dt.date(2026, 12, 6))
    add = typer.main.get_command(app).commands["override"].commands["add"]
    until = next(p for p in add.params if p.name == "until")
    assert f"at most {MAX_YEARS_AHEAD} years ahead" in until.help


# --- company and customer -----------------------------------------------------------------------
def test_with_config_an_unknown_company_or_customer_is_refused_with_a_did_you_mean(
        demo: Demo, capsys, monkeypatch) -> None:
    customer = _gmbh_customer(demo)
    config = demo.config_path
    _refused(_add(capsys, monkeypatch, company="Demo GmbX", customer=customer, config=config),
             "--company 'Demo GmbX'", "erp.companies", "did you mean 'Demo GmbH'?")
    _refused(_add(capsys, monkeypatch, company="demo gmbh", customer=customer, config=config),
             "did you mean 'Demo GmbH'?")
    _refused(_add(capsys, monkeypatch, company="Demo GmbH", customer=customer.lower(), config=config),
             f"--customer {customer.lower()!r}", "no such customer of Demo GmbH", f"did you mean {customer!r}?")
    _refused(_add(capsys, monkeypatch, company="Demo GmbH", customer=customer.replace("-", "_"), config=config),
             f"did you mean {customer!r}?")  # a typo: the closest id
    _refused(_add(capsys, monkeypatch, company="Demo GmbH", customer="NOBODY-AT-ALL", config=config),
             "--customer 'NOBODY-AT-ALL'", "no such customer")
    customers, _ = demo.state()
    inc = customers[customers["company"] == "Demo Inc"]["customer_id"].iloc[0]
    _refused(_add(capsys, monkeypatch, company="Demo GmbH", customer=str(inc), config=config),
             "no such customer of Demo GmbH")  # a customer of the other company
    assert _stored(demo) == 0
    assert _add(capsys, monkeypatch, company="Demo GmbH", customer=customer, config=config).code == 0


def test_without_config_the_state_stores_last_run_is_the_reference(
        demo: Demo, tmp_path: Path, capsys, monkeypatch) -> None:
    url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    monkeypatch.setenv("CREDITCTL_STATE_URL", url)  # `override add` without --config
    monkeypatch.setenv(DEMO_STATE_ENV, url)  # the demo config's store: the same one
    customer = _gmbh_customer(demo)
    _refused(_add(capsys, monkeypatch, company="Demo GmbH", customer=customer),
             "--company 'Demo GmbH'", "no run in the state store", "pass --config")  # nothing to check against
    run = run_cli(capsys, monkeypatch, "run", "--config", str(demo.config_path), "--mode", "dry-run",
                  "--as-of", AS_OF.isoformat())
    assert run.code == 0, run.err
    _refused(_add(capsys, monkeypatch, company="Demo GmbX", customer=customer),
             "did you mean 'Demo GmbH'?", "pass --config")
    _refused(_add(capsys, monkeypatch, company="Demo GmbH", customer=customer.lower()),
             "not a customer of Demo GmbH in the state store's last run", f"did you mean {customer!r}?",
             "pass --config")
    assert _stored(demo) == 0
    added = _add(capsys, monkeypatch, company="Demo GmbH", customer=customer)
    assert added.code == 0, added.err


def test_did_you_mean_prefers_the_same_id_in_another_case() -> None:
    assert did_you_mean("cust-00018", ["CUST-00019", "CUST-00018", "CUST-00081"]) == "CUST-00018"
    assert did_you_mean("Demo GmbX", ["Demo Inc", "Demo GmbH"]) == "Demo GmbH"
    assert did_you_mean("zzz", ["Demo Inc", "Demo GmbH"]) is None


# --- contradictions -----------------------------------------------------------------------------
def test_exempt_and_force_block_cannot_both_be_valid_on_one_customer(demo: Demo, capsys, monkeypatch) -> None:
    customer = _gmbh_customer(demo)
    config = demo.config_path
    first = _add(capsys, monkeypatch, company="Demo GmbH", customer=customer, kind="force_block", config=config)
    assert first.code == 0, first.err
    _refused(_add(capsys, monkeypatch, company="Demo GmbH", customer=customer, kind="exempt", config=config),
             "already has override #1 (force_block until", "override remove 1")
    assert _stored(demo) == 1
    # the same kind again is no contradiction (a longer block, a new reason)
    assert _add(capsys, monkeypatch, company="Demo GmbH", customer=customer, kind="force_block",
                config=config).code == 0
    for oid in ("1", "2"):
        assert run_cli(capsys, monkeypatch, "override", "remove", oid, "--config", str(config),
                       "--reason", "cleared").code == 0
    assert _add(capsys, monkeypatch, company="Demo GmbH", customer=customer, kind="exempt", config=config).code == 0


def test_the_store_refuses_a_contradiction_only_while_the_other_override_is_valid(tmp_path: Path) -> None:
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    try:
        store.add_override("C1", "a", "exempt", dt.date(2026, 12, 31), "payment plan", "alice",
                           today=dt.date(2026, 12, 1))
        with pytest.raises(OverrideConflict, match=r"override #1 \(exempt until 2026-12-31\)"):
            store.add_override("C1", "a", "force_block", dt.date(2027, 1, 31), "fraud", "bob",
                               today=dt.date(2026, 12, 1))
        store.add_override("C1", "b", "force_block", dt.date(2027, 1, 31), "fraud", "bob",
                           today=dt.date(2026, 12, 1))  # another customer
        store.add_override("C1", "a", "force_block", dt.date(2027, 1, 31), "fraud", "bob",
                           today=dt.date(2027, 1, 1))  # the exemption has expired
        assert store.overrides()["kind"].tolist() == ["exempt", "force_block", "force_block"]
    finally:
        store.dispose()


def test_override_list_shows_which_of_two_valid_overrides_applies(demo: Demo, capsys, monkeypatch) -> None:
    """A store written before contradictions were refused may hold both kinds: the newest applies."""
    customer = _gmbh_customer(demo)
    store = demo.store()
    try:
        store.add_override("Demo GmbH", customer, "exempt", TODAY + dt.timedelta(days=60), "plan", "alice")
        with store.engine.begin() as conn:  # as the old version wrote it: no contradiction check
            conn.execute(sa.insert(overrides_table).values(
                company="Demo GmbH", customer_id=customer, kind="force_block", reason="fraud", created_by="bob",
                created_at=dt.datetime.now(dt.UTC), expires_on=TODAY + dt.timedelta(days=30)))
        assert active_overrides(store.overrides(), AS_OF)["kind"].tolist() == ["force_block"]
    finally:
        store.dispose()
    listed = run_cli(capsys, monkeypatch, "override", "list", "--config", str(demo.config_path)).out.splitlines()
    assert listed[0].startswith("#1 ") and listed[0].endswith("SUPERSEDED by #2 (the newest valid override of a "
                                                              "customer applies)")
    assert listed[1].startswith("#2 ") and "SUPERSEDED" not in listed[1]


# --- date options name themselves -----------------------------------------------------------------
def _date_options() -> set[tuple[str, str]]:
    """(command path, option) of every option whose help asks for YYYY-MM-DD, over all commands."""
    found: set[tuple[str, str]] = set()

    def walk(command, path: str) -> None:  # noqa: ANN001 - a click command (typer may vendor click)
        for sub_name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {sub_name}".strip())
        for param in command.params:
            if getattr(param, "param_type_name", "") == "option" and "YYYY-MM-DD" in (param.help or ""):
                found.add((path, param.opts[0]))

    walk(typer.main.get_command(app), "")
    return found


DATE_OPTIONS = {
    ("demo", "--as-of"): [],
    ("evaluate", "--as-of"): ["--data", str(ROOT), "--rules", str(ROOT / "rules" / "credit_control.yaml")],
    ("run", "--as-of"): ["--config", "{config}"],
    ("simulate", "--as-of"): ["--config", "{config}", "--rules", str(ROOT / "rules" / "credit_control.yaml")],
    ("override add", "--until"): ["--config", "{config}", "--company", "Demo GmbH", "--customer", "C",
                                  "--kind", "exempt", "--reason", "x"],
}


def test_every_date_option_is_covered_below() -> None:
    assert _date_options() == set(DATE_OPTIONS)


@pytest.mark.parametrize(("command", "option"), sorted(DATE_OPTIONS))
def test_a_bad_date_names_the_option_typed(command: str, option: str, demo: Demo, capsys, monkeypatch) -> None:
    args = [a.replace("{config}", str(demo.config_path)) for a in DATE_OPTIONS[(command, option)]]
    result = run_cli(capsys, monkeypatch, *command.split(), *args, option, "31.12.2026")
    _refused(result, f"{option} '31.12.2026': not a date, use YYYY-MM-DD")
