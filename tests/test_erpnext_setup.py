"""`creditctl connector setup erpnext`: one report of what the API writes need, changing nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, insert

from connectors.erpnext import schema as t
from tests.cli_helpers import run_cli
from tests.erpnext_standin import SALES_USER, ApiUser, ErpNextStandIn
from tests.roundtrip_helpers import snapshot
from tests.test_erpnext import DE, build_erp

PROBE = ApiUser("probe@example.com", ["Sales Manager", "Accounts Manager"])


def _role(user: str, role: str, n: int) -> dict:
    return {"name": f"hr{n}", "parent": user, "parenttype": "User", "parentfield": "roles", "idx": n, "role": role}


@pytest.fixture
def site(mariadb_database: str, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"mysql+pymysql://root@127.0.0.1:3306/{mariadb_database}?charset=utf8mb4"
    build_erp(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(t.has_role), [_role(SALES_USER.email, "Sales User", 1),
                                          _role(PROBE.email, "Sales Manager", 2),
                                          _role(PROBE.email, "Accounts Manager", 3),
                                          _role("accounts@example.com", "Accounts Manager", 4)])
    engine.dispose()
    monkeypatch.setenv("ERP_URL", url)
    monkeypatch.setenv("ERPNEXT_API_KEY", "KEY")
    monkeypatch.setenv("ERPNEXT_API_SECRET", "SECRET")
    return url


def _config(tmp_path: Path, **options) -> Path:
    path = tmp_path / "creditctl.yaml"
    path.write_text(yaml.safe_dump({"erp": {"kind": "erpnext", "url_env": "ERP_URL", "companies": [DE],
                                            "options": options}, "rules": ["rules.yaml"]}), encoding="utf-8")
    (tmp_path / "rules.yaml").write_text("rules:\n  - {id: r1, when: exposure > 1, then: review}\n", encoding="utf-8")
    return path


def _frozen_role(url: str, role: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(t.singles), [{"doctype": "Accounts Settings", "field": "frozen_accounts_modifier",
                                          "value": role}])
    engine.dispose()


def test_a_site_set_up_as_documented_passes_every_check(site, tmp_path, capsys, monkeypatch) -> None:
    _frozen_role(site, "Accounts Manager")
    before = snapshot(site, list(t.metadata.sorted_tables))
    with ErpNextStandIn(create_engine(site)) as standin:
        config = _config(tmp_path, api_url=standin.url, tool_user=SALES_USER.email)
        result = run_cli(capsys, monkeypatch, "connector", "setup", "erpnext", "--config", str(config))
    assert result.code == 0, result.out + result.err
    lines = result.out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "ok   API user", "ok   API user's roles", "ok   tool_user", "ok   prepayment template",
        "ok   frozen entries role", "ok   read user"]
    assert "accepts the token of creditctl@example.com" in lines[0]
    after = snapshot(site, list(t.metadata.sorted_tables))
    assert all(before[name].equals(after[name]) for name in before)  # nothing changed


def test_each_missing_piece_is_named_with_what_to_do(site, tmp_path, capsys, monkeypatch) -> None:
    with ErpNextStandIn(create_engine(site), users={"KEY:SECRET": PROBE}) as standin:
        config = _config(tmp_path, api_url=standin.url, prepayment_terms="Vorkasse")
        result = run_cli(capsys, monkeypatch, "connector", "setup", "erpnext", "--config", str(config))
    assert result.code == 1
    assert result.err.strip().count("\n") == 0
    assert "4 check(s) failed: API user's roles, tool_user, prepayment template, frozen entries role" in result.err
    out = result.out
    assert "FAIL API user's roles: probe@example.com has Accounts Manager, Sales Manager; it lacks write on Customer" in out
    assert "lacks write on Customer" in out and "give it the role Sales User" in out
    assert "'Vorkasse' does not exist" in out and "Role Allowed to Set Frozen Accounts" in out
    assert "set it to probe@example.com" in out


def test_a_wrong_key_and_a_missing_url_fail_the_first_check(site, tmp_path, capsys, monkeypatch) -> None:
    _frozen_role(site, "Accounts Manager")
    with ErpNextStandIn(create_engine(site), users={"KEY:OTHER": SALES_USER}) as standin:
        config = _config(tmp_path, api_url=standin.url, tool_user=SALES_USER.email)
        result = run_cli(capsys, monkeypatch, "connector", "setup", "erpnext", "--config", str(config))
    assert result.code == 1 and "check(s) failed: API user" in result.err
    assert "ERPNEXT_API_KEY" in " ".join(result.out.split())
    result = run_cli(capsys, monkeypatch, "connector", "setup", "erpnext", "--config", str(_config(tmp_path)))
    assert result.code == 1 and "api_url is not set" in " ".join(result.out.split())


def test_a_frozen_entries_role_nobody_has_fails(site, tmp_path, capsys, monkeypatch) -> None:
    _frozen_role(site, "Credit Controller")
    with ErpNextStandIn(create_engine(site)) as standin:
        config = _config(tmp_path, api_url=standin.url, tool_user=SALES_USER.email)
        result = run_cli(capsys, monkeypatch, "connector", "setup", "erpnext", "--config", str(config))
    assert result.code == 1 and "frozen entries role" in result.err
    assert "no user has the role 'Credit Controller'" in " ".join(result.out.split())


def test_setup_refuses_a_config_of_another_connector(tmp_path, capsys, monkeypatch) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"erp": {"kind": "odoo", "url_env": "X", "companies": ["A"]},
                                      "rules": ["r.yaml"]}), encoding="utf-8")
    (tmp_path / "r.yaml").write_text("rules:\n  - {id: r1, when: exposure > 1, then: review}\n", encoding="utf-8")
    result = run_cli(capsys, monkeypatch, "connector", "setup", "erpnext", "--config", str(config))
    assert result.code == 2 and "erp.kind is odoo, not erpnext" in result.err
