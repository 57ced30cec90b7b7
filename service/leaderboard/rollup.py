"""The roll-up: ledger entries become leaderboard scores, off the hot path.

Recording writes no leaderboard row, so a busy community never serialises recording. One background
task per deployment (leader-elected by an advisory lock) folds new ledger entries into scores every
second or so, in entry-id order, in chunks:

1. read the entry-id sequence (the horizon), then take a snapshot and wait for the transactions it
   lists as running: once they end, every entry at or below the horizon is committed or gone for good,
   so nothing can appear later below the mark;
2. in one transaction: apply queued community, organisation and visibility changes; add each resident's
   issuance and reversal amounts to the scores of every period and category they fall in (by the
   behaviour's local date, so a reversal leaves the board it was credited to); keep the bucket tallies
   and group totals in step; advance the mark. Each score is read once, before it is written: its new
   value and the tallies' steps come from that reading plus its delta, and an existing score is updated
   where the reading found it (by row address), not looked up again. That is sound only because the
   roll-up is the one writer of scores (the lock below), and it saves an index probe and a row lock per
   score; a score is new when the reading found none.

A resident's own standing adds the entries above the mark live, so their own credits show at once.

While recording is busy the roll-up takes at most a share of the time (BUSY_SHARE), as autovacuum's cost
delay does: a pass that took d seconds while new entries kept arriving is followed by a pause of at least
d × (1 − share) / share. A burst of partner batches is then answered at the ledger's pace and the boards
catch up after it, in larger passes (each resident's score rows written once for all their new entries);
once recording is quiet, a backlog is rolled up without pause. A pass of ordinary traffic takes well
under a second, so the pause stays the interval and the boards' freshness is unchanged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import text

from service.db import Database
from service.leaderboard.boards import ALL_TIME_START, CATEGORY_OF
from service.ledger.horizon import last_id, settled_horizon

logger = logging.getLogger(__name__)

LOCK_KEY = 0x7470_6C62  # "tplb": one roll-up at a time across all workers and hosts
CHUNK_ENTRIES = 50_000
BUSY_SHARE = 1 / 3
# Registered residents per group change slowly; counting them is a pass over every resident.
SIZES_EVERY = timedelta(minutes=5)

# The leaderboard's codes are enum types (migration 0016): a code written as text here is cast to its type.
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
    """


CHANGES_SQL = text(
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
    """
)

# The entries a board counts, each with the behaviour (`b`) behind it: issuances, and reversals, which
# carry the behaviour of the issuance they take back and count against it. The roll-up and a resident's live standing
# both read through this.
SCORED_ENTRIES = """
    ledger_entry e
    JOIN ledger_transfer t ON t.id = e.transfer_id AND t.kind IN ('issuance', 'reversal')
    JOIN ingest_behaviour b ON b.id = t.behaviour_id
"""

ROLLUP_SQL = text(
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
    """
)

# For the rest of the pass's transaction. A pass reads and writes a few thousand rows of tables that
# only grow, by key: index lookups are the right plan at any size. While the tables are small the planner
# would rather scan the scores, transfers, accounts and residents whole every pass and hash them (measured
# slower, and more so as they grow); on large tables the estimate passes jit_above_cost and each pass
# would compile the statement first, for tens of milliseconds.
# The sort that sums a chunk's deltas per score (ten a credited entry) spills to disk at the default work_mem
# once a chunk passes a few thousand entries; 64 MB holds the largest chunk in memory.
ROLLUP_PLAN = text(
    "SELECT set_config('enable_seqscan', 'off', true), set_config('enable_hashjoin', 'off', true),"
    " set_config('enable_mergejoin', 'off', true), set_config('jit', 'off', true),"
    " set_config('work_mem', '64MB', true)"
)

SIZES_SQL = (
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


@dataclass(frozen=True, slots=True)
class Rolled:
    """One step's result: `behind` is true when more entries wait than one chunk took; `recording` when
    new entries arrived while the step ran."""

    rolled: bool
    upto: int
    behind: bool
    recording: bool = False


async def run_once(db: Database, *, settle_s: float = 2.0, refresh_sizes: bool = False) -> Rolled:
    """Roll up at most one chunk of new entries, and whatever profile changes are queued. Only the
    leader does anything; the others return at once."""
    async with db.engine.begin() as connection:
        if not await connection.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK_KEY}):
            return Rolled(rolled=False, upto=0, behind=False)
        # Before this transaction writes anything it has no transaction id, so it waits on no one's
        # snapshot, its own included.
        horizon = await settled_horizon(connection, settle_s)
        await connection.execute(CHANGES_SQL)
        state = (
            await connection.execute(
                text(
                    "SELECT rolled_entry_id, sizes_at IS NULL OR sizes_at < now() - CAST(:every AS interval) "
                    "FROM leaderboard_state WHERE id = 1"
                ),
                {"every": SIZES_EVERY},
            )
        ).one()
        after, sizes_due = int(state[0]), bool(state[1])
        if refresh_sizes or sizes_due:
            for statement in SIZES_SQL:
                await connection.execute(statement)
        upto = after if horizon is None else min(horizon, after + CHUNK_ENTRIES)
        if upto > after:
            await connection.execute(ROLLUP_PLAN)
            await connection.execute(ROLLUP_SQL, {"after": after, "upto": upto})
        recording = horizon is not None and await last_id(connection) > horizon
    return Rolled(rolled=upto > after, upto=upto, behind=horizon is not None and horizon > upto, recording=recording)


def pause_after(step: Rolled, took_s: float, interval_s: float) -> float:
    """Seconds to wait before the next step: none while behind a quiet ledger, at least the interval
    otherwise, and while recording goes on long enough that the roll-up keeps to BUSY_SHARE of the time."""
    if not step.recording:
        return 0.0 if step.behind else interval_s
    return max(interval_s, took_s * (1 - BUSY_SHARE) / BUSY_SHARE)
