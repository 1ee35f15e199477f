"""Shared pieces of the per-ERP round-trip tests (tests/test_erp_roundtrip.py).

The files export, the run config, one nightly run through the CLI with what it left behind (run
folder, state store), plain-SQL snapshots of an ERP's tables, and the expected connector state
after a plan.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml
from sqlalchemy import Table, create_engine, select

from etl.config import data_dir, load_config, run_dir
from etl.extract import Extract
from etl.plan import PLAN_COLUMNS
from etl.store import StateStore
from tests.cli_helpers import run_cli
from tests.conftest import ROOT

AS_OF = dt.date(2026, 11, 28)
URL_ENV = "CREDITCTL_ROUNDTRIP_ERP_URL"
RULES = ROOT / "rules" / "credit_control.yaml"
#: the restrictions a first run plans on the synthetic business (nothing is owned yet to release)
SET_KINDS = {"block", "hold_order", "set_prepayment", "set_limit"}
KEYS = ["company", "customer_id"]


# --------------------------------------------------------------------------- files export


def export_files(extract: Extract, folder: Path) -> Path:
    """``extract`` as the files connector's folder (SPEC §7): one ``<entity>.csv`` each, a header
    row, booleans ``true``/``false``, ISO dates, empty = null."""
    folder.mkdir(parents=True, exist_ok=True)
    for entity, frame in extract.frames().items():
        out = frame.copy()
        for name in out.columns:
            if out[name].dtype == bool:
                out[name] = out[name].map({True: "true", False: "false"})
            elif out[name].dtype.kind == "M":
                out[name] = out[name].dt.strftime("%Y-%m-%d")
        out.to_csv(folder / f"{entity}.csv", index=False)
    return folder


# --------------------------------------------------------------------------- config and runs


def write_config(path: Path, kind: str, companies: list[str], options: dict) -> Path:
    """A run config (SPEC §9) for the ERP behind ``$URL_ENV``, writeback apply."""
    config = {"erp": {"kind": kind, "url_env": URL_ENV, "companies": companies, "options": options},
              "rules": [str(RULES)], "writeback": "apply"}
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


@dataclass(frozen=True)
class Run:
    run_id: str
    folder: Path
    plan: pd.DataFrame  # plan.csv, every value text ('' = empty)
    record: dict  # the state store's runs row
    audit: pd.DataFrame  # the state store's audit rows of this run
    refused: pd.DataFrame  # the journal's rows the ERP did not take (an API ERP: conflict / refused)

    @property
    def applied(self) -> pd.DataFrame:
        """The plan rows the ERP took: the plan less the refused rows."""
        keys = ["company", "customer_id", "change", "order_id"]
        taken = ~pd.MultiIndex.from_frame(self.plan[keys]).isin(
            pd.MultiIndex.from_frame(self.refused[keys].fillna("").astype(str)))
        return self.plan[taken].reset_index(drop=True)


def nightly(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, config: Path) -> Run:
    """`creditctl run --config … --mode apply --as-of …` in-process; what it left behind."""
    before = _run_folders()
    result = run_cli(capsys, monkeypatch, "run", "--config", str(config), "--mode", "apply",
                     "--as-of", AS_OF.isoformat())
    assert result.code == 0, result.err
    new = _run_folders() - before
    assert len(new) == 1, new
    run_id = new.pop()
    store = StateStore(load_config(config).state_url(data_dir()))
    try:
        record, audit, refused = store.run(run_id), store.audit(run_id=run_id), store.journal_refused(run_id)
    finally:
        store.dispose()
    assert record is not None and record["status"] == "succeeded", record
    assert record["mode"] == "apply" and record["as_of"] == AS_OF
    folder = run_dir(run_id)
    for name in ("positions.csv", "decisions.csv", "plan.csv", "quarantine.csv"):
        assert (folder / name).is_file(), name
    plan = pd.read_csv(folder / "plan.csv", dtype=str, keep_default_na=False)
    assert list(plan.columns) == [*PLAN_COLUMNS, "name"]  # the customer's name, for people
    return Run(run_id, folder, plan, record, audit, refused)


def _run_folders() -> set[str]:
    runs = data_dir() / "runs"
    return {p.name for p in runs.iterdir()} if runs.is_dir() else set()


def by_change(plan: pd.DataFrame, change: str) -> pd.DataFrame:
    return plan[plan["change"] == change]


def assert_audit_is_the_plan(run: Run) -> None:
    """One audit row per plan row the ERP took, with the same values."""
    cols = ["company", "customer_id", "change", "order_id", "before", "after", "rule_ids", "reason"]
    audit = run.audit[cols].fillna("").astype(str).sort_values(cols).reset_index(drop=True)
    plan = run.applied[cols].sort_values(cols).reset_index(drop=True)
    pd.testing.assert_frame_equal(audit, plan)
    assert run.record["changes"] == len(plan)


# --------------------------------------------------------------------------- plain-SQL snapshots


def snapshot(url: str, tables: list[Table]) -> dict[str, pd.DataFrame]:
    """Every row of ``tables`` as the driver returns it, ordered by primary key (else all columns)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {t.name: pd.DataFrame(conn.execute(
                select(t).order_by(*(t.primary_key.columns or t.columns))).mappings().all(),
                columns=[c.name for c in t.columns]) for t in tables}
    finally:
        engine.dispose()


