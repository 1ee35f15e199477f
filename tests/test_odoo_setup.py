"""`creditctl connector setup odoo` (one line per check, exit 1 on a failed one) and apply's refusal
without the addon creditctl_credit_control, on PostgreSQL (Odoo 18 tables; the check is the same
on 17)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from connectors.odoo import OdooConnector
from connectors.odoo.fixture import load_extract
from connectors.odoo.tables import ADDON
from connectors.synthetic import synthetic_extract
from etl.extract import Extract
from etl.plan import PLAN_COLUMNS
from etl.ports import ConnectorError
from tests.cli_helpers import CliResult, run_cli


@pytest.fixture(scope="module")
def extract() -> Extract:
    return synthetic_extract(20)


def _sql(url: str, *statements: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for stmt in statements:
            conn.execute(sa.text(stmt))
    engine.dispose()


def _setup(url: str, tmp_path: Path, capsys, monkeypatch, options: str = "{}") -> CliResult:  # noqa: ANN001
    config = tmp_path / "creditctl.yaml"
    config.write_text(f"erp: {{kind: odoo, url_env: ODOO_URL, companies: [A], options: {options}}}\n"
                      "rules: [r.yaml]\n")
    monkeypatch.setenv("ODOO_URL", url)
    return run_cli(capsys, monkeypatch, "connector", "setup", "odoo", "--config", str(config))


def _line(result: CliResult, check: str) -> str:
    """The report's line of ``check`` (exactly one)."""
    lines = [line for line in result.out.splitlines() if line[5:].startswith(f"{check}: ")]
    assert len(lines) == 1, result.out
    return lines[0]


def test_setup_report(pg_url: str, extract: Extract, tmp_path: Path, capsys, monkeypatch) -> None:  # noqa: ANN001
    load_extract(pg_url, extract, 18)
    _sql(pg_url, "ALTER TABLE sale_order DROP COLUMN x_credit_hold, DROP COLUMN x_credit_hold_reason")
    passed = _setup(pg_url, tmp_path, capsys, monkeypatch)
    assert passed.code == 0, passed.out + passed.err
    assert len(passed.out.splitlines()) == 4 and all(line.startswith("ok   ") for line in passed.out.splitlines())
    assert _line(passed, "hold fields").endswith("added x_credit_hold, x_credit_hold_reason to sale_order")
    assert f"{ADDON} is installed" in _line(passed, "addon")
    assert "'Prepayment' exists" in _line(passed, "prepayment term")
    assert "reads every table the connector reads" in _line(passed, "read user")

    # each state of the addon that is not 'installed' fails, saying what to do
    _sql(pg_url, f"DELETE FROM ir_module_module WHERE name = '{ADDON}'")
    missing = _setup(pg_url, tmp_path, capsys, monkeypatch)
    assert missing.code == 1 and "1 check(s) failed: addon" in missing.err
    line = _line(missing, "addon")
    assert line.startswith("FAIL ") and "not in ir_module_module" in line
    assert "docs/connectors/odoo.md#installing-the-addon" in line and "apply refuses" in line
    assert _line(missing, "hold fields").endswith("already has the credit-hold fields")

    for state, todo in [("to install", f"-i {ADDON}"), ("to upgrade", f"-u {ADDON}"),
                        ("uninstalled", "install it")]:
        _sql(pg_url, f"DELETE FROM ir_module_module WHERE name = '{ADDON}'",
             f"INSERT INTO ir_module_module (name, state) VALUES ('{ADDON}', '{state}')")
        result = _setup(pg_url, tmp_path, capsys, monkeypatch)
        assert result.code == 1, state
        line = _line(result, "addon")
        assert line.startswith("FAIL ") and f"{ADDON} is " in line and repr(state) in line and todo in line, line

    # with require_addon: false the missing addon is accepted, and said to leave holds unenforced
    accepted = _setup(pg_url, tmp_path, capsys, monkeypatch, "{require_addon: false}")
    assert accepted.code == 0, accepted.out
    assert "require_addon is false" in _line(accepted, "addon") and "not enforce" in _line(accepted, "addon")

    # the prepayment term, matched by its en_US name
    _sql(pg_url, f"UPDATE ir_module_module SET state = 'installed' WHERE name = '{ADDON}'",
         """UPDATE account_payment_term SET name = '{"en_US": "Vorkasse"}' WHERE name->>'en_US' = 'Prepayment'""")
    no_term = _setup(pg_url, tmp_path, capsys, monkeypatch)
    assert no_term.code == 1 and "1 check(s) failed: prepayment term" in no_term.err
    line = _line(no_term, "prepayment term")
    assert line.startswith("FAIL ") and "'Prepayment'" in line and "does not exist" in line
    assert "erp.options.prepayment_term" in line
    renamed = _setup(pg_url, tmp_path, capsys, monkeypatch, "{prepayment_term: Vorkasse}")
    assert renamed.code == 0 and "'Vorkasse' exists" in _line(renamed, "prepayment term")


