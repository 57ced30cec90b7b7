"""Staff account security.

Staff users' TOTP secrets (sealed) and one-time recovery codes; each staff sign-in (a refresh-token
family) with the address and user agent it came from; and every staff sign-in attempt, kept for its owner.

Revision ID: 0027_staff_security
Revises: 0026_voucher_code_hash
Create Date: 2026-12-06 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0027_staff_security"
down_revision: str | None = "0026_voucher_code_hash"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "accounts_user_totp",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("secret_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["accounts_user.id"], name=op.f("fk_accounts_user_totp_user_id_accounts_user")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_accounts_user_totp")),
    )
    op.create_table(
        "accounts_user_recovery_code",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["accounts_user.id"], name=op.f("fk_accounts_user_recovery_code_user_id_accounts_user")
        ),
        sa.PrimaryKeyConstraint("user_id", "code_hash", name=op.f("pk_accounts_user_recovery_code")),
    )
    op.create_table(
        "accounts_staff_session",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("family_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("signed_in_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["accounts_user.id"], name=op.f("fk_accounts_staff_session_user_id_accounts_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts_staff_session")),
        sa.UniqueConstraint("family_id", name=op.f("uq_accounts_staff_session_family_id")),
    )
    op.create_index("ix_accounts_staff_session_user_id_id", "accounts_staff_session", ["user_id", "id"])
    op.create_index("ix_accounts_staff_session_last_used_at", "accounts_staff_session", ["last_used_at"])
    op.create_table(
        "accounts_staff_signin",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("second_factor", sa.Text(), nullable=True),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "outcome IN ('signed_in', 'wrong_password', 'account_disabled', 'totp_required', 'totp_invalid')",
            name=op.f("ck_accounts_staff_signin_outcome"),
        ),
        sa.CheckConstraint(
            "second_factor IN ('totp', 'recovery_code')", name=op.f("ck_accounts_staff_signin_second_factor")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["accounts_user.id"], name=op.f("fk_accounts_staff_signin_user_id_accounts_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts_staff_signin")),
    )
    op.create_index("ix_accounts_staff_signin_user_id_id", "accounts_staff_signin", ["user_id", "id"])
    op.create_index("ix_accounts_staff_signin_at", "accounts_staff_signin", ["at"])


def downgrade() -> None:
    op.drop_index("ix_accounts_staff_signin_at", table_name="accounts_staff_signin")
    op.drop_index("ix_accounts_staff_signin_user_id_id", table_name="accounts_staff_signin")
    op.drop_table("accounts_staff_signin")
    op.drop_index("ix_accounts_staff_session_last_used_at", table_name="accounts_staff_session")
    op.drop_index("ix_accounts_staff_session_user_id_id", table_name="accounts_staff_session")
    op.drop_table("accounts_staff_session")
    op.drop_table("accounts_user_recovery_code")
    op.drop_table("accounts_user_totp")
