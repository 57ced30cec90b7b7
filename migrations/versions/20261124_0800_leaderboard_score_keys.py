"""Leaderboards: fewer index entries per rolled-up score.

Every credited event moves ten score rows (five periods × all and the behaviour's category), and
because `grams` orders the board indexes, none of those updates is HOT: each new row version goes into
every index of leaderboard_score. The separate index on resident_id (for profile moves) was one entry
more per update; leading the primary key with resident_id serves those lookups, and the roll-up's
and a standing's lookups by the whole key, with one index fewer. A resident's rows also sit together
in the key, so one event's ten lookups touch one or two index pages.

The tallies change only their `residents` count, which no index holds: with room left on each page
(fillfactor 80) those updates stay HOT, with no index entry at all.

Rebuilding the primary key rewrites its index and holds leaderboard_score locked meanwhile; the
roll-up waits, and the boards serve what they have.

Revision ID: 0011_leaderboard_score_keys
Revises: 0010_leaderboard_rank_inline
Create Date: 2026-11-24 08:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011_leaderboard_score_keys"
down_revision: str | None = "0010_leaderboard_rank_inline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BOARD_COLUMNS = ["period", "period_start", "category"]
TALLIES = ("leaderboard_tally", "leaderboard_tally_fine")


def upgrade() -> None:
    op.drop_constraint("pk_leaderboard_score", "leaderboard_score", type_="primary")
    op.create_primary_key("pk_leaderboard_score", "leaderboard_score", ["resident_id", *BOARD_COLUMNS])
    op.drop_index("ix_leaderboard_score_resident_id", table_name="leaderboard_score")
    for table in TALLIES:
        op.execute(f"ALTER TABLE {table} SET (fillfactor = 80)")


def downgrade() -> None:
    for table in TALLIES:
        op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
    op.create_index("ix_leaderboard_score_resident_id", "leaderboard_score", ["resident_id"])
    op.drop_constraint("pk_leaderboard_score", "leaderboard_score", type_="primary")
    op.create_primary_key("pk_leaderboard_score", "leaderboard_score", [*BOARD_COLUMNS, "resident_id"])
