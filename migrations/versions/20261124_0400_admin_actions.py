"""Admin action log: every administrator's and operator's action, with who, when, what and why.

Written in the same transaction as the action itself, so that no action happens unlogged and no log line
stands for an action that rolled back. Append-only, as the ledger is.

Revision ID: 0007_admin_actions
Revises: 0006_leaderboard_fine_tally
Create Date: 2026-11-24 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from service.db import execute_script

revision: str = "0007_admin_actions"
down_revision: str | None = "0006_leaderboard_fine_tally"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGGERS = """
CREATE TRIGGER audit_action_append_only BEFORE UPDATE OR DELETE ON audit_action
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER audit_action_no_truncate BEFORE TRUNCATE ON audit_action
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
"""


def upgrade() -> None:
    op.create_table(
        "audit_action",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("request_id", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_action")),
    )
    op.create_index("ix_audit_action_actor_id", "audit_action", ["actor", "id"])
    op.create_index("ix_audit_action_action_id", "audit_action", ["action", "id"])
    execute_script(op.get_bind(), TRIGGERS)


def downgrade() -> None:
    op.execute("DROP TRIGGER audit_action_no_truncate ON audit_action")
    op.execute("DROP TRIGGER audit_action_append_only ON audit_action")
    op.drop_index("ix_audit_action_action_id", table_name="audit_action")
    op.drop_index("ix_audit_action_actor_id", table_name="audit_action")
    op.drop_table("audit_action")
