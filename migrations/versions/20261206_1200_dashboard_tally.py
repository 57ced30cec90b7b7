"""The dashboard's tallies.

- audit_day_tally: net credits and credited behaviours per local day, community and behaviour type;
- audit_day_activity: each resident credited on a day for a type, with their community then;
- audit_tally_state: the transfer id up to which both hold every issuance and reversal.

What the ledger holds already is rolled up here, so the dashboard's figures stay what they were.

Revision ID: 0032_dashboard_tally
Revises: 0031_enterprise_console
Create Date: 2026-12-06 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032_dashboard_tally"
down_revision: str | None = "0031_enterprise_console"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BACKFILL = """
WITH moved AS (
    SELECT b.local_date, coalesce(r.community_id, 0) AS community_id, b.behaviour_type, b.resident_id,
           CASE WHEN t.kind = 'issuance' THEN t.amount ELSE -t.amount END AS grams,
           (t.kind = 'issuance')::int AS behaviours
      FROM ledger_transfer t
      JOIN ingest_behaviour b ON b.id = t.behaviour_id
      JOIN accounts_resident r ON r.id = b.resident_id
     WHERE t.kind IN ('issuance', 'reversal') AND t.id <= :mark
), tallied AS (
    INSERT INTO audit_day_tally (local_date, community_id, behaviour_type, credited_g, behaviours)
    SELECT local_date, community_id, behaviour_type, sum(grams), sum(behaviours) FROM moved GROUP BY 1, 2, 3
)
INSERT INTO audit_day_activity (local_date, resident_id, behaviour_type, community_id)
SELECT DISTINCT ON (local_date, resident_id, behaviour_type) local_date, resident_id, behaviour_type, community_id
  FROM moved
"""


def upgrade() -> None:
    op.create_table(
        "audit_day_tally",
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("community_id", sa.BigInteger(), nullable=False),
        sa.Column("behaviour_type", sa.Text(), nullable=False),
        sa.Column("credited_g", sa.BigInteger(), nullable=False),
        sa.Column("behaviours", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("local_date", "community_id", "behaviour_type", name=op.f("pk_audit_day_tally")),
    )
    op.create_table(
        "audit_day_activity",
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("resident_id", sa.BigInteger(), nullable=False),
        sa.Column("behaviour_type", sa.Text(), nullable=False),
        sa.Column("community_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("local_date", "resident_id", "behaviour_type", name=op.f("pk_audit_day_activity")),
    )
    op.create_index(
        "ix_audit_day_activity_community",
        "audit_day_activity",
        ["community_id", "local_date", "resident_id", "behaviour_type"],
    )
    op.create_table(
        "audit_tally_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("rolled_transfer_id", sa.BigInteger(), nullable=False),
        sa.Column("rolled_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_tally_state_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_tally_state")),
    )
    # Writers of transfers wait until this commits, and the ones running now are waited for: nothing can
    # appear below the mark later. What comes after it is the roll-up's.
    op.execute("LOCK TABLE ledger_transfer IN SHARE MODE")
    bind = op.get_bind()
    mark = bind.scalar(sa.text("SELECT coalesce(max(id), 0) FROM ledger_transfer"))
    bind.execute(sa.text(_BACKFILL), {"mark": mark})
    bind.execute(sa.text("INSERT INTO audit_tally_state (id, rolled_transfer_id) VALUES (1, :mark)"), {"mark": mark})


def downgrade() -> None:
    op.drop_table("audit_tally_state")
    op.drop_index("ix_audit_day_activity_community", table_name="audit_day_activity")
    op.drop_table("audit_day_activity")
    op.drop_table("audit_day_tally")
