"""The dashboard's figures: net credits by period, behaviour type and community in one grouping-sets
query, residents registered by a day, and the communities' names."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Row, text

from service.accounts import scope
from service.db import ReadSession

# `{community}` is empty for the district, or keeps the figures to one community's residents: the one
# condition rides on the district's plan, and the residents it keeps are read by
# ix_accounts_resident_community_id_id.
_FIGURES_TEXT = """
    WITH credited AS (
        SELECT b.id AS behaviour_id, b.resident_id, b.behaviour_type, b.local_date, r.community_id,
               CASE WHEN t.kind = 'issuance' THEN t.amount ELSE -t.amount END AS grams
          FROM ledger_transfer t
          JOIN ingest_behaviour b ON b.id = t.behaviour_id
          JOIN accounts_resident r ON r.id = b.resident_id
         WHERE t.kind IN ('issuance', 'reversal') AND b.local_date >= :start AND b.local_date < :end{community}
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
# by whether the figures are one community's
_FIGURES = {
    False: text(_FIGURES_TEXT.format(community="")),
    True: text(_FIGURES_TEXT.format(community=f"\n           AND r.community_id = :{scope.PARAM}")),
}
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
