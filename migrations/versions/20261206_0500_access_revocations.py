"""Access revocations.

Access tokens ended before they expire: every token of a subject issued by `revoked_at`, or every token
of one sign-in (a refresh-token family). Workers keep the last token lifetime's rows in memory.

Revision ID: 0025_access_revocations
Revises: 0024_signin_addresses
Create Date: 2026-12-06 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0025_access_revocations"
down_revision: str | None = "0024_signin_addresses"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "accounts_access_revocation",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("subject_kind", sa.Text(), nullable=True),
        sa.Column("subject_id", sa.BigInteger(), nullable=True),
        sa.Column("family_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "(family_id IS NULL) = (subject_kind IS NOT NULL AND subject_id IS NOT NULL)",
            name=op.f("ck_accounts_access_revocation_subject_or_family"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts_access_revocation")),
    )
    op.create_index("ix_accounts_access_revocation_revoked_at", "accounts_access_revocation", ["revoked_at"])


def downgrade() -> None:
    op.drop_index("ix_accounts_access_revocation_revoked_at", table_name="accounts_access_revocation")
    op.drop_table("accounts_access_revocation")
