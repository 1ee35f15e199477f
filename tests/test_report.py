"""`creditctl report`: one self-contained HTML file a credit manager can read in a mail client: it opens
with whom to call first, names every customer, keeps money per company currency and says changes in words."""

from __future__ import annotations

import base64
import datetime as dt
import html as html_lib
import re
from pathlib import Path

import pandas as pd

from etl.report import (
    RunReportData,
    aging_chart,
    change_words,
    load_report_data,
    render_report,
    top_exposure_chart,
)
from etl.store import StateStore
from tests.cli_helpers import run_cli
from tests.conftest import ROOT


def test_report_of_a_demo_run(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    first = run_cli(capsys, monkeypatch, "demo", "--customers", "300", "--as-of", "2026-11-28")
    assert first.code == 0, first.err
    later = run_cli(capsys, monkeypatch, "demo", "--customers", "300", "--as-of", "2027-01-20")
    assert later.code == 0, later.err
    run_id = re.search(r"run id: ([0-9a-f-]{36})", later.out).group(1)
    config = re.search(r"demo config: (\S+)", later.err).group(1)

    out = tmp_path / "report.html"
    result = run_cli(capsys, monkeypatch, "report", "--run", run_id, "--out", str(out), "--config", config)
    assert result.code == 0, result.err
    html = out.read_text()
    assert run_id in html and "mode <b>apply</b>" in html
    summary = html[html.index('<table id="summary">'):]
    summary = summary[:summary.index("</table>")]
    assert summary.count("<tr>") > 3 and "Demo GmbH" in summary and "Demo Inc" in summary
    # both charts are real PNGs embedded in the page (no file or network needed)
    for chart in ("aging-chart", "top-exposure-chart"):
        src = re.search(rf'id="{chart}"[^>]*src="data:image/png;base64,([^"]+)"', html).group(1)
        assert base64.b64decode(src)[:8] == b"\x89PNG\r\n\x1a\n"
    # seven weeks later some decisions differ from the first run
    assert '<table id="changes">' in html
    assert 'id="decisions"' in html and 'id="quarantine-summary"' in html


def test_report_of_an_unknown_run_is_a_usage_error(tmp_path, capsys, monkeypatch) -> None:
    result = run_cli(capsys, monkeypatch, "report", "--run", "nope", "--out", str(tmp_path / "r.html"))
    assert result.code == 2 and "--run nope: no such run" in result.err


# --- the report's content, from frames (no demo run) --------------------------------------------
#: (company, id, name, currency, exposure, overdue, over limit (None: no limit), action, reasons)
CUSTOMERS = [
    ("DE01", "D1", "Alpha GmbH", "EUR", 9000.0, 4000.0, 1000.0, "block", "Invoices more than 90 days overdue"),
    ("DE01", "D2", "Beta KG", "EUR", 5300.0, 0.0, 300.0, "hold", "Exposure more than 10% above the credit limit"),
    ("DE01", "D3", "Gamma AG", "EUR", 8000.0, 0.0, 0.0, "reduce_limit", "Pays late"),
    ("DE01", "D4", "Delta SE", "EUR", 2_000_000.0, 0.0, 0.0, "none", ""),
    ("US01", "U1", "Acme Inc", "USD", 7000.0, 7000.0, None, "require_prepayment", "New customer without history"),
    ("US01", "U2", "Zeta LLC", "USD", 1_500_000.0, 0.0, 0.0, "none", ""),
]
PLAN = [  # company, customer, change, order, before, after
    ("DE01", "D1", "block", "", "false", "true"), ("DE01", "D1", "hold_order", "O-2", "false", "true"),
    ("DE01", "D1", "hold_order", "O-1", "false", "true"), ("DE01", "D2", "hold_order", "O-3", "false", "true"),
    ("DE01", "D3", "set_limit", "", "10000.00", "7500.00"), ("US01", "U1", "set_prepayment", "", "Net 30", "prepayment"),
]


def _positions() -> pd.DataFrame:
    rows = []
    for company, cid, name, currency, exposure, overdue, over, _, _ in CUSTOMERS:
        rows.append({"company": company, "customer_id": cid, "exposure": exposure, "overdue_amount": overdue,
                     "over_limit_amount": over, "not_due": exposure - overdue, "overdue_1_30": 0.0,
                     "overdue_31_60": 0.0, "overdue_61_90": 0.0, "overdue_91_plus": overdue,
                     "data_incomplete": False, "name": name, "company_currency": currency})
    return pd.DataFrame(rows)


def _decisions(run_id: str = "run-c", actions: dict[str, str] | None = None) -> pd.DataFrame:
    rows = []
    for company, cid, _, _, _, _, _, action, reasons in CUSTOMERS:
        action = (actions or {}).get(cid, action)
        rules = {"none": ""}.get(action, f"{action}-rule")
        rows.append({"run_id": run_id, "company": company, "customer_id": cid, "action": action,
                     "block": action == "block", "hold": action in ("block", "hold"),
                     "require_prepayment": action == "require_prepayment", "credit_limit": 10000.0,
                     "new_credit_limit": 7500.0 if action == "reduce_limit" else 10000.0, "rule_ids": rules,
                     "reasons": reasons if rules else "", "risk_grade": "B", "data_incomplete": False,
                     "ruleset_sha256": "abc"})
    return pd.DataFrame(rows)


def _plan() -> pd.DataFrame:
    names = {c[1]: c[2] for c in CUSTOMERS}
    return pd.DataFrame([{"company": c, "customer_id": k, "change": ch, "order_id": o, "before": b, "after": a,
                          "rule_ids": "r", "reason": "because", "name": names[k]} for c, k, ch, o, b, a in PLAN])


def _run(run_id: str = "run-c", mode: str = "apply", status: str = "succeeded", message: str | None = None) -> dict:
    return {"run_id": run_id, "mode": mode, "status": status, "as_of": dt.date(2027, 1, 20),
            "companies": "DE01,US01", "message": message}


def _data(**changes) -> RunReportData:  # noqa: ANN003
    base = {"run": _run(), "decisions": _decisions(), "positions": _positions(), "previous": None,
            "audit": pd.DataFrame(), "plan": _plan(), "quarantine": pd.DataFrame()}
    return RunReportData(**{**base, **changes})


def _table(page: str, table_id: str) -> list[list[str]]:
    """The rows of the page's table ``table_id`` (header first), each cell's text."""
    found = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S)
    assert found, f"the report has no table {table_id!r}"
    rows = re.findall(r"<tr>(.*?)</tr>", found.group(1), re.S)
    return [[html_lib.unescape(re.sub(r"<[^>]+>", "", c)).strip()
             for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r, re.S)] for r in rows]


