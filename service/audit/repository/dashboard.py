"""The dashboard's figures: net credits by period, behaviour type and community in one grouping-sets
query, residents registered by a day, and the communities' names."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Row, TextClause, text

from service.accounts import scope
from service.db import ReadSession

# The credited grams of behaviours that happened in [start, end): the district's, by the local days'
# range; one community's, from its residents (ix_accounts_resident_community_id_id) through each one's
# behaviours by time (ix_ingest_behaviour_resident_id_occurred_at; the bounds a day wider than the local
# days, which are Asia/Shanghai's) to their transfers (ix_ledger_transfer_behaviour_id),
# rather than every behaviour of the range.
_DISTRICT = """
        SELECT b.id AS behaviour_id, b.resident_id, b.behaviour_type, b.local_date, r.community_id,
               CASE WHEN t.kind = 'issuance' THEN t.amount ELSE -t.amount END AS grams
          FROM ledger_transfer t
          JOIN ingest_behaviour b ON b.id = t.behaviour_id
          JOIN accounts_resident r ON r.id = b.resident_id
         WHERE t.kind IN ('issuance', 'reversal') AND b.local_date >= :start AND b.local_date < :end
"""
_COMMUNITY = """
        SELECT b.id AS behaviour_id, b.resident_id, b.behaviour_type, b.local_date, r.community_id,
               CASE WHEN t.kind = 'issuance' THEN t.amount ELSE -t.amount END AS grams
          FROM accounts_resident r
          JOIN ingest_behaviour b ON b.resident_id = r.id
          JOIN ledger_transfer t ON t.behaviour_id = b.id
         WHERE r.community_id = :scope_community_id
           AND b.occurred_at >= CAST(CAST(:start AS date) - 1 AS timestamp) AT TIME ZONE 'Asia/Shanghai'
           AND b.occurred_at < CAST(CAST(:end AS date) + 1 AS timestamp) AT TIME ZONE 'Asia/Shanghai'
           AND t.kind IN ('issuance', 'reversal') AND b.local_date >= :start AND b.local_date < :end
"""


def _figures_sql(credited: str) -> TextClause:
    return text(
        f"""
    WITH credited AS ({credited})
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
    """  # noqa: S608 -- one of two constant texts; every value is bound
    )


_FIGURES = {False: _figures_sql(_DISTRICT), True: _figures_sql(_COMMUNITY)}
_REGISTERED = {
    False: text("SELECT count(*) FROM accounts_resident WHERE deleted_at IS NULL AND created_at < :end"),
    True: text(
        "SELECT count(*) FROM accounts_resident"
        " WHERE community_id = :scope_community_id AND deleted_at IS NULL AND created_at < :end"
    ),
}
_COMMUNITIES = text("SELECT id, name_zh, name_en FROM accounts_community")


async def figures(
    session: ReadSession, *, start: date, end: date, unit: str, community_id: int | None
) -> Sequence[Row[Any]]:
    """One row per period, behaviour type and community, and one for the whole range (`section` says
    which), for local days in [start, end), of the whole district or of one community's residents;
    `unit` is `day` or `month`."""
    values = {"start": start, "end": end, "unit": unit, **scope.params(community_id)}
    return (await session.execute(_FIGURES[community_id is not None], values)).all()


async def communities(session: ReadSession) -> dict[int, Row[Any]]:
    """Every community by id, with its names."""
    return {row.id: row for row in await session.execute(_COMMUNITIES)}


async def registered_residents(session: ReadSession, *, end: date, community_id: int | None) -> int:
    """Residents (of one community, if given) registered before `end` and not erased."""
    values = {"end": end, **scope.params(community_id)}
    return int(await session.scalar(_REGISTERED[community_id is not None], values) or 0)
