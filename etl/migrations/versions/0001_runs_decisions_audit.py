"""runs, decisions and the append-only audit

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("companies", sa.Text, nullable=False),
        sa.Column("ruleset_sha256", sa.String(64)),
        sa.Column("customers", sa.Integer),
        sa.Column("changes", sa.Integer),
        sa.Column("message", sa.Text),
    )
    op.create_table(
        "decisions",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("company", sa.String(140), primary_key=True),
        sa.Column("customer_id", sa.String(140), primary_key=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("block", sa.Boolean, nullable=False),
        sa.Column("hold", sa.Boolean, nullable=False),
        sa.Column("require_prepayment", sa.Boolean, nullable=False),
        sa.Column("credit_limit", sa.Float),
        sa.Column("new_credit_limit", sa.Float),
        sa.Column("rule_ids", sa.Text, nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("risk_grade", sa.String(16)),
        sa.Column("data_incomplete", sa.Boolean, nullable=False),
        sa.Column("ruleset_sha256", sa.String(64), nullable=False),
    )
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("company", sa.String(140), nullable=False),
        sa.Column("customer_id", sa.String(140), nullable=False),
        sa.Column("change", sa.String(32), nullable=False),
        sa.Column("order_id", sa.String(140), nullable=False),
        sa.Column("before", sa.Text, nullable=False),
        sa.Column("after", sa.Text, nullable=False),
        sa.Column("rule_ids", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("ruleset_sha256", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_run_id", "audit", ["run_id"])
    op.create_index("ix_audit_customer_id", "audit", ["customer_id"])


def downgrade() -> None:
    op.drop_table("audit")
    op.drop_table("decisions")
    op.drop_table("runs")