def test_the_report_opens_with_whom_to_call_first_by_exposure_at_risk() -> None:
    page = render_report(_data())
    assert page.index('id="worklist"') < page.index('id="summary"')  # the first thing after the run line
    header, *rows = _table(page, "worklist")
    by = {h: i for i, h in enumerate(header)}
    # at risk = overdue + over limit: Acme 7,000 USD, Alpha 4,000 + 1,000 EUR, Beta 300 EUR; Gamma's cut is no call
    assert [r[by["customer"]] for r in rows] == ["Acme Inc (U1)", "Alpha GmbH (D1)", "Beta KG (D2)"]
    alpha = rows[1]
    assert alpha[by["this run"]] == "blocked, orders held"
    assert alpha[by["why"]] == "Invoices more than 90 days overdue"
    assert (alpha[by["overdue"]], alpha[by["exposure"]], alpha[by["at risk"]]) == (
        "4,000.00 EUR", "9,000.00 EUR", "5,000.00 EUR")
    assert alpha[by["held orders"]] == "O-1, O-2"
    assert (rows[0][by["this run"]], rows[0][by["overdue"]], rows[0][by["at risk"]]) == (
        "put on prepayment", "7,000.00 USD", "7,000.00 USD")


def test_figures_are_per_company_currency_never_added_up() -> None:
    page = render_report(_data())
    _, *summary = _table(page, "summary")
    currency = {"DE01": "EUR", "US01": "USD"}
    assert summary and all(r[3].endswith(" " + currency[r[0]]) for r in summary), summary
    _, *totals = _table(page, "currency-totals")
    assert totals == [["EUR", "DE01", "4", "2,022,300.00 EUR", "4,000.00 EUR", "5,300.00 EUR"],
                      ["USD", "US01", "2", "1,507,000.00 USD", "7,000.00 USD", "7,000.00 USD"]]
    assert "3,529,300.00" not in page  # EUR + USD exposure added up
    # the top-exposure chart draws one panel per currency
    chart = top_exposure_chart(_positions(), _decisions())
    assert "per company currency (EUR, USD)" in chart.alt


