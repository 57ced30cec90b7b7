"""Credited behaviours of a span of local days, grouped by what their credit depends on, for the what-if of
a factor draft."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, text

from service.db import ReadSession

# A month of groups fits in memory: hashing them there is several times faster than sorting them on disk.
_WORK_MEM = text("SET LOCAL work_mem = '64MB'")
_BOUNDS = text("SELECT min(id) AS low, max(id) AS high FROM ingest_behaviour")
_FIRST_AT_OR_AFTER = text("SELECT id, created_at FROM ingest_behaviour WHERE id >= :id ORDER BY id LIMIT 1")

# One row per (type, category, tier, version, reduction, quantity): the conversion of a group is the same
# for each of its behaviours, so a month of a district's ledger becomes a few thousand rows.
_GROUPS = text(
    """
    SELECT behaviour_type, category, tier, factor_version_id, reduction_g_per_unit, quantity,
           count(*) AS behaviours, sum(credited_g)::bigint AS issued_g, sum(grams)::bigint AS grams
      FROM ingest_behaviour
     WHERE id >= :first_id AND local_date >= :start AND local_date < :end AND status IN ('credited', 'capped')
     GROUP BY behaviour_type, category, tier, factor_version_id, reduction_g_per_unit, quantity
    """
)


async def first_id_created_since(session: ReadSession, since: datetime) -> int | None:
    """The first behaviour id stored at or after `since`, by bisection over the primary key (ids are given in
    the order rows are stored); None when none was. About forty index probes instead of a scan of the table."""
    bounds = (await session.execute(_BOUNDS)).one()
    if bounds.high is None:
        return None
    low, high = int(bounds.low), int(bounds.high) + 1
    while low < high:
        middle = (low + high) // 2
        row = (await session.execute(_FIRST_AT_OR_AFTER, {"id": middle})).one_or_none()
        if row is None or row.created_at >= since:
            high = middle
        else:
            low = int(row.id) + 1
    return low


async def credited_groups(session: ReadSession, *, first_id: int, start: date, end: date) -> Sequence[Row[Any]]:
    """Credited behaviours of local days [start, end), stored from `first_id` on, grouped."""
    await session.execute(_WORK_MEM)
    return (await session.execute(_GROUPS, {"first_id": first_id, "start": start, "end": end})).all()