def test_setup_checks_the_users_grants(pg_url: str, extract: Extract, tmp_path: Path, capsys,  # noqa: ANN001
                                       monkeypatch) -> None:  # noqa: ANN001
    from tests.test_connector_privileges import documented_users

    load_extract(pg_url, extract, 17)
    options = "{version: 17}"
    with documented_users(pg_url, ["odoo", "odoo-17"], "postgresql") as (read_url, _):
        granted = _setup(read_url, tmp_path, capsys, monkeypatch, options)
        assert granted.code == 0, granted.out  # the columns exist: the read user runs no DDL
        _sql(pg_url, "REVOKE SELECT ON ir_module_module, account_move FROM " + sa.make_url(read_url).username)
        revoked = _setup(read_url, tmp_path, capsys, monkeypatch, options)
        assert revoked.code == 1
        line = _line(revoked, "read user")
        assert line.startswith("FAIL ") and "cannot read account_move, ir_module_module" in line
        assert "grant SELECT" in _line(revoked, "addon")
        # the hold columns missing: only the owner may add them
        _sql(pg_url, "ALTER TABLE sale_order DROP COLUMN x_credit_hold CASCADE")
        not_owner = _setup(read_url, tmp_path, capsys, monkeypatch, options)
        line = _line(not_owner, "hold fields")
        assert line.startswith("FAIL ") and "database owner" in line and not_owner.code == 1


def _plan(con: OdooConnector, company: str) -> pd.DataFrame:
    """A block, a hold and a limit cut: every kind the addon is about, and one it is not."""
    customers, orders = con.read_state([company])
    free = customers[~customers["is_blocked"]].sort_values("customer_id")["customer_id"]
    order = orders[~orders["on_hold"]].iloc[0]
    rows = [(free.iloc[0], "block", "", "false", "true"), (order["customer_id"], "hold_order", order["order_id"],
                                                           "false", "true"),
            (free.iloc[1], "set_limit", "", "", "1234.0")]
    return pd.DataFrame([{"company": company, "customer_id": c, "change": ch, "order_id": o, "before": b,
                          "after": a, "rule_ids": "R1", "reason": "test"} for c, ch, o, b, a in rows])[PLAN_COLUMNS]


def _snapshot(url: str) -> dict[str, list]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        found = {table: conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY id")).all()
                 for table in ("res_partner", "sale_order")}
    engine.dispose()
    return found


@pytest.mark.parametrize("state", [None, "to install"])
def test_apply_without_the_addon_is_refused_and_writes_nothing(pg_url: str, extract: Extract,
                                                               state: str | None) -> None:
    load_extract(pg_url, extract, 18, addon=False)
    if state is not None:
        _sql(pg_url, f"INSERT INTO ir_module_module (name, state) VALUES ('{ADDON}', '{state}')")
    company = extract.companies["company"].iloc[0]
    con = OdooConnector(pg_url)
    plan = _plan(con, company)
    before = _snapshot(pg_url)
    with pytest.raises(ConnectorError) as info:
        con.apply(company, plan)
    message = str(info.value)
    assert "\n" not in message
    assert f"apply {company!r}: the Odoo addon {ADDON} is not installed" in message
    assert ("not in ir_module_module" if state is None else f"({state})") in message
    for part in ("holds and blocks would be inert", "x_credit_hold", "sale_warn=block acts only in the order form",
                 "docs/connectors/odoo.md#installing-the-addon", "erp.options.require_addon: false",
                 "only limits and payment terms are enforced", "nothing was written"):
        assert part in message, part
    assert _snapshot(pg_url) == before
    con.close()

    accepting = OdooConnector(pg_url, {"require_addon": False})
    assert accepting.apply(company, plan) == 3
    customers, orders = accepting.read_state([company])
    assert customers.set_index("customer_id").loc[plan["customer_id"].iloc[0], "is_blocked"]
    assert orders.set_index("order_id").loc[plan["order_id"].iloc[1], "on_hold"]
    accepting.close()


def test_require_addon_must_be_a_boolean() -> None:
    with pytest.raises(ConnectorError, match="require_addon: 'no' is not true or false"):
        OdooConnector("postgresql+psycopg://x@127.0.0.1/db", {"require_addon": "no"})
