"""The roll-up's statements, run in its one transaction on a SQLAlchemy connection (rollup.py says how
a step uses them)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from service.leaderboard.boards import ALL_TIME_START, CATEGORY_OF

# The leaderboard's codes are enum types: a code written as text here is cast to its type.
_CATEGORY_CASE = (
    "CASE x.behaviour_type "
    + " ".join(f"WHEN '{behaviour.value}' THEN '{category.value}'" for behaviour, category in CATEGORY_OF.items())
    + " END::leaderboard_category"
)

# The boards a resident's score row is counted on: the district and, when set, their community and
# organisation.
_MEMBERSHIPS = """
CROSS JOIN LATERAL (VALUES ('district'::leaderboard_scope, 0::bigint), ('community', {row}.community_id),
                           ('organisation', {row}.organisation_id)) g(scope, scope_id)
"""


def _tally_steps(rows: str) -> str:
    """CTEs that add `rows` (board, scope, scope_id, grams, d) into both tallies: the steps netted per exact
    gram value first, then the fine tally takes those and the tally by bucket sums them per bucket."""
    board = "period, period_start, category, scope, scope_id"
    return f"""
        netted AS MATERIALIZED (
            SELECT {board}, grams, sum(d)::bigint AS d FROM {rows}
             GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(d) <> 0
        ), tally_fine AS (
            INSERT INTO leaderboard_tally_fine AS t ({board}, grams, residents)
            SELECT {board}, grams, d FROM netted
            ON CONFLICT ({board}, grams) DO UPDATE SET residents = t.residents + EXCLUDED.residents
        ), tally AS (
            INSERT INTO leaderboard_tally AS t ({board}, bucket, residents)
            SELECT {board}, leaderboard_bucket(grams), sum(d) FROM netted
             GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(d) <> 0
            ON CONFLICT ({board}, bucket) DO UPDATE SET residents = t.residents + EXCLUDED.residents
        )
    """  # noqa: S608 - only a CTE name and column lists go in; it takes no values


# The queued profile changes (community, organisation, visibility), applied: the queue is emptied, each
# score whose boards changed leaves the tallies of its old boards and joins those of its new ones, and the
# score row takes its new boards.
_CHANGES = text(
    f"""
    WITH queued AS (
        DELETE FROM leaderboard_resident_change RETURNING resident_id
    ), now_is AS (
        SELECT r.id AS resident_id, r.community_id, r.organisation_id,
               (r.leaderboard_visible AND r.deleted_at IS NULL) AS visible
          FROM accounts_resident r JOIN queued q ON q.resident_id = r.id
    ), changed AS (
        SELECT s.period, s.period_start, s.category, s.resident_id, s.grams, s.community_id, s.organisation_id,
               s.visible, n.community_id AS new_community_id, n.organisation_id AS new_organisation_id,
               n.visible AS new_visible
          FROM leaderboard_score s JOIN now_is n ON n.resident_id = s.resident_id
         WHERE (s.community_id, s.organisation_id, s.visible)
               IS DISTINCT FROM (n.community_id, n.organisation_id, n.visible)
    ), moves AS (
        SELECT c.period, c.period_start, c.category, g.scope, g.scope_id, c.grams, -1 AS d
          FROM changed c {_MEMBERSHIPS.format(row="c")}
         WHERE c.visible AND c.grams > 0 AND g.scope_id IS NOT NULL
        UNION ALL
        SELECT c.period, c.period_start, c.category, g.scope, g.scope_id, c.grams, 1
          FROM (SELECT period, period_start, category, grams, new_visible AS visible,
                       new_community_id AS community_id, new_organisation_id AS organisation_id
                  FROM changed) c {_MEMBERSHIPS.format(row="c")}
         WHERE c.visible AND c.grams > 0 AND g.scope_id IS NOT NULL
    ), {_tally_steps("moves")}
    UPDATE leaderboard_score s
       SET community_id = c.new_community_id, organisation_id = c.new_organisation_id, visible = c.new_visible
      FROM changed c
     WHERE s.period = c.period AND s.period_start = c.period_start AND s.category = c.category
       AND s.resident_id = c.resident_id
    """  # noqa: S608 - assembled from the fragments above only; it takes no values
)

# The entries a board counts, each with the behaviour (`b`) behind it: issuances, and reversals, which
# carry the behaviour of the issuance they take back and count against it. The roll-up and a resident's
# live standing (reads.py) both read through this.
SCORED_ENTRIES = """
    ledger_entry e
    JOIN ledger_transfer t ON t.id = e.transfer_id AND t.kind IN ('issuance', 'reversal')
    JOIN ingest_behaviour b ON b.id = t.behaviour_id
