"""Staff sign-in addresses.

The addresses a staff user signed in from lately: password guesses at a username from any other address
share one budget, which sign-ins from these do not spend.

Revision ID: 0024_signin_addresses
Revises: 0023_one_trip_one_credit
Create Date: 2026-12-06 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024_signin_addresses"
down_revision: str | None = "0023_one_trip_one_credit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "accounts_user_signin_address",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("last_signed_in_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["accounts_user.id"], name=op.f("fk_accounts_user_signin_address_user_id_accounts_user")
        ),
        sa.PrimaryKeyConstraint("user_id", "address", name=op.f("pk_accounts_user_signin_address")),
    )


def downgrade() -> None:
    op.drop_table("accounts_user_signin_address")
