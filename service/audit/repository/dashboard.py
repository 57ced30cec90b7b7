"""The dashboard's figures: net credits by period, behaviour type and community in one grouping-sets
query, residents registered by a day, and the communities' names."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Row, text

from service.db import ReadSession

_FIGURES = text(
    """
    WITH credited AS (
        SELECT b.id AS behaviour_id, b.resident_id, b.behaviour_type, b.local_date, r.community_id,
               CASE WHEN t.kind = 'issuance' THEN t.amount ELSE -t.amount END AS grams
          FROM ledger_transfer t
          JOIN ingest_behaviour b ON b.id = t.behaviour_id
          JOIN accounts_resident r ON r.id = b.resident_id
         WHERE t.kind IN ('issuance', 'reversal') AND b.local_date >= :start AND b.local_date < :end
    )
    SELECT CASE WHEN GROUPING(c.period) = 0 THEN 'period'
                WHEN GROUPING(c.behaviour_type) = 0 THEN 'behaviour'
                WHEN GROUPING(c.community_id) = 0 THEN 'community'
                ELSE 'total' END AS section,
           c.period, c.behaviour_type, c.community_id,
           coalesce(sum(c.grams), 0)::bigint AS credited_g,
           count(DISTINCT c.behaviour_id) AS behaviours,
           count(DISTINCT c.resident_id) AS active_residents
      FROM (SELECT *, date_trunc(:unit, local_date)::date AS period FROM credited) c
     GROUP BY GROUPING SETS ((c.period), (c.behaviour_type), (c.community_id), ())
     ORDER BY section, c.period, c.behaviour_type, c.community_id
    """
)
_REGISTERED = text("SELECT count(*) FROM accounts_resident WHERE deleted_at IS NULL AND created_at < :end")
_COMMUNITIES = text("SELECT id, name_zh, name_en FROM accounts_community")


async def figures(session: ReadSession, *, start: date, end: date, unit: str) -> Sequence[Row[Any]]:
    """One row per period, behaviour type and community, and one for the whole range (`section` says
    which), for local days in [start, end); `unit` is `day` or `month`."""
    return (await session.execute(_FIGURES, {"start": start, "end": end, "unit": unit})).all()


async def communities(session: ReadSession) -> dict[int, Row[Any]]:
    """Every community by id, with its names."""
    return {row.id: row for row in await session.execute(_COMMUNITIES)}


async def registered_residents(session: ReadSession, *, end: date) -> int:
    """Residents registered before `end` and not erased."""
    return int(await session.scalar(_REGISTERED, {"end": end}) or 0)
