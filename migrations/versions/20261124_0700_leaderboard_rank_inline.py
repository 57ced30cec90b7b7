"""Leaderboards: a rank the planner can fold into the query that asks for it.

leaderboard_rank() (revision 0006) is a scalar SQL function with sub-selects, which PostgreSQL cannot
inline: every call runs through the function executor, which prepares its two sums afresh, and a
standing asks for one rank per distinct score around the resident. leaderboard_ranks() is the same
computation as a table function of one row; used in FROM (… CROSS JOIN LATERAL leaderboard_ranks(…)),
it is inlined into the calling query and planned with it. leaderboard_rank() now reads through it, so
the computation is written once.

Revision ID: 0010_leaderboard_rank_inline
Revises: 0009_frozen_after_replay
Create Date: 2026-11-24 07:00:00
"""

from collections.abc import Sequence
from pathlib import Path

from alembic import op

from service.db import execute_script

revision: str = "0010_leaderboard_rank_inline"
down_revision: str | None = "0009_frozen_after_replay"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# leaderboard_ranks() and leaderboard_rank() as this revision writes them (upgrade/), and
# leaderboard_rank() as revision 0006 wrote it (downgrade/).
HERE = Path(__file__).with_suffix("")


def _apply(step: str, *functions: str) -> None:
    """Run this revision's frozen copy of each function's text, <step>/<function>.sql beside this file."""
    for name in functions:
        execute_script(op.get_bind(), (HERE / step / f"{name}.sql").read_text(encoding="utf-8"))


def upgrade() -> None:
    _apply("upgrade", "leaderboard_ranks", "leaderboard_rank")


def downgrade() -> None:
    _apply("downgrade", "leaderboard_rank")
    op.execute("DROP FUNCTION leaderboard_ranks(text, date, text, text, bigint, bigint)")
