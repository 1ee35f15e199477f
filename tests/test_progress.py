"""`creditctl run` reports each step as it starts (its progress line), in the order they run."""

from __future__ import annotations

from creditctl.runner import run_nightly
from tests.writeback_helpers import AS_OF, make_demo


def test_every_step_is_reported_as_it_starts(capsys) -> None:
    demo = make_demo(60)
    steps: list[str] = []
    outcome = run_nightly(demo.config_path, as_of=AS_OF, mode="dry-run", on_step=steps.append)
    assert outcome.success, outcome.message
    for step in ("erp_customers", "credit_positions", "credit_decisions", "writeback_plan", "erp_writeback",
                 "credit_report"):
        assert step in steps, step
    assert steps.index("credit_positions") < steps.index("credit_decisions") < steps.index("erp_writeback")
    assert capsys.readouterr().err == ""  # Dagster's own console log stays quiet
