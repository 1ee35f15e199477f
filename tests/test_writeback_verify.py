"""Read-back verification (SPEC §6.3): after apply the ERP state is compared with the plan; a
change the ERP does not show fails the check erp_state_verified and `creditctl run` exits 1."""

from __future__ import annotations

import sqlalchemy as sa

from tests.cli_helpers import run_cli
from tests.conftest import ROOT
from tests.writeback_helpers import AS_OF, make_demo


def test_a_change_the_erp_does_not_keep_fails_verification_with_exit_1(capsys, monkeypatch) -> None:
    demo = make_demo(60)
    erp = sa.create_engine(f"sqlite:///{demo.erp_path}")
    with erp.begin() as conn:  # an ERP-side hook that silently undoes blocks
        conn.execute(sa.text('CREATE TRIGGER undo_block AFTER UPDATE OF is_frozen ON "tabCustomer" '
                             'WHEN NEW.is_frozen = 1 BEGIN UPDATE "tabCustomer" SET is_frozen = 0 '
                             'WHERE name = NEW.name; END'))
    erp.dispose()
    monkeypatch.chdir(ROOT)
    result = run_cli(capsys, monkeypatch, "run", "--config", str(demo.config_path), "--mode", "apply",
                     "--as-of", AS_OF.isoformat())
    assert result.code == 1
    assert "erp_state_verified failed" in result.err and "not found in the ERP after apply" in result.err
    assert "block" in result.err and len(result.err.strip().splitlines()) == 1
