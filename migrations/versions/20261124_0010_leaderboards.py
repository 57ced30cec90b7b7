"""Leaderboards: scores per resident and per group, rolled up from the ledger off the hot path.

- leaderboard_score: one row per resident, period and category, with the resident's community,
  organisation and visibility copied in so that each scope's board is one partial index;
- leaderboard_tally: how many visible residents of a board sit in each score bucket, so that a rank is
  a sum over a few hundred buckets plus a count inside one bucket, not a count over a million rows;
- leaderboard_group_score: credits per community and organisation;
- leaderboard_resident_change: residents whose community, organisation or visibility changed, queued
  by trigger in the same transaction as the change and applied by the next roll-up;
- leaderboard_state: the ledger entry id up to which everything is rolled up.

leaderboard_bucket() keeps two significant digits of a score (0–99 exact, then 100–109, 110–119, …):
monotone, so every resident in a higher bucket has more grams.

Revision ID: 0003_leaderboards
Revises: 0002_factors_ledger_ingest
Create Date: 2026-11-24 00:10:00
"""

from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

from service.db import execute_script

revision: str = "0003_leaderboards"
down_revision: str | None = "0002_factors_ledger_ingest"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HERE = Path(__file__).with_suffix("")

BOARD_COLUMNS = ("period", "period_start", "category")

# leaderboard_bucket_width(), leaderboard_bucket(), leaderboard_rank() and the trigger function
# leaderboard_queue_resident(), in upgrade/ beside this file.
FUNCTIONS = ("leaderboard_bucket_width", "leaderboard_bucket", "leaderboard_rank", "leaderboard_queue_resident")

# A change of community, organisation, visibility or a deletion is queued for the next roll-up in the
# same transaction as the change, whichever code path makes it.
TRIGGER = """
CREATE TRIGGER accounts_resident_leaderboard
AFTER UPDATE OF community_id, organisation_id, leaderboard_visible, deleted_at ON accounts_resident
FOR EACH ROW WHEN (OLD.community_id IS DISTINCT FROM NEW.community_id
                OR OLD.organisation_id IS DISTINCT FROM NEW.organisation_id
                OR OLD.leaderboard_visible IS DISTINCT FROM NEW.leaderboard_visible
                OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at)
EXECUTE FUNCTION leaderboard_queue_resident();
"""

DROP_FUNCTIONS = """
DROP TRIGGER accounts_resident_leaderboard ON accounts_resident;
DROP FUNCTION leaderboard_queue_resident();
DROP FUNCTION leaderboard_rank(text, date, text, text, bigint, bigint);
DROP FUNCTION leaderboard_bucket(bigint);
DROP FUNCTION leaderboard_bucket_width(bigint);
"""


def _apply(step: str, *functions: str) -> None:
    """Run this revision's frozen copy of each function's text, <step>/<function>.sql beside this file."""
    for name in functions:
        execute_script(op.get_bind(), (HERE / step / f"{name}.sql").read_text(encoding="utf-8"))


def upgrade() -> None:
    op.create_table(
        "leaderboard_score",
        sa.Column("period", sa.Text(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("resident_id", sa.BigInteger(), nullable=False),
        sa.Column("community_id", sa.BigInteger(), nullable=True),
        sa.Column("organisation_id", sa.BigInteger(), nullable=True),
        sa.Column("visible", sa.Boolean(), nullable=False),
        sa.Column("grams", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(*BOARD_COLUMNS, "resident_id", name=op.f("pk_leaderboard_score")),
    )
    ranked = "visible AND grams > 0"
    op.create_index(
        "ix_leaderboard_score_district",
        "leaderboard_score",
        [*BOARD_COLUMNS, sa.text("grams DESC"), "resident_id"],
        postgresql_where=sa.text(ranked),
    )
    op.create_index(
        "ix_leaderboard_score_community",
        "leaderboard_score",
        [*BOARD_COLUMNS, "community_id", sa.text("grams DESC"), "resident_id"],
        postgresql_where=sa.text(f"{ranked} AND community_id IS NOT NULL"),
    )
    op.create_index(
        "ix_leaderboard_score_organisation",
        "leaderboard_score",
        [*BOARD_COLUMNS, "organisation_id", sa.text("grams DESC"), "resident_id"],
        postgresql_where=sa.text(f"{ranked} AND organisation_id IS NOT NULL"),
    )
    op.create_index("ix_leaderboard_score_resident_id", "leaderboard_score", ["resident_id"])
    op.create_table(
        "leaderboard_tally",
        sa.Column("period", sa.Text(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("scope_id", sa.BigInteger(), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("residents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(*BOARD_COLUMNS, "scope", "scope_id", "bucket", name=op.f("pk_leaderboard_tally")),
    )
    op.create_table(
        "leaderboard_group_score",
        sa.Column("period", sa.Text(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("scope_id", sa.BigInteger(), nullable=False),
        sa.Column("grams", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("scope IN ('community', 'organisation')", name=op.f("ck_leaderboard_group_score_scope")),
        sa.PrimaryKeyConstraint(*BOARD_COLUMNS, "scope", "scope_id", name=op.f("pk_leaderboard_group_score")),
    )
    op.create_table(
        "leaderboard_group_size",
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("scope_id", sa.BigInteger(), nullable=False),
        sa.Column("residents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "scope_id", name=op.f("pk_leaderboard_group_size")),
    )
    op.create_table(
        "leaderboard_resident_change",
        sa.Column("resident_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("resident_id", name=op.f("pk_leaderboard_resident_change")),
    )
    op.create_table(
        "leaderboard_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rolled_entry_id", sa.BigInteger(), nullable=False),
        sa.Column("rolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sizes_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_leaderboard_state_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leaderboard_state")),
    )
    op.execute("INSERT INTO leaderboard_state (id, rolled_entry_id, rolled_at) VALUES (1, 0, now())")
    _apply("upgrade", *FUNCTIONS)
    execute_script(op.get_bind(), TRIGGER)


def downgrade() -> None:
    execute_script(op.get_bind(), DROP_FUNCTIONS)
    op.drop_table("leaderboard_state")
    op.drop_table("leaderboard_resident_change")
    op.drop_table("leaderboard_group_size")
    op.drop_table("leaderboard_group_score")
    op.drop_table("leaderboard_tally")
    op.drop_index("ix_leaderboard_score_resident_id", table_name="leaderboard_score")
    op.drop_index("ix_leaderboard_score_organisation", table_name="leaderboard_score")
    op.drop_index("ix_leaderboard_score_community", table_name="leaderboard_score")
    op.drop_index("ix_leaderboard_score_district", table_name="leaderboard_score")
    op.drop_table("leaderboard_score")
