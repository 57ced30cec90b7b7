"""Factor drafts: a version uploaded by one administrator, published only when another approves it.

Revision ID: 0029_factor_drafts
Revises: 0028_admin_scope
Create Date: 2026-12-06 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0029_factor_drafts"
down_revision: str | None = "0028_admin_scope"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "factor_draft",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("set_code", sa.Text(), nullable=False),
        sa.Column("version", sa.Text(), nullable=False),
        sa.Column("source_text", sa.Text(), nullable=False),
        sa.Column("content", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("uploaded_by", sa.Text(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("decided_by", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("factor_version_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'withdrawn')", name=op.f("ck_factor_draft_status")
        ),
        sa.CheckConstraint(
            "(status = 'pending') = (decided_at IS NULL) AND (status = 'pending') = (decided_by IS NULL)",
            name=op.f("ck_factor_draft_decided"),
        ),
        sa.CheckConstraint(
            "(status = 'approved') = (factor_version_id IS NOT NULL)", name=op.f("ck_factor_draft_published")
        ),
        sa.CheckConstraint(
            "status <> 'approved' OR decided_by <> uploaded_by", name=op.f("ck_factor_draft_two_people")
        ),
        sa.ForeignKeyConstraint(
            ["factor_version_id"], ["factor_version.id"], name=op.f("fk_factor_draft_factor_version_id_factor_version")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_factor_draft")),
    )
    op.create_index(
        "ix_factor_draft_pending", "factor_draft", ["id"], unique=False, postgresql_where=sa.text("status = 'pending'")
    )


def downgrade() -> None:
    op.drop_index("ix_factor_draft_pending", table_name="factor_draft", postgresql_where=sa.text("status = 'pending'"))
    op.drop_table("factor_draft")
