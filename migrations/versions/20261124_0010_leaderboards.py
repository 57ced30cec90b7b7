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

import sqlalchemy as sa
from alembic import op

from service.db import execute_script

revision: str = "0003_leaderboards"
down_revision: str | None = "0002_factors_ledger_ingest"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BOARD_COLUMNS = ("period", "period_start", "category")

FUNCTIONS = """
CREATE FUNCTION leaderboard_bucket_width(p_grams bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_grams < 100 THEN 1::bigint ELSE power(10::numeric, length(p_grams::text) - 2)::bigint END
$$;

CREATE FUNCTION leaderboard_bucket(p_grams bigint) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_grams < 100 THEN p_grams::integer
                ELSE ((length(p_grams::text) - 2) * 100 + p_grams / leaderboard_bucket_width(p_grams))::integer END
$$;

-- Competition rank on a board: 1 + the visible residents with more grams, as rolled up. The buckets
-- above p_grams are summed from the tally; inside p_grams's own bucket the scores are counted.
CREATE FUNCTION leaderboard_rank(
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

-- A change of community, organisation, visibility or a deletion is queued for the next roll-up in the
-- same transaction as the change, whichever code path makes it.
CREATE FUNCTION leaderboard_queue_resident() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO leaderboard_resident_change (resident_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

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
    execute_script(op.get_bind(), FUNCTIONS)


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
