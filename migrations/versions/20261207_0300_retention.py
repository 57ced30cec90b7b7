"""Retention and erasure.

- privacy_retention_run: each pass of the retention schedule, with what it removed or coarsened;
- privacy_retention_state: how far the pass has coarsened behaviours (by id);
- ix_accounts_refresh_token_expires_at: the pass finds refresh tokens long expired by it;
- accounts_resident.erased_at: when every personal field of a deleted account was erased; accounts
  deleted before this revision have none, and the retention pass erases them;
- the admin action log names a resident by their board pseudonym, not their platform id (which deleting
  the account replaces): lines written before are renamed so.

Revision ID: 0035_retention
Revises: 0034_webhooks
Create Date: 2026-12-07 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0035_retention"
down_revision: str | None = "0034_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The log refuses UPDATE by trigger; renaming its targets is the one change made to lines already written.
_RENAME = """
ALTER TABLE audit_action DISABLE TRIGGER audit_action_append_only;
UPDATE audit_action a SET target = 'resident:' || {to_}
  FROM accounts_resident r
 WHERE a.target = 'resident:' || {from_};
ALTER TABLE audit_action ENABLE TRIGGER audit_action_append_only;
"""


def upgrade() -> None:
    op.create_table(
        "privacy_retention_run",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("schedule", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("counts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_retention_run")),
    )
    op.create_table(
        "privacy_retention_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("behaviour_through", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_privacy_retention_state_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_retention_state")),
    )
    op.execute("INSERT INTO privacy_retention_state (id, behaviour_through) VALUES (1, 0)")
    op.create_index("ix_accounts_refresh_token_expires_at", "accounts_refresh_token", ["expires_at"])
    op.add_column("accounts_resident", sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    op.create_check_constraint(
        op.f("ck_accounts_resident_erased_when_deleted"),
        "accounts_resident",
        "erased_at IS NULL OR deleted_at IS NOT NULL",
    )
    op.create_index(
        "ix_accounts_resident_unerased",
        "accounts_resident",
        ["id"],
        postgresql_where=sa.text("deleted_at IS NOT NULL AND erased_at IS NULL"),
    )
    for statement in _RENAME.format(to_="r.pseudonym", from_="r.public_id::text").split(";\n"):
        if statement.strip():
            op.execute(statement)


def downgrade() -> None:
    for statement in _RENAME.format(to_="r.public_id::text", from_="r.pseudonym").split(";\n"):
        if statement.strip():
            op.execute(statement)
    op.drop_index("ix_accounts_resident_unerased", table_name="accounts_resident")
    op.drop_constraint(op.f("ck_accounts_resident_erased_when_deleted"), "accounts_resident", type_="check")
    op.drop_column("accounts_resident", "erased_at")
    op.drop_index("ix_accounts_refresh_token_expires_at", table_name="accounts_refresh_token")
    op.drop_table("privacy_retention_state")
    op.drop_table("privacy_retention_run")
