"""Provenance that survives the loss of the state store (SPEC §6.2): after an apply, a run on a
new, empty store recovers this tool's earlier writes from the ERP (its tabVersion rows) and plans
nothing — no limit cut twice, no release of what it cannot prove it set; where the ERP shows
writes it cannot attribute change by change, an apply is refused in one line and a dry-run warns."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, delete, func, select

from connectors.erpnext import schema as t
from etl.ports import ErpProvenance
from etl.provenance import resolve_provenance
from tests.cli_helpers import run_cli
from tests.writeback_helpers import AS_OF, DEMO_STATE_ENV, Demo, make_demo, same_state


def _run(capsys, monkeypatch, demo: Demo, mode: str):  # noqa: ANN001, ANN202 - CliResult
    return run_cli(capsys, monkeypatch, "run", "--config", str(demo.config_path), "--mode", mode,
                   "--as-of", AS_OF.isoformat(), "--approve")


def _plan(result_out: str) -> pd.DataFrame:
    path = next(line.split(": ", 1)[1] for line in result_out.splitlines() if line.startswith("plan: "))
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture()
def applied(capsys, monkeypatch, tmp_path: Path) -> Demo:
    """A demo ERP after one applied nightly run (limit cuts, blocks, holds, prepayment written)."""
    monkeypatch.setenv(DEMO_STATE_ENV, f"sqlite:///{tmp_path / 'first.sqlite'}")
    demo = make_demo(200)
    first = _run(capsys, monkeypatch, demo, "apply")
    assert first.code == 0, first.err
    assert {"set_limit", "block", "hold_order"} <= set(_plan(first.out)["change"])
    return demo


def test_a_lost_store_recovers_the_tools_writes_from_the_erp_and_plans_nothing(
        applied: Demo, capsys, monkeypatch, tmp_path: Path) -> None:
    before = applied.state()
    monkeypatch.setenv(DEMO_STATE_ENV, f"sqlite:///{tmp_path / 'lost.sqlite'}")  # the store is gone
    again = _run(capsys, monkeypatch, applied, "apply")
    assert again.code == 0, again.err
    assert "new state store created" in again.err
    assert _plan(again.out).empty  # neither a second cut by_percent nor a release
    assert same_state(before, applied.state())


def test_a_lost_store_without_the_erps_history_refuses_to_apply(
        applied: Demo, capsys, monkeypatch, tmp_path: Path) -> None:
    # the ERP's change history of the tool is gone, but its order comments still show it wrote there
    engine = create_engine(f"sqlite:///{applied.erp_path}")
    with engine.begin() as conn:
        conn.execute(delete(t.version))
        assert conn.execute(select(func.count()).select_from(t.comment)
                            .where(t.comment.c.content.like("creditctl:%"))).scalar() > 0
    engine.dispose()
    before = applied.state()
    monkeypatch.setenv(DEMO_STATE_ENV, f"sqlite:///{tmp_path / 'lost.sqlite'}")
    refused = _run(capsys, monkeypatch, applied, "apply")
    assert refused.code == 1
    [line] = refused.err.splitlines()
    assert line.startswith("error: run ") and "has no history for Demo GmbH, Demo Inc" in line
    assert "--mode dry-run" in line and "CREDITCTL_STATE_URL" in line
    assert same_state(before, applied.state())  # nothing written

    dry = _run(capsys, monkeypatch, applied, "dry-run")
    assert dry.code == 0, dry.err
    assert same_state(before, applied.state())


def _changes(*rows: tuple[str, str, str, str]) -> pd.DataFrame:
    return pd.DataFrame([{"company": c, "customer_id": cid, "change": ch, "order_id": "", "before": "",
                          "after": after, "rule_ids": "r", "applied_at": pd.Timestamp("2026-11-01")}
                         for c, cid, ch, after in rows])


def test_resolve_prefers_the_store_and_asks_the_erp_only_for_companies_it_does_not_know() -> None:
    store_audit = _changes(("A", "1", "block", "true")).assign(id=[1], run_id="r1")
    asked: list[list[str]] = []

    def read_erp(companies):  # noqa: ANN001, ANN202
        asked.append(list(companies))
        return ErpProvenance(changes=_changes(("B", "2", "block", "true"), ("A", "9", "block", "true")), marked=False)

    found = resolve_provenance(store_audit, ["A", "B", "C"], read_erp)
    assert asked == [["B", "C"]]
    assert (found.from_store, found.from_erp, found.fresh, found.unproven, found.problem) == (["A"], ["B"], ["C"], [], None)
    owned = set(map(tuple, found.owned[["company", "customer_id", "subject"]].values))
    assert owned == {("A", "1", "block"), ("B", "2", "block")}  # for A the store's history wins over the ERP's


def test_resolve_refuses_what_the_erp_cannot_attribute() -> None:
    found = resolve_provenance(pd.DataFrame(), ["A"], lambda companies: ErpProvenance(changes=None, marked=None),
                               store="the store S", erp="the ERP E")
    assert found.unproven == ["A"] and found.problem.startswith("the store S has no history for A and the ERP E")
    marked = resolve_provenance(pd.DataFrame(), ["A"], lambda companies: ErpProvenance(
        changes=_changes(("A", "1", "block", "true")), marked=True))
    assert marked.unproven == ["A"] and marked.from_erp == [] and "cannot recover change by change" in marked.problem
