"""Extract-level guards (issue 5): each fails the run closed through the CLI — exit 1, a
one-line reason, and no change in the ERP (the demo ERP, a real SQLite database)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from connectors.demo import DemoConnector
from creditctl.demo import prepare_demo
from etl.config import load_config
from etl.pipeline import customer_drop_problem, previous_customer_count
from tests.cli_helpers import run_cli
from tests.conftest import ROOT

AS_OF = "2026-11-28"


@pytest.fixture
def demo(monkeypatch) -> tuple[Path, DemoConnector, list[str]]:
    monkeypatch.chdir(ROOT)
    path, created = prepare_demo(customers=200, as_of=dt.date.fromisoformat(AS_OF),
                                 rules=ROOT / "rules" / "credit_control.yaml")
    assert created
    config = load_config(path)
    database = path.parent / config.erp.options["path"]
    return path, DemoConnector(database, config.erp.options), list(config.erp.companies)


def _sql(connector: DemoConnector, *statements: str) -> None:
    engine = sa.create_engine(f"sqlite:///{connector.path}")
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement))
    engine.dispose()


def _fails_closed(capsys, monkeypatch, demo, *args: str):
    path, connector, companies = demo
    before = connector.read_state(companies)
    result = run_cli(capsys, monkeypatch, "run", "--config", str(path), "--as-of", AS_OF, *args)
    assert result.code == 1, result.out + result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.err
    after = connector.read_state(companies)
    pd.testing.assert_frame_equal(before[0], after[0])
    pd.testing.assert_frame_equal(before[1], after[1])
    return lines[0]


def test_empty_customers_extract_fails_closed(capsys, monkeypatch, demo) -> None:
    _sql(demo[1], 'DELETE FROM "tabCustomer"')
    reason = _fails_closed(capsys, monkeypatch, demo)
    assert "the customers extract is empty" in reason


def test_empty_open_items_extract_fails_closed(capsys, monkeypatch, demo) -> None:
    _sql(demo[1], 'DELETE FROM "tabPayment Schedule"', 'DELETE FROM "tabPayment Ledger Entry"',
         'DELETE FROM "tabOverdue Payment"', 'DELETE FROM "tabDunning"', 'DELETE FROM "tabSales Invoice"')
    reason = _fails_closed(capsys, monkeypatch, demo)
    assert "the open_items extract is empty" in reason


def test_quarantine_above_the_limit_fails_closed(capsys, monkeypatch, demo) -> None:
    # one invoice in ten in a currency code that does not exist
    _sql(demo[1], """UPDATE "tabSales Invoice" SET currency = 'ZZZ' WHERE rowid % 10 = 0""")
    reason = _fails_closed(capsys, monkeypatch, demo)
    assert "max_quarantine_percent" in reason and "currency:not_iso_4217" in reason


def test_shrunk_customer_count_fails_closed(capsys, monkeypatch, demo) -> None:
    path, connector, companies = demo
    first = run_cli(capsys, monkeypatch, "run", "--config", str(path), "--as-of", AS_OF, "--mode", "dry-run")
    assert first.code == 0, first.err
    # a fifth of the customers vanish from the ERP, with all their documents: no orphans, so only
    # the customer count tells that the extract is incomplete
    gone = """(SELECT name FROM "tabCustomer" WHERE rowid % 5 = 0)"""
    _sql(connector,
         f"""DELETE FROM "tabPayment Schedule" WHERE parent IN (SELECT name FROM "tabSales Invoice"
             WHERE customer IN {gone})""",
         f"""DELETE FROM "tabOverdue Payment" WHERE parent IN (SELECT name FROM "tabDunning"
             WHERE customer IN {gone})""",
         f'DELETE FROM "tabDunning" WHERE customer IN {gone}',
         f'DELETE FROM "tabSales Invoice" WHERE customer IN {gone}',
         f'DELETE FROM "tabSales Order" WHERE customer IN {gone}',
         f"""DELETE FROM "tabDelivery Note Item" WHERE parent IN (SELECT name FROM "tabDelivery Note"
             WHERE customer IN {gone})""",
         f'DELETE FROM "tabDelivery Note" WHERE customer IN {gone}',
         f'DELETE FROM "tabPayment Ledger Entry" WHERE party IN {gone}',
         f'DELETE FROM "tabCustomer Credit Limit" WHERE parent IN {gone}',
         f'DELETE FROM "tabCustomer" WHERE name IN {gone}')
    reason = _fails_closed(capsys, monkeypatch, demo, "--mode", "dry-run")
    assert "max_customer_drop_percent" in reason and "shrank" in reason
    assert "max_quarantine_percent" not in reason  # the documents went with their customers


def test_customer_drop_comparison() -> None:
    assert customer_drop_problem(None, 50, 10) is None  # nothing to compare with
    assert customer_drop_problem(100, 90, 10) is None  # exactly at the limit
    assert customer_drop_problem(100, 120, 10) is None
    problem = customer_drop_problem(100, 89, 10)
    assert problem and "from 100 to 89 customers (11.0%)" in problem
    last = {"customers": 100, "companies": "A,B"}
    assert previous_customer_count(last, ["B", "A"]) == 100
    assert previous_customer_count(last, ["A"]) is None  # other companies: no comparison
    assert previous_customer_count(None, ["A"]) is None


def test_evaluate_trips_the_quarantine_guard_and_writes_the_quarantine(tmp_path, capsys, monkeypatch) -> None:
    import shutil

    fixture = ROOT / "tests" / "fixtures" / "evaluate"
    data = tmp_path / "data"
    shutil.copytree(fixture, data)
    items = data / "open_items.csv"
    items.write_text(items.read_text().rstrip("\n") + "\nDE01,BAD-1,C1,invoice,28.05.2026,2026-07-01,100,100,EUR,0\n")
    out = tmp_path / "out" / "decisions.csv"
    result = run_cli(capsys, monkeypatch, "evaluate", "--data", str(data), "--rules", str(fixture / "rules.yaml"),
                     "--as-of", "2026-06-30", "--out", str(out))
    assert result.code == 1
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "max_quarantine_percent" in lines[0], result.err
    quarantine = pd.read_csv(out.parent / "quarantine.csv")
    assert quarantine[["key", "check"]].values.tolist() == [["DE01/BAD-1", "doc_date:not_a_date"]]
    assert not out.exists()


def test_contract_check_blocks_with_a_sample_and_the_share(demo) -> None:
    from dagster import materialize

    from assets.extract import extract_assets, extract_checks
    from assets.resources import CreditControlSettings, ErpResource

    path, connector, _ = demo
    _sql(connector, """UPDATE "tabSales Invoice" SET currency = 'ZZZ' WHERE rowid % 10 = 0""")
    payments = next(a for a in extract_assets if a.key.to_user_string() == "erp_payments")
    contract = [c for c in extract_checks
                if {k.name for k in c.check_keys} == {"contract"}
                and next(iter(c.check_keys)).asset_key == payments.key]
    result = materialize([payments, *contract], raise_on_error=False, resources={
        "settings": CreditControlSettings(config_path=str(path), as_of=AS_OF),
        "erp": ErpResource(config_path=str(path)),
    })
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed and evaluation.check_name == "contract"
    meta = {k: v.value for k, v in evaluation.metadata.items()}
    assert meta["quarantine_percent"] > meta["max_quarantine_percent"] == 1.0
    assert "currency:not_iso_4217" in meta["failing_sample"] and "ZZZ" in meta["failing_sample"]
    assert "above guards.max_quarantine_percent" in meta["message"]
    materialization = result.asset_materializations_for_node("erp_payments")[0]
    assert str(materialization.metadata["gx_data_docs"].value).endswith("gx/payments/index.html")


def test_a_run_stopped_by_a_guard_is_recorded_as_failed(capsys, monkeypatch, demo) -> None:
    """The state store's history shows runs the guards stopped, with their reason."""
    from etl.config import data_dir
    from etl.store import StateStore

    _sql(demo[1], 'DELETE FROM "tabCustomer"')
    _fails_closed(capsys, monkeypatch, demo)
    store = StateStore(load_config(demo[0]).state_url(data_dir()))
    last = store.last_run("failed")
    store.dispose()
    assert last is not None and "the customers extract is empty" in last["message"]