def test_charts_have_a_colour_legend_and_plain_amounts() -> None:
    top = top_exposure_chart(_positions(), _decisions())
    assert top.legend == ("block", "hold orders", "prepayment", "limit cut", "no action")
    assert "block = red" in top.alt and "no action = grey" in top.alt
    aging = aging_chart(_positions())
    assert aging.legend == ("DE01 (EUR)", "US01 (USD)")
    assert aging.offset == "" and "2,000,000" in aging.value_ticks  # not "2.0" with a "1e6" above the axis
    assert all(re.fullmatch(r"-?\d{1,3}(,\d{3})*", t) for t in aging.value_ticks), aging.value_ticks
    page = render_report(_data())
    caption = re.search(r'<figcaption id="top-exposure-legend">(.*?)</figcaption>', page, re.S).group(1)
    assert re.findall(r'<span class="legend-entry">([^<]+)</span>', caption) == list(top.legend)


def _store_with_runs(tmp_path: Path, runs: list[tuple[str, str, dt.date, dict[str, str]]]) -> StateStore:
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    for run_id, mode, as_of, actions in runs:
        store.start_run(run_id, mode, as_of, ["DE01", "US01"])
        store.save_decisions(run_id, _decisions(run_id, actions).drop(columns="run_id"))
        store.finish_run(run_id, "succeeded", customers=len(CUSTOMERS))
        folder = tmp_path / "runs" / run_id  # as credit_positions leaves it
        folder.mkdir(parents=True)
        _positions().to_csv(folder / "positions.csv", index=False)
    return store


def test_what_changed_compares_with_the_last_applied_run_in_words(tmp_path: Path) -> None:
    # applied on the 19th: Beta not held yet; a dry-run of another date holds Gamma (never written);
    # tonight Beta is held and Gamma is not
    store = _store_with_runs(tmp_path, [
        ("run-a", "apply", dt.date(2027, 1, 19), {"D2": "none", "D3": "none"}),
        ("run-b", "dry-run", dt.date(2027, 1, 25), {"D3": "hold"}),
        ("run-c", "apply", dt.date(2027, 1, 20), {"D3": "none"}),
    ])
    try:
        data = load_report_data(store, "run-c", tmp_path / "runs" / "run-c")
    finally:
        store.dispose()
    page = render_report(data)
    compared = re.search(r'<p id="compared">(.*?)</p>', page, re.S).group(1)
    assert "run-a" in compared and "2027-01-19" in compared and "run-b" not in compared
    header, *rows = _table(page, "changes")
    by = {h: i for i, h in enumerate(header)}
    assert [(r[by["customer"]], r[by["what changed"]], r[by["before"]], r[by["now"]]) for r in rows] == [
        ("Beta KG (D2)", "orders held", "no action", "hold orders")]
    assert rows[0][by["why now"]] == "Exposure more than 10% above the credit limit"
    assert rows[0][by["exposure"]] == "5,300.00 EUR"
    for code in ("newly_held", "released_hold", "rules_changed", "hold lifted", "nan"):
        assert code not in _between(page, "What changed", "</table>")


def _between(page: str, start: str, end: str) -> str:
    part = page[page.index(start):]
    return part[:part.index(end) + len(end)] if end in part else part


def test_a_dry_run_report_shows_the_planned_changes() -> None:
    page = render_report(_data(run=_run(mode="dry-run")))
    assert "nothing was written to the ERP" in re.search(r'<p id="dry-run"[^>]*>(.*?)</p>', page, re.S).group(1)
    header, *rows = _table(page, "plan")
    changes = {(r[0], r[2]) for r in rows}
    assert ("Alpha GmbH (D1)", "block the customer") in changes
    assert ("Alpha GmbH (D1)", "hold order O-1") in changes
    assert ("Gamma AG (D3)", "credit limit 10,000.00 EUR → 7,500.00 EUR") in changes
    assert ("Acme Inc (U1)", "put on prepayment (terms were Net 30)") in changes
    _, *work = _table(page, "worklist")
    assert work[1][3] == "block, hold orders"  # planned, not "blocked"


