"""Decisions (SPEC §5.3, §6.1): fired rules combined into one record per customer."""

from __future__ import annotations

#: SPEC §6.1 decision record; `evaluate` writes these without run_id
DECISION_COLUMNS = [
    "run_id", "company", "customer_id", "action", "block", "hold", "require_prepayment",
    "credit_limit", "new_credit_limit", "rule_ids", "reasons", "risk_grade", "data_incomplete",
    "ruleset_sha256",
]

#: summary action precedence, most restrictive first
ACTIONS = ["block", "hold", "require_prepayment", "reduce_limit", "review", "none"]
