"""Indexes for what administrators read: a resident's flags, enterprises by status, the monthly report.

A resident's page lists their flags newest first: (resident_id, id) on ingest_flag. The enterprise list
is paged by id within a status: (status, id). The monthly report reads one month of redemptions, refunds
and retirements, of reviews and of flags (its credits come from the dashboard's tallies). Transfers by
when they were written are taken through a BRIN index: the column follows the order rows are written in,
so a summary per range of pages finds a month's rows, and a recording adds no B-tree entry on the hot
path. Reviews and resolved flags are indexed only where they are set, so a new behaviour or flag adds
nothing there either.

Revision ID: 0030_admin_reads
Revises: 0029_factor_drafts
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030_admin_reads"
down_revision: str | None = "0029_factor_drafts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_ingest_flag_resident_id_id", "ingest_flag", ["resident_id", "id"])
    op.create_index("ix_ingest_flag_raised_at", "ingest_flag", ["raised_at"])
    op.create_index(
        "ix_ingest_flag_resolved_at",
        "ingest_flag",
        ["resolved_at"],
        postgresql_where=sa.text("resolved_at IS NOT NULL"),
    )
    op.create_index("ix_accounts_enterprise_status_id", "accounts_enterprise", ["status", "id"])
    op.create_index(
        "ix_ingest_behaviour_reviewed_at",
        "ingest_behaviour",
        ["reviewed_at"],
        postgresql_where=sa.text("reviewed_at IS NOT NULL"),
    )
    op.create_index("ix_ledger_transfer_created_at", "ledger_transfer", ["created_at"], postgresql_using="brin")


def downgrade() -> None:
    op.drop_index("ix_ledger_transfer_created_at", table_name="ledger_transfer")
    op.drop_index("ix_ingest_behaviour_reviewed_at", table_name="ingest_behaviour")
    op.drop_index("ix_accounts_enterprise_status_id", table_name="accounts_enterprise")
    op.drop_index("ix_ingest_flag_resolved_at", table_name="ingest_flag")
    op.drop_index("ix_ingest_flag_raised_at", table_name="ingest_flag")
    op.drop_index("ix_ingest_flag_resident_id_id", table_name="ingest_flag")
