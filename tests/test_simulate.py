"""`creditctl simulate`: a stricter copy of the default policy on the demo lists exactly the
customers whose decisions differ — checked against two independent `evaluate` runs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from connectors.demo import DemoConnector
from creditctl.demo import prepare_demo
from etl.config import load_config
from etl.extract import Extract
from etl.pipeline import evaluate
from etl.rules import load_ruleset
from etl.simulate import diff_decisions
from tests.cli_helpers import run_cli
from tests.conftest import ROOT

AS_OF = dt.date(2026, 11, 28)
POLICY = ROOT / "rules" / "credit_control.yaml"


def _stricter(tmp_path: Path) -> Path:
    text = POLICY.read_text()
    stricter = (text.replace("when: overdue_91_plus > 250 and exposure > 1000", "when: overdue_61_90 + overdue_91_plus > 250 and exposure > 1000")
                    .replace("when: exposure > credit_limit * 1.1", "when: exposure > credit_limit * 1.0"))
    assert stricter != text
    path = tmp_path / "stricter.yaml"
    path.write_text(stricter)
    return path


def test_simulate_lists_exactly_the_customers_whose_decisions_differ(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    config_path, _ = prepare_demo(customers=400, as_of=AS_OF, rules=POLICY)
    config = load_config(config_path)
    connector = DemoConnector(Path(config.erp.options["path"]), config.erp.options)
    before = connector.read_state(config.erp.companies)
    candidate = _stricter(tmp_path)
    out = tmp_path / "simulation.csv"

    result = run_cli(capsys, monkeypatch, "simulate", "--config", str(config_path), "--rules", str(candidate),
                     "--as-of", AS_OF.isoformat(), "--out", str(out))
    assert result.code == 0, result.err
    simulated = pd.read_csv(out, dtype={"customer_id": str, "company": str})
    assert "nothing was written to the ERP" in result.out

    # two independent evaluations of the same extract
    extract = Extract(**{e: getattr(connector, f"read_{e}")(config.erp.companies) for e in Extract.entities()})
    base = evaluate(extract, load_ruleset([POLICY]), AS_OF)
    strict = evaluate(extract, load_ruleset([candidate]), AS_OF)
    cols = ["action", "block", "hold", "require_prepayment", "new_credit_limit", "rule_ids"]
    merged = base.decisions.merge(strict.decisions, on=["company", "customer_id"], suffixes=("_b", "_s"))
    differ = pd.Series(False, index=merged.index)
    for col in cols:
        b, s = merged[f"{col}_b"], merged[f"{col}_s"]
        differ |= ~((b == s) | (b.isna() & s.isna()))
    expected = set(map(tuple, merged.loc[differ, ["company", "customer_id"]].values))
    assert expected, "the stricter policy should change some decisions on the demo"
    assert set(map(tuple, simulated[["company", "customer_id"]].values)) == expected
    assert simulated["changes"].str.contains("newly_held|newly_blocked").all()
    assert connector.read_state(config.erp.companies)[0].equals(before[0])  # nothing written


def test_diff_kinds_and_exposure() -> None:
    keys = {"company": ["A", "A", "A"], "customer_id": ["1", "2", "3"]}
    base = pd.DataFrame({**keys, "action": ["block", "none", "reduce_limit"], "block": [True, False, False],
                         "hold": [True, False, False], "require_prepayment": [False, False, False],
                         "new_credit_limit": [100.0, 50.0, 75.0], "rule_ids": ["b", "", "c"]})
    cand = base.assign(action=["none", "hold", "reduce_limit"], block=[False, False, False],
                       hold=[False, True, False], new_credit_limit=[100.0, 50.0, 60.0], rule_ids=["", "h", "c"])
    positions = pd.DataFrame({**keys, "exposure": [10.0, 20.0, 30.0]})
    diff = diff_decisions(base, cand, positions)
    assert diff.rows["changes"].tolist() == ["released_block;released_hold;rules_changed",
                                             "newly_held;rules_changed", "limit_cut"]
    summary = diff.summary().set_index("change")
    assert summary.loc["rules_changed", "customers"] == 2 and summary.loc["rules_changed", "exposure"] == 30.0
    assert summary.loc["limit_cut", "exposure"] == 30.0


def test_identical_rules_give_an_empty_diff_and_summary() -> None:
    decisions = pd.DataFrame({"company": ["A"], "customer_id": ["1"], "action": ["none"], "block": [False],
                              "hold": [False], "require_prepayment": [False], "new_credit_limit": [None],
                              "rule_ids": [""]})
    diff = diff_decisions(decisions, decisions, pd.DataFrame({"company": ["A"], "customer_id": ["1"],
                                                              "exposure": [5.0]}))
    assert diff.rows.empty
    assert diff.summary().empty


def test_a_lone_new_file_warns_that_the_other_active_rules_count_as_removed(tmp_path, capsys, monkeypatch) -> None:
    config_path, _ = prepare_demo(customers=60, as_of=AS_OF, rules=POLICY)
    extra = tmp_path / "extra.yaml"
    extra.write_text("version: 1\nrules:\n  - id: dso-review\n    when: dso > 120\n    then: review\n"
                     "    reason: Slow to pay\n    scope: {company: [Demo GmbX]}\n")
    alone = run_cli(capsys, monkeypatch, "simulate", "--config", str(config_path), "--rules", str(extra),
                    "--as-of", AS_OF.isoformat(), "--out", str(tmp_path / "alone.csv"))
    assert alone.code == 0, alone.err
    active = [r.id for r in load_ruleset([POLICY]).rules]
    warning = next(line for line in alone.err.splitlines() if "simulated as removed" in line)
    assert f"lack {len(active)} rule(s)" in warning and all(rule_id in warning for rule_id in active)
    assert f"--rules {POLICY} --rules {extra}" in warning
    # the scope names a company the config does not have: warned at the rule, with a did-you-mean
    assert f"warning: {extra}:3: rule 'dso-review': scope company 'Demo GmbX' is not one of erp.companies " \
           "(did you mean 'Demo GmbH'?)" in alone.err

    beside = run_cli(capsys, monkeypatch, "simulate", "--config", str(config_path), "--rules", str(POLICY),
                     "--rules", str(extra), "--as-of", AS_OF.isoformat(), "--out", str(tmp_path / "beside.csv"))
    assert beside.code == 0, beside.err
    assert "simulated as removed" not in beside.err
    assert len(pd.read_csv(tmp_path / "alone.csv")) > len(pd.read_csv(tmp_path / "beside.csv"))


def test_rules_check_with_a_config_warns_about_scopes_of_unknown_companies(tmp_path, capsys, monkeypatch) -> None:
    config_path, _ = prepare_demo(customers=20, as_of=AS_OF, rules=POLICY)
    rules = tmp_path / "scoped.yaml"
    rules.write_text("version: 1\nscope: {company: [Demo GmbH, ACME Ltd]}\nrules:\n"
                     "  - id: a\n    when: exposure > 1\n    then: review\n    reason: x\n")
    plain = run_cli(capsys, monkeypatch, "rules", "check", str(rules))
    assert plain.code == 0 and plain.err == ""
    checked = run_cli(capsys, monkeypatch, "rules", "check", str(rules), "--config", str(config_path))
    assert checked.code == 0 and "1 rule file(s) OK" in checked.out
    assert checked.err.splitlines() == [
        f"warning: {rules}:4: rule 'a': scope company 'ACME Ltd' is not one of erp.companies "
        "(the config's companies: Demo GmbH, Demo Inc)"]


def test_the_diff_names_the_customers_and_totals_per_company_currency() -> None:
    keys = {"company": ["DE01", "US01", "US01"], "customer_id": ["1", "2", "3"]}
    base = pd.DataFrame({**keys, "action": ["none"] * 3, "block": [False] * 3, "hold": [False] * 3,
                         "require_prepayment": [False] * 3, "new_credit_limit": [100.0] * 3, "rule_ids": [""] * 3})
    cand = base.assign(action=["hold"] * 3, hold=[True] * 3, rule_ids=["h"] * 3)
    positions = pd.DataFrame({**keys, "exposure": [10.0, 20.0, 30.0], "name": ["Alpha GmbH", "Acme Inc", "Zeta LLC"],
                              "company_currency": ["EUR", "USD", "USD"]})
    diff = diff_decisions(base, cand, positions)
    assert diff.rows[["customer_id", "name", "company_currency"]].values.tolist() == [
        ["1", "Alpha GmbH", "EUR"], ["2", "Acme Inc", "USD"], ["3", "Zeta LLC", "USD"]]
    summary = diff.summary()
    held = summary[summary["change"] == "newly_held"]
    # EUR 10 and USD 50 stay apart: never one total of 60
    assert held[["company_currency", "customers", "exposure"]].values.tolist() == [["EUR", 1, 10.0], ["USD", 2, 50.0]]