def test_a_failed_run_report_says_why_and_lists_no_change_with_nan(tmp_path: Path) -> None:
    store = _store_with_runs(tmp_path, [("run-a", "apply", dt.date(2027, 1, 19), {})])
    why = "3.20% of open_items rows were quarantined, above guards.max_quarantine_percent 1"
    try:
        store.start_run("run-f", "apply", dt.date(2027, 1, 20), ["DE01", "US01"])
        store.finish_run("run-f", "failed", message=why)
        data = load_report_data(store, "run-f", tmp_path / "runs" / "run-f")
    finally:
        store.dispose()
    page = render_report(data)
    failure = html_lib.unescape(re.search(r'<p id="failure"[^>]*>(.*?)</p>', page, re.S).group(1))
    assert why in failure and "Nothing was written to the ERP" in failure
    assert 'id="changes"' not in page and "nan" not in page
    assert "This run decided nothing" in page


def test_run_files_audit_and_simulate_name_the_customers(tmp_path, capsys, monkeypatch) -> None:
    from connectors.demo import DemoConnector
    from etl.config import load_config
    from etl.decisions import DECISION_COLUMNS
    from etl.plan import PLAN_COLUMNS

    monkeypatch.chdir(ROOT)
    run = run_cli(capsys, monkeypatch, "demo", "--customers", "200", "--as-of", "2026-11-28")
    assert run.code == 0, run.err
    run_id = re.search(r"run id: ([0-9a-f-]{36})", run.out).group(1)
    config_path = re.search(r"demo config: (\S+)", run.err).group(1)
    config = load_config(config_path)
    connector = DemoConnector(Path(config.erp.options["path"]), config.erp.options)
    erp = connector.read_customers(config.erp.companies)
    erp_names = dict(zip(zip(erp["company"], erp["customer_id"], strict=True), erp["name"], strict=True))

    def named(frame: pd.DataFrame) -> None:
        keys = list(zip(frame["company"], frame["customer_id"], strict=True))
        assert frame["name"].tolist() == [erp_names[k] for k in keys]

    # the run folder's files: `name` added, every other column where it was
    decisions = pd.read_csv(re.search(r"decisions: (\S+)", run.out).group(1), dtype=str, keep_default_na=False)
    assert list(decisions.columns) == [*[c for c in DECISION_COLUMNS if c != "run_id"], "name", "run_id"]
    named(decisions)
    plan = pd.read_csv(re.search(r"plan: (\S+)", run.out).group(1), dtype=str, keep_default_na=False)
    assert list(plan.columns) == [*PLAN_COLUMNS, "name"] and len(plan) > 0
    named(plan)

    # the audit listing names whom each change is about
    audit = run_cli(capsys, monkeypatch, "audit", "--config", config_path, "--run", run_id)
    assert audit.code == 0, audit.err
    blocked = plan[plan["change"] == "block"].iloc[0]
    line = next(x for x in audit.out.splitlines() if f"{blocked['company']}/{blocked['customer_id']} " in x
                and "block:" in x)
    assert f"{blocked['company']}/{blocked['customer_id']} ({erp_names[(blocked['company'], blocked['customer_id'])]})" in line

    # simulate: names in its CSV, totals per company currency
    stricter = tmp_path / "stricter.yaml"
    stricter.write_text((ROOT / "rules" / "credit_control.yaml").read_text().replace(
        "when: exposure > credit_limit * 1.1", "when: exposure > credit_limit * 0.8"))
    out = tmp_path / "simulation.csv"
    simulated = run_cli(capsys, monkeypatch, "simulate", "--config", config_path, "--rules", str(stricter),
                        "--as-of", "2026-11-28", "--out", str(out))
    assert simulated.code == 0, simulated.err
    diff = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(diff) > 0
    named(diff)
    currency = {"Demo GmbH": "EUR", "Demo Inc": "USD"}
    assert (diff["company_currency"] == diff["company"].map(currency)).all()
    rows = [re.split(r"\s*│\s*", x.strip("│ ")) for x in simulated.out.splitlines() if x.count("│") >= 4]
    held = {r[1]: r[2] for r in rows if r[0] == "newly_held"}  # currency -> customers
    for code, n in diff[diff["changes"].str.contains("newly_held")].groupby("company_currency").size().items():
        assert held.get(code) == str(n), simulated.out


