"""The dashboard's tallies: the roll-up's statement, and the figures read from the tallies plus the
transfers above their mark."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from service.db import ReadSession

# The issuances and reversals of the transfers in `{where}`: one row each, by the behaviour's local day,
# the resident's community (0: none) and the behaviour type.
_MOVED = """
    SELECT b.local_date, coalesce(r.community_id, 0) AS community_id, b.behaviour_type, b.resident_id,
           CASE WHEN t.kind = 'issuance' THEN t.amount ELSE -t.amount END AS grams,
           (t.kind = 'issuance')::int AS behaviours
      FROM ledger_transfer t
      JOIN ingest_behaviour b ON b.id = t.behaviour_id
      JOIN accounts_resident r ON r.id = b.resident_id
     WHERE t.kind IN ('issuance', 'reversal') AND {where}
"""

# The same for the transfers above the mark, read row by row through the keys: the planner cannot know
# how few they are (the mark is read in the same statement), and would otherwise hash every resident.
_TAIL = """
    SELECT b.local_date, coalesce(b.community_id, 0) AS community_id, b.behaviour_type, b.resident_id,
           CASE WHEN t.kind = 'issuance' THEN t.amount ELSE -t.amount END AS grams,
           (t.kind = 'issuance')::int AS behaviours
      FROM ledger_transfer t
     CROSS JOIN LATERAL (SELECT b.local_date, b.behaviour_type, b.resident_id, r.community_id
                           FROM ingest_behaviour b JOIN accounts_resident r ON r.id = b.resident_id
                          WHERE b.id = t.behaviour_id OFFSET 0) b
     WHERE t.id > (SELECT id FROM mark) AND t.kind IN ('issuance', 'reversal')
       AND b.local_date >= :start AND b.local_date < :end {community}
"""

_LOCK = text("SELECT pg_try_advisory_xact_lock(:key)")
_MARK = text("SELECT rolled_transfer_id FROM audit_tally_state WHERE id = 1")

_ROLLUP = text(
    f"""
    WITH moved AS ({_MOVED.format(where="t.id > :after AND t.id <= :upto")}
    ), tallied AS (
        INSERT INTO audit_day_tally AS x (local_date, community_id, behaviour_type, credited_g, behaviours)
        SELECT local_date, community_id, behaviour_type, sum(grams), sum(behaviours) FROM moved GROUP BY 1, 2, 3
        ON CONFLICT (local_date, community_id, behaviour_type)
        DO UPDATE SET credited_g = x.credited_g + EXCLUDED.credited_g, behaviours = x.behaviours + EXCLUDED.behaviours
    ), active AS (
        INSERT INTO audit_day_activity (local_date, resident_id, behaviour_type, community_id)
        SELECT DISTINCT ON (local_date, resident_id, behaviour_type) local_date, resident_id, behaviour_type,
               community_id
          FROM moved
        ON CONFLICT DO NOTHING
    )
    UPDATE audit_tally_state SET rolled_transfer_id = :upto, rolled_at = now() WHERE id = 1
    """  # noqa: S608 - only a fixed condition goes in; it takes no values
)

# One snapshot reads the mark, the tallies below it and the transfers above it: a roll-up that commits
# meanwhile is seen whole or not at all. `{community}` narrows every part to one community.
_RANGE = "local_date >= :start AND local_date < :end"
_FIGURES = """
    WITH mark AS MATERIALIZED (SELECT rolled_transfer_id AS id FROM audit_tally_state WHERE id = 1),
    tail AS MATERIALIZED ({moved}),
    sums AS (
        SELECT local_date, community_id, behaviour_type, credited_g, behaviours
          FROM audit_day_tally WHERE {range} {community}
        UNION ALL
        SELECT local_date, community_id, behaviour_type, grams, behaviours FROM tail
    ), people AS (
        SELECT local_date, community_id, behaviour_type, resident_id
          FROM audit_day_activity WHERE {range} {community}
        UNION ALL
        SELECT local_date, community_id, behaviour_type, resident_id FROM tail
    ), grams AS (
        SELECT CASE WHEN GROUPING(period) = 0 THEN 'period' WHEN GROUPING(behaviour_type) = 0 THEN 'behaviour'
                    WHEN GROUPING(community_id) = 0 THEN 'community' ELSE 'total' END AS section,
               period, behaviour_type, community_id,
               sum(credited_g)::bigint AS credited_g, sum(behaviours)::bigint AS behaviours
          FROM (SELECT *, date_trunc(:unit, local_date)::date AS period FROM sums) s
         GROUP BY GROUPING SETS ((period), (behaviour_type), (community_id), ())
    ), active AS (
        SELECT CASE WHEN GROUPING(period) = 0 THEN 'period' WHEN GROUPING(behaviour_type) = 0 THEN 'behaviour'
                    WHEN GROUPING(community_id) = 0 THEN 'community' ELSE 'total' END AS section,
               period, behaviour_type, community_id, count(DISTINCT resident_id) AS active_residents
          FROM (SELECT *, date_trunc(:unit, local_date)::date AS period FROM people) p
         GROUP BY GROUPING SETS ((period), (behaviour_type), (community_id), ())
    )
    SELECT g.section, g.period, g.behaviour_type, nullif(g.community_id, 0) AS community_id,
           coalesce(g.credited_g, 0) AS credited_g, coalesce(g.behaviours, 0) AS behaviours,
           coalesce(a.active_residents, 0) AS active_residents
      FROM grams g
      LEFT JOIN active a ON a.section = g.section AND a.period IS NOT DISTINCT FROM g.period
           AND a.behaviour_type IS NOT DISTINCT FROM g.behaviour_type
           AND a.community_id IS NOT DISTINCT FROM g.community_id
     ORDER BY g.section, g.period, g.behaviour_type, g.community_id