"""

# One chunk of entries, (:after, :upto], folded into the scores of every period and category they fall in,
# with the tallies and group totals kept in step, and the mark advanced. Each score is read once
# (`scored`); an existing one is updated where that reading found it, by row address, which is sound
# because the roll-up, under its lock, is the one writer of scores.
_ROLLUP = text(
    f"""
    WITH raw AS (
        SELECT la.resident_id, e.amount, b.local_date, b.behaviour_type
          FROM {SCORED_ENTRIES}
          JOIN ledger_account la ON la.id = e.account_id
         WHERE e.id > :after AND e.id <= :upto AND la.kind = 'resident'
    ), keyed AS (
        SELECT x.resident_id, p.period, p.period_start, c.category, sum(x.amount)::bigint AS delta
          FROM raw x
         CROSS JOIN LATERAL (VALUES ('day'::leaderboard_period, x.local_date),
                                    ('week', date_trunc('week', x.local_date)::date),
                                    ('month', date_trunc('month', x.local_date)::date),
                                    ('year', date_trunc('year', x.local_date)::date),
                                    ('all', DATE '{ALL_TIME_START.isoformat()}')) p(period, period_start)
         CROSS JOIN LATERAL (VALUES ('all'::leaderboard_category), ({_CATEGORY_CASE})) c(category)
         GROUP BY 1, 2, 3, 4
    ), scored AS MATERIALIZED (
        -- Each score as it stands before this step (every part of one statement sees one snapshot) and
        -- after it, with the boards it is counted on: the row's own for a score that exists, the
        -- resident's profile for a new one.
        SELECT k.period, k.period_start, k.category, k.resident_id, k.delta, s.ctid AS row_address,
               COALESCE(s.grams, 0) AS old_grams, COALESCE(s.grams, 0) + k.delta AS grams,
               CASE WHEN s.resident_id IS NULL THEN r.community_id ELSE s.community_id END AS community_id,
               CASE WHEN s.resident_id IS NULL THEN r.organisation_id ELSE s.organisation_id END AS organisation_id,
               CASE WHEN s.resident_id IS NULL THEN r.leaderboard_visible AND r.deleted_at IS NULL
                    ELSE s.visible END AS visible
          FROM keyed k
          LEFT JOIN leaderboard_score s ON s.resident_id = k.resident_id AND s.period = k.period
                AND s.period_start = k.period_start AND s.category = k.category
          -- the profile is read only for a new score (a one-time test of the subquery; as a join condition
          -- the test would come after the lookup, and every score would pay for the probe)
          LEFT JOIN LATERAL (SELECT r.community_id, r.organisation_id, r.leaderboard_visible, r.deleted_at
                               FROM accounts_resident r WHERE s.resident_id IS NULL AND r.id = k.resident_id LIMIT 1) r
            ON true
    ), updated AS (
        UPDATE leaderboard_score s SET grams = m.grams
          FROM scored m
         WHERE m.row_address IS NOT NULL AND s.ctid = m.row_address
    ), inserted AS (
        INSERT INTO leaderboard_score
              (period, period_start, category, resident_id, community_id, organisation_id, visible, grams)
        SELECT period, period_start, category, resident_id, community_id, organisation_id, visible, grams
          FROM scored
         WHERE row_address IS NULL
    ), moved AS (
        -- A visible score leaves the residents at its old value and joins those at its new one. The moves
        -- are netted per board, groups and value before each is counted on the boards of its groups: a
        -- chunk's scores are many, their distinct values and groups few.
        SELECT period, period_start, category, community_id, organisation_id, grams, sum(d) AS d
          FROM (SELECT period, period_start, category, community_id, organisation_id, old_grams AS grams, -1 AS d
                  FROM scored WHERE visible AND old_grams > 0
                UNION ALL
                SELECT period, period_start, category, community_id, organisation_id, grams, 1
                  FROM scored WHERE visible AND grams > 0) x
         GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(d) <> 0
    ), steps AS (
        SELECT m.period, m.period_start, m.category, g.scope, g.scope_id, m.grams, m.d
          FROM moved m {_MEMBERSHIPS.format(row="m")}
         WHERE g.scope_id IS NOT NULL
    ), {_tally_steps("steps")}, group_deltas AS (
        SELECT period, period_start, category, community_id, organisation_id, sum(delta) AS delta
          FROM scored
         WHERE community_id IS NOT NULL OR organisation_id IS NOT NULL
         GROUP BY 1, 2, 3, 4, 5
    ), groups AS (
        INSERT INTO leaderboard_group_score AS gs (period, period_start, category, scope, scope_id, grams)
        SELECT k.period, k.period_start, k.category, g.scope, g.scope_id, sum(k.delta)::bigint
          FROM group_deltas k
         CROSS JOIN LATERAL (VALUES ('community'::leaderboard_scope, k.community_id),
                                    ('organisation', k.organisation_id)) g(scope, scope_id)
         WHERE g.scope_id IS NOT NULL
         GROUP BY 1, 2, 3, 4, 5
        ON CONFLICT (period, period_start, category, scope, scope_id) DO UPDATE SET grams = gs.grams + EXCLUDED.grams
    )
    UPDATE leaderboard_state SET rolled_entry_id = :upto, rolled_at = now() WHERE id = 1
    """  # noqa: S608 - assembled from module constants and enum members; values are bound
)

# For the rest of the pass's transaction. A pass reads and writes a few thousand rows of tables that
# only grow, by key: index lookups are the right plan at any size. While the tables are small the planner
# would rather scan the scores, transfers, accounts and residents whole every pass and hash them, which is
# slower, and more so as they grow; on large tables the estimate passes jit_above_cost and each pass would
# compile the statement first.
# The sort that sums a chunk's deltas per score (ten a credited entry) spills to disk at the default work_mem
# once a chunk passes a few thousand entries; 64 MB holds the largest chunk in memory.
_PLAN = text(
    "SELECT set_config('enable_seqscan', 'off', true), set_config('enable_hashjoin', 'off', true),"
    " set_config('enable_mergejoin', 'off', true), set_config('jit', 'off', true),"
    " set_config('work_mem', '64MB', true)"
)

# Registered residents per community and organisation, counted afresh.
_SIZES = (
    text("DELETE FROM leaderboard_group_size"),
    text(
        """
        INSERT INTO leaderboard_group_size (scope, scope_id, residents)
        SELECT 'community'::leaderboard_scope, community_id, count(*) FROM accounts_resident
         WHERE deleted_at IS NULL AND community_id IS NOT NULL GROUP BY community_id
        UNION ALL
        SELECT 'organisation', organisation_id, count(*) FROM accounts_resident
         WHERE deleted_at IS NULL AND organisation_id IS NOT NULL GROUP BY organisation_id
        """
    ),
    text("UPDATE leaderboard_state SET sizes_at = now() WHERE id = 1"),
)

_MARKS = text(
    "SELECT rolled_entry_id, sizes_at IS NULL OR sizes_at < now() - CAST(:every AS interval) "
    "FROM leaderboard_state WHERE id = 1"
)


async def apply_profile_changes(connection: AsyncConnection) -> None:
    """Move the scores of residents whose community, organisation or visibility changed to their new boards."""
    await connection.execute(_CHANGES)


async def marks(connection: AsyncConnection, *, sizes_every: timedelta) -> tuple[int, bool]:
    """The last entry id rolled up, and whether the group sizes were last counted longer ago than `sizes_every`."""
    row = (await connection.execute(_MARKS, {"every": sizes_every})).one()
    return int(row[0]), bool(row[1])


async def count_group_sizes(connection: AsyncConnection) -> None:
    for statement in _SIZES:
        await connection.execute(statement)


async def add_entries(connection: AsyncConnection, *, after: int, upto: int) -> None:
    """Roll the entries with ids in (after, upto] up into the boards, under the pass's plan settings."""
    await connection.execute(_PLAN)
    await connection.execute(_ROLLUP, {"after": after, "upto": upto})
