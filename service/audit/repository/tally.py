"""The dashboard's tallies: the roll-up's statement, and the figures read from the tallies plus the
transfers above their mark."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from service.db import ReadSession

# What one issuance or reversal adds: by the behaviour's local day, the resident's community (0: none) and
# the behaviour type, its grams (negative for a reversal) and its behaviour (an issuance's only).
_COLUMNS = """
    SELECT b.local_date, coalesce(b.community_id, 0) AS community_id, b.behaviour_type, b.resident_id,
           CASE WHEN t.kind = 'issuance' THEN t.amount ELSE -t.amount END AS grams,
           (t.kind = 'issuance')::int AS behaviours
"""
_BEHAVIOUR = (
    "SELECT b.id, b.local_date, b.behaviour_type, b.resident_id, r.community_id FROM ingest_behaviour b"
    " JOIN accounts_resident r ON r.id = b.resident_id"
)

# The transfers in `{where}`, joined set-wise: the roll-up reads a chunk of known bounds.
_MOVED = f"""{_COLUMNS}
      FROM ledger_transfer t
      JOIN ({_BEHAVIOUR}) b ON b.id = t.behaviour_id
     WHERE t.kind IN ('issuance', 'reversal') AND {{where}}
"""

# The transfers above the mark, read row by row through the keys: the planner cannot know how few they
# are (the mark is read in the same statement), and would otherwise hash every resident.
_TAIL = f"""{_COLUMNS}
      FROM ledger_transfer t
     CROSS JOIN LATERAL ({_BEHAVIOUR} WHERE b.id = t.behaviour_id OFFSET 0) b
     WHERE t.id > (SELECT id FROM mark) AND t.kind IN ('issuance', 'reversal')
       AND b.local_date >= :start AND b.local_date < :end {{community}}
"""  # noqa: S608 - module constants only; every value is bound

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
# meanwhile is seen whole or not at all. `{community}` narrows every part to one community. `sums` holds
# grams and behaviours, `people` who was active; each statement below groups them its own way.
_RANGE = "local_date >= :start AND local_date < :end"
_SOURCES = """
    WITH mark AS MATERIALIZED (SELECT rolled_transfer_id AS id FROM audit_tally_state WHERE id = 1),
    tail AS MATERIALIZED ({tail}),
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
    )
"""

# The dashboard: by period (`:unit`, day or month), by behaviour type, by community, and in all.
_BY_PERIOD = """
    , grams AS (
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

# The monthly report: by community and behaviour type, by each alone, and in all (`whole`: the row over
# every community, never taken for residents of none; `all_types`: the row over every type).
_BY_COMMUNITY_AND_TYPE = """
    , grams AS (
        SELECT GROUPING(community_id) = 1 AS whole, GROUPING(behaviour_type) = 1 AS all_types,
               community_id, behaviour_type,
               sum(credited_g)::bigint AS credited_g, sum(behaviours)::bigint AS behaviours
          FROM sums
         GROUP BY GROUPING SETS ((community_id, behaviour_type), (community_id), (behaviour_type), ())
    ), active AS (
        SELECT GROUPING(community_id) = 1 AS whole, GROUPING(behaviour_type) = 1 AS all_types,
               community_id, behaviour_type, count(DISTINCT resident_id) AS active_residents
          FROM people
         GROUP BY GROUPING SETS ((community_id, behaviour_type), (community_id), (behaviour_type), ())
    )
    SELECT g.whole, g.all_types, nullif(g.community_id, 0) AS community_id, g.behaviour_type,
           coalesce(g.credited_g, 0) AS credited_g, coalesce(g.behaviours, 0) AS behaviours,
           coalesce(a.active_residents, 0) AS active_residents
      FROM grams g
      LEFT JOIN active a ON a.whole = g.whole AND a.all_types = g.all_types
           AND a.community_id IS NOT DISTINCT FROM g.community_id
           AND a.behaviour_type IS NOT DISTINCT FROM g.behaviour_type
"""


def _grouped(grouping: str, *, community: bool) -> Any:
    tail = _TAIL.format(community="AND coalesce(b.community_id, 0) = :community" if community else "")
    narrow = "AND community_id = :community" if community else ""
    return text(_SOURCES.format(tail=tail, range=_RANGE, community=narrow) + grouping)


# by grouping, then by whether one community's
_STATEMENTS = {
    grouping: {one: _grouped(grouping, community=one) for one in (False, True)}
    for grouping in (_BY_PERIOD, _BY_COMMUNITY_AND_TYPE)
}
# Counting the distinct residents of a long range sorts millions of rows: in memory, not on disk. The
# tail's estimate (the planner cannot know the mark) would have the query compiled, at a second's cost.
_SETTINGS = text("SELECT set_config('work_mem', '64MB', true), set_config('jit', 'off', true)")


async def mark(connection: AsyncConnection) -> int:
    """The transfer id up to which the tallies hold everything."""
    return int(await connection.scalar(_MARK) or 0)


async def roll_up(connection: AsyncConnection, *, after: int, upto: int) -> None:
    """Add the issuances and reversals of transfers with ids in (after, upto] to the tallies."""
    await connection.execute(_ROLLUP, {"after": after, "upto": upto})


async def _read(
    session: ReadSession, grouping: str, *, start: date, end: date, community_id: int | None, **params: Any
) -> Sequence[Row[Any]]:
    values: dict[str, Any] = {"start": start, "end": end, **params}
    if community_id is not None:
        values["community"] = community_id
    await session.execute(_SETTINGS)
    return (await session.execute(_STATEMENTS[grouping][community_id is not None], values)).all()


async def figures(
    session: ReadSession, *, start: date, end: date, unit: str, community_id: int | None = None
) -> Sequence[Row[Any]]:
    """One row per period, behaviour type and community, and one for the whole range (`section` says
    which), for local days in [start, end); `unit` is `day` or `month`; `community_id` narrows every
    figure to that community's residents."""
    return await _read(session, _BY_PERIOD, start=start, end=end, community_id=community_id, unit=unit)


async def by_community_and_type(
    session: ReadSession, *, start: date, end: date, community_id: int | None = None
) -> Sequence[Row[Any]]:
    """Net credits, behaviours and active residents by community and behaviour type, by each alone, and
    in all (`whole`, `all_types`), for local days in [start, end), of one community if given."""
    return await _read(session, _BY_COMMUNITY_AND_TYPE, start=start, end=end, community_id=community_id)