"""


def _figures_sql(*, community: bool) -> Any:
    tail = _TAIL.format(community="AND coalesce(b.community_id, 0) = :community" if community else "")
    narrow = "AND community_id = :community" if community else ""
    return text(_FIGURES.format(moved=tail, range=_RANGE, community=narrow))


# Counting the distinct residents of a long range sorts millions of rows: in memory, not on disk. The
# tail's estimate (the planner cannot know the mark) would have the query compiled, at a second's cost.
_SETTINGS = text("SELECT set_config('work_mem', '64MB', true), set_config('jit', 'off', true)")


_FIGURES_ALL = _figures_sql(community=False)
_FIGURES_ONE = _figures_sql(community=True)


async def try_lock(connection: AsyncConnection, *, key: int) -> bool:
    """Take a transaction-level advisory lock if no other session holds it."""
    return bool(await connection.scalar(_LOCK, {"key": key}))


async def mark(connection: AsyncConnection) -> int:
    """The transfer id up to which the tallies hold everything."""
    return int(await connection.scalar(_MARK) or 0)


async def roll_up(connection: AsyncConnection, *, after: int, upto: int) -> None:
    """Add the issuances and reversals of transfers with ids in (after, upto] to the tallies."""
    await connection.execute(_ROLLUP, {"after": after, "upto": upto})


async def figures(
    session: ReadSession, *, start: date, end: date, unit: str, community_id: int | None = None
) -> Sequence[Row[Any]]:
    """One row per period, behaviour type and community, and one for the whole range (`section` says
    which), for local days in [start, end); `unit` is `day` or `month`; `community_id` narrows every
    figure to that community's residents."""
    params: dict[str, Any] = {"start": start, "end": end, "unit": unit}
    await session.execute(_SETTINGS)
    if community_id is None:
        return (await session.execute(_FIGURES_ALL, params)).all()
    return (await session.execute(_FIGURES_ONE, {**params, "community": community_id})).all()