def test_every_change_kind_in_words_as_change_words_says_it() -> None:
    """The plan and audit tables say each change (built a column at a time) in the words of change_words."""
    cases = [  # change, order, before, after, the words (in the customer's currency, EUR)
        ("block", "", "false", "true", "block the customer"),
        ("unblock", "", "true", "false", "lift the block"),
        ("hold_order", "O-7", "false", "true", "hold order O-7"),
        ("release_order", "O-8", "true", "false", "release order O-8"),
        ("set_prepayment", "", "Net 30", "prepayment", "put on prepayment (terms were Net 30)"),
        ("set_prepayment", "", None, "prepayment", "put on prepayment"),
        ("unset_prepayment", "", "prepayment", "Net 14", "end prepayment, terms back to Net 14"),
        ("unset_prepayment", "", "prepayment", "", "end prepayment"),
        ("set_limit", "", "1234567.891", "7500", "credit limit 1,234,567.89 EUR → 7,500.00 EUR"),
        ("set_limit", "", None, "2500.5", "credit limit none → 2,500.50 EUR"),
        ("set_limit", "", "n/a", "-10", "credit limit none → -10.00 EUR"),
        ("some_new_change", "", "", "", "some new change"),
    ]
    plan = pd.DataFrame([{"company": "DE01", "customer_id": "D3", "change": c, "order_id": o, "before": b, "after": a,
                          "rule_ids": "r", "reason": "because", "name": "Gamma AG"} for c, o, b, a, _ in cases])
    for mode, table in (("dry-run", "plan"), ("apply", "audit")):
        page = render_report(_data(run=_run(mode=mode), plan=plan, audit=plan.drop(columns="name")))
        _, *rows = _table(page, table)
        assert [r[2] for r in rows] == [words for *_, words in cases], table
        assert [r[2] for r in rows] == [change_words(c, o, b, a, "EUR") for c, o, b, a, _ in cases], table
        assert all(r[0] == "Gamma AG (D3)" for r in rows)
    # a customer the run did not decide: the plan's own name, amounts without a currency
    other = plan.assign(customer_id="X9", name="Omega Ltd")
    _, *rows = _table(render_report(_data(run=_run(mode="dry-run"), plan=other)), "plan")
    assert [r[2] for r in rows] == [change_words(c, o, b, a) for c, o, b, a, _ in cases]
    assert rows[8][2] == "credit limit 1,234,567.89 → 7,500.00" and all(r[0] == "Omega Ltd (X9)" for r in rows)


def test_what_changed_says_every_difference_in_words() -> None:
    """Each kind of difference from the compared run, in words (said a column at a time)."""
    previous = _decisions("run-a", {"D1": "none", "D2": "block", "D3": "none", "U1": "hold"})
    previous.loc[previous["customer_id"] == "D3", "new_credit_limit"] = 9000.0  # cut again tonight: to 7,500
    previous = previous[previous["customer_id"] != "U2"]  # new since that run, nothing to do: not listed
    previous = pd.concat([previous, previous.iloc[[0]].assign(customer_id="D9")])  # no longer decided
    page = render_report(_data(previous=previous, previous_run={"run_id": "run-a", "as_of": dt.date(2027, 1, 19),
                                                                "mode": "apply", "companies": "DE01,US01"}))
    header, *rows = _table(page, "changes")
    by = {h: i for i, h in enumerate(header)}
    said = {r[by["customer"]]: (r[by["what changed"]], r[by["before"]], r[by["now"]]) for r in rows}
    assert said == {
        "Alpha GmbH (D1)": ("blocked; orders held", "no action", "block"),
        "Beta KG (D2)": ("block lifted", "block", "hold orders"),
        "Gamma AG (D3)": ("credit limit cut to 7,500.00 EUR (was 9,000.00 EUR)", "no action", "limit cut"),
        "Acme Inc (U1)": ("order hold lifted; put on prepayment", "hold orders", "prepayment"),
        "D9": ("not decided by this run (no longer in the extract)", "no action", "—"),
    }
    assert rows[[r[by["customer"]] for r in rows].index("Alpha GmbH (D1)")][by["exposure"]] == "9,000.00 EUR"