def assert_same_rows(before: dict[str, pd.DataFrame], after: dict[str, pd.DataFrame],
                     skip: dict[str, list[str]] | None = None) -> None:
    """Tables byte-for-byte equal, except the ``skip`` columns (table -> columns; [] = whole table)."""
    skip = skip or {}
    assert before.keys() == after.keys()
    for name, frame in before.items():
        cols = skip.get(name)
        if cols == []:
            continue
        b, a = frame.drop(columns=cols or []), after[name].drop(columns=cols or [])
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=name)


# --------------------------------------------------------------------------- connector state


def expected_state(customers: pd.DataFrame, orders: pd.DataFrame,
                   plan: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """read_state() before the run with the plan's restrictions on top (payment_terms aside)."""
    c = customers.drop(columns="payment_terms").set_index(KEYS).sort_index()
    o = orders.set_index(["company", "order_id"]).sort_index()

    def keys(change: str) -> pd.MultiIndex:
        return pd.MultiIndex.from_frame(by_change(plan, change)[KEYS])

    c.loc[keys("block"), "is_blocked"] = True
    c.loc[keys("set_prepayment"), "on_prepayment"] = True
    limits = by_change(plan, "set_limit")
    c.loc[pd.MultiIndex.from_frame(limits[KEYS]), "credit_limit"] = limits["after"].astype(float).to_numpy()
    o.loc[pd.MultiIndex.from_frame(by_change(plan, "hold_order")[["company", "order_id"]]), "on_hold"] = True
    return c.reset_index(), o.reset_index()


def assert_state(connector, companies: list[str], before: tuple[pd.DataFrame, pd.DataFrame],  # noqa: ANN001
                 plan: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """read_state() now is the state before with exactly the plan applied; returns it."""
    from etl.plan import unapplied

    customers, orders = connector.read_state(companies)
    assert unapplied(plan, customers, orders).empty
    exp_c, exp_o = expected_state(*before, plan)
    got_c = customers.drop(columns="payment_terms").sort_values(KEYS).reset_index(drop=True)
    got_o = orders.sort_values(["company", "order_id"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got_c, exp_c[got_c.columns], check_exact=False, atol=0.005, rtol=0)
    pd.testing.assert_frame_equal(got_o, exp_o[got_o.columns])
    # the terms of every customer not switched to prepayment are untouched
    untouched = ~pd.MultiIndex.from_frame(before[0][KEYS]).isin(
        pd.MultiIndex.from_frame(by_change(plan, "set_prepayment")[KEYS]))
    terms_before = before[0][untouched].sort_values(KEYS)["payment_terms"].tolist()
    now = customers.merge(before[0].loc[untouched, KEYS], on=KEYS).sort_values(KEYS)
    assert now["payment_terms"].tolist() == terms_before
    return customers, orders


# --------------------------------------------------------------------------- positions


def csv_roundtrip(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as the run folder's positions.csv would read back."""
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    buffer.seek(0)
    return pd.read_csv(buffer)


def sorted_positions(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(KEYS, kind="stable").reset_index(drop=True)
