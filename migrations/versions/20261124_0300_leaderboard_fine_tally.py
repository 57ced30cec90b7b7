"""Leaderboards: a tally by exact grams beside the tally by bucket, so that a rank never counts scores.

A rank was 1 + the residents in buckets above (from leaderboard_tally) + a count of the scores above
inside the resident's own bucket. Where many residents share a few gram values — every metro ride is a
multiple of 46 g — one bucket can hold tens of thousands of scores, and counting them is slow. leaderboard_tally_fine counts the residents at each exact gram value, so the part inside
the bucket is a sum over at most the bucket's width of rows (100 for four-digit scores), not a count
over its residents.

Revision ID: 0006_leaderboard_fine_tally
Revises: 0005_receipts
Create Date: 2026-11-24 03:00:00
"""

from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

from service.db import execute_script

revision: str = "0006_leaderboard_fine_tally"
down_revision: str | None = "0005_receipts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# leaderboard_rank() as this revision writes it (upgrade/) and as revision 0003 wrote it (downgrade/).
HERE = Path(__file__).with_suffix("")

BACKFILL = """
INSERT INTO leaderboard_tally_fine (period, period_start, category, scope, scope_id, grams, residents)
SELECT period, period_start, category, 'district', 0, grams, count(*)
  FROM leaderboard_score WHERE visible AND grams > 0 GROUP BY period, period_start, category, grams
UNION ALL
SELECT period, period_start, category, 'community', community_id, grams, count(*)
  FROM leaderboard_score WHERE visible AND grams > 0 AND community_id IS NOT NULL
 GROUP BY period, period_start, category, community_id, grams
UNION ALL
SELECT period, period_start, category, 'organisation', organisation_id, grams, count(*)
  FROM leaderboard_score WHERE visible AND grams > 0 AND organisation_id IS NOT NULL
 GROUP BY period, period_start, category, organisation_id, grams;
"""


def _apply(step: str, *functions: str) -> None:
    """Run this revision's frozen copy of each function's text, <step>/<function>.sql beside this file."""
    for name in functions:
        execute_script(op.get_bind(), (HERE / step / f"{name}.sql").read_text(encoding="utf-8"))


def upgrade() -> None:
    op.create_table(
        "leaderboard_tally_fine",
        sa.Column("period", sa.Text(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("scope_id", sa.BigInteger(), nullable=False),
        sa.Column("grams", sa.BigInteger(), nullable=False),
        sa.Column("residents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "period", "period_start", "category", "scope", "scope_id", "grams", name=op.f("pk_leaderboard_tally_fine")
        ),
    )
    execute_script(op.get_bind(), BACKFILL)
    _apply("upgrade", "leaderboard_rank")


def downgrade() -> None:
    _apply("downgrade", "leaderboard_rank")
    op.drop_table("leaderboard_tally_fine")
