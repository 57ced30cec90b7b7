"""Leaderboards: a tally by exact grams beside the tally by bucket, so that a rank never counts scores.

A rank was 1 + the residents in buckets above (from leaderboard_tally) + a count of the scores above
inside the resident's own bucket. Where many residents share a few gram values — every metro ride is a
multiple of 46 g — one bucket can hold tens of thousands of scores, and counting them took tens of
milliseconds. leaderboard_tally_fine counts the residents at each exact gram value, so the part inside
the bucket is a sum over at most the bucket's width of rows (100 for four-digit scores), not a count
over its residents.

Revision ID: 0006_leaderboard_fine_tally
Revises: 0005_receipts
Create Date: 2026-11-24 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.db import execute_script

revision: str = "0006_leaderboard_fine_tally"
down_revision: str | None = "0005_receipts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RANK = """
CREATE OR REPLACE FUNCTION leaderboard_rank(
    p_period text, p_start date, p_category text, p_scope text, p_scope_id bigint, p_grams bigint
) RETURNS bigint LANGUAGE sql STABLE AS $$
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
"""

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

# The function as revision 0003 made it, for downgrade.
PREVIOUS_RANK = """
-- Competition rank on a board: 1 + the visible residents with more grams, as rolled up. The buckets
-- above p_grams are summed from the tally; inside p_grams's own bucket the scores are counted.
CREATE OR REPLACE FUNCTION leaderboard_rank(
    p_period text, p_start date, p_category text, p_scope text, p_scope_id bigint, p_grams bigint
) RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_above bigint;
    v_inside bigint;
    v_ceiling bigint := (p_grams / leaderboard_bucket_width(p_grams) + 1) * leaderboard_bucket_width(p_grams);
BEGIN
    SELECT COALESCE(sum(t.residents), 0) INTO v_above FROM leaderboard_tally t
     WHERE t.period = p_period AND t.period_start = p_start AND t.category = p_category
       AND t.scope = p_scope AND t.scope_id = p_scope_id AND t.bucket > leaderboard_bucket(p_grams);
    -- One query per scope, each matching its own partial index (a single query with OR would match none).
    IF p_scope = 'community' THEN
        SELECT count(*) INTO v_inside FROM leaderboard_score s
         WHERE s.period = p_period AND s.period_start = p_start AND s.category = p_category AND s.visible
           AND s.grams > 0 AND s.community_id = p_scope_id AND s.grams > p_grams AND s.grams < v_ceiling;
    ELSIF p_scope = 'organisation' THEN
        SELECT count(*) INTO v_inside FROM leaderboard_score s
         WHERE s.period = p_period AND s.period_start = p_start AND s.category = p_category AND s.visible
           AND s.grams > 0 AND s.organisation_id = p_scope_id AND s.grams > p_grams AND s.grams < v_ceiling;
    ELSE
        SELECT count(*) INTO v_inside FROM leaderboard_score s
         WHERE s.period = p_period AND s.period_start = p_start AND s.category = p_category AND s.visible
           AND s.grams > 0 AND s.grams > p_grams AND s.grams < v_ceiling;
    END IF;
    RETURN 1 + v_above + v_inside;
END $$;
"""


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
    execute_script(op.get_bind(), BACKFILL + RANK)


def downgrade() -> None:
    execute_script(op.get_bind(), PREVIOUS_RANK)
    op.drop_table("leaderboard_tally_fine")
