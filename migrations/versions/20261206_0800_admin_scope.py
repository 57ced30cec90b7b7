"""Town and community officers: an administrator kept to one community.

`accounts_user.scope_community_id` names the one community (town, street or area) an auditor or operator
is kept to; NULL is the whole district, and a super-administrator is always district-wide. Scoped
queries take a community's residents by `ix_accounts_resident_community_id_id`.

Revision ID: 0028_admin_scope
Revises: 0027_staff_security
Create Date: 2026-12-06 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028_admin_scope"
down_revision: str | None = "0027_staff_security"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("accounts_user", sa.Column("scope_community_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_accounts_user_scope_community_id_accounts_community"),
        "accounts_user",
        "accounts_community",
        ["scope_community_id"],
        ["id"],
    )
    op.create_check_constraint(
        op.f("ck_accounts_user_scope_for_officers"),
        "accounts_user",
        "scope_community_id IS NULL OR role IN ('admin-auditor', 'admin-operator')",
    )
    op.create_index("ix_accounts_resident_community_id_id", "accounts_resident", ["community_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_accounts_resident_community_id_id", table_name="accounts_resident")
    op.drop_constraint(op.f("ck_accounts_user_scope_for_officers"), "accounts_user", type_="check")
    op.drop_constraint(
        op.f("fk_accounts_user_scope_community_id_accounts_community"), "accounts_user", type_="foreignkey"
    )
    op.drop_column("accounts_user", "scope_community_id")
