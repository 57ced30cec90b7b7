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

from alembic import op

from service.db import earlier_revision, execute_script

revision: str = "0010_leaderboard_rank_inline"
down_revision: str | None = "0009_frozen_after_replay"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RANKS = """
CREATE FUNCTION leaderboard_ranks(
    p_period text, p_start date, p_category text, p_scope text, p_scope_id bigint, p_grams bigint
) RETURNS TABLE (rank bigint) LANGUAGE sql STABLE AS $$
    -- Competition rank on a board: 1 + the visible residents with more grams, as rolled up: whole
    -- buckets above p_grams's bucket from the tally, the rest of its own bucket from the fine tally.
    SELECT 1
         + (SELECT COALESCE(sum(t.residents), 0) FROM leaderboard_tally t
             WHERE t.period = p_period AND t.period_start = p_start AND t.category = p_category
               AND t.scope = p_scope AND t.scope_id = p_scope_id AND t.bucket > leaderboard_bucket(p_grams))
         + (SELECT COALESCE(sum(f.residents), 0) FROM leaderboard_tally_fine f
             WHERE f.period = p_period AND f.period_start = p_start AND f.category = p_category
               AND f.scope = p_scope AND f.scope_id = p_scope_id AND f.grams > p_grams
               AND f.grams < (p_grams / leaderboard_bucket_width(p_grams) + 1) * leaderboard_bucket_width(p_grams))
$$;

CREATE OR REPLACE FUNCTION leaderboard_rank(
    p_period text, p_start date, p_category text, p_scope text, p_scope_id bigint, p_grams bigint
) RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT rank FROM leaderboard_ranks(p_period, p_start, p_category, p_scope, p_scope_id, p_grams)
$$;
"""


def _rank_of_0006() -> str:
    return str(earlier_revision("20261124_0300_leaderboard_fine_tally.py").RANK)


def upgrade() -> None:
    execute_script(op.get_bind(), RANKS)


def downgrade() -> None:
    execute_script(
        op.get_bind(), _rank_of_0006() + "DROP FUNCTION leaderboard_ranks(text, date, text, text, bigint, bigint);"
    )
