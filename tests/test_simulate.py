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
