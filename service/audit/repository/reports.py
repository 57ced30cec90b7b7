"""The monthly report's figures other than credits (those come from the dashboard's tallies, tally.py),
each query bounded by the month: transfers by when they were written (BRIN on created_at), reviews and
flags by when they were made (indexes on reviewed_at, raised_at, resolved_at). `communities` is None
for every community, or the ids the figures are limited to. Every section's rows carry `whole`: true on
the row of the total over communities, so that it is never taken for residents without a community."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, text

from service.db import ReadSession

# the condition every section puts on the resident's community
_IN_SCOPE = "(CAST(:communities AS bigint[]) IS NULL OR r.community_id = ANY(CAST(:communities AS bigint[])))"

_REDEEMED = text(
    f"""
    SELECT GROUPING(r.community_id) = 1 AS whole, r.community_id,
           sum(CASE WHEN t.kind = 'redemption' THEN t.amount ELSE -t.amount END)::bigint AS redeemed_g
      FROM ledger_transfer t
      JOIN ledger_account a
        ON a.id = CASE WHEN t.kind = 'redemption' THEN t.debit_account_id ELSE t.credit_account_id END
      JOIN accounts_resident r ON r.id = a.resident_id
     WHERE t.kind IN ('redemption', 'refund') AND t.created_at >= :since AND t.created_at < :until AND {_IN_SCOPE}
     GROUP BY ROLLUP (r.community_id)
    """  # noqa: S608 -- a module constant; every value is bound
)
_RETIRED = text(
    """
    SELECT coalesce(sum(t.amount), 0)::bigint
      FROM ledger_transfer t
     WHERE t.kind = 'retirement' AND t.created_at >= :since AND t.created_at < :until
    """
)
_REVIEWS = text(
    f"""
    SELECT GROUPING(r.community_id) = 1 AS whole, r.community_id,
           count(*) FILTER (WHERE b.status <> 'rejected') AS approved,
           count(*) FILTER (WHERE b.status = 'rejected') AS rejected
      FROM ingest_behaviour b
      JOIN accounts_resident r ON r.id = b.resident_id
     WHERE b.reviewed_at >= :since AND b.reviewed_at < :until AND {_IN_SCOPE}
     GROUP BY ROLLUP (r.community_id)
    """  # noqa: S608 -- a module constant; every value is bound
)
# A flag about no resident (a shared device) counts towards the district only: its community is -1.
_FLAGS = text(
    """
    SELECT GROUPING(f.community_id) = 1 AS whole, f.community_id,
           count(*) FILTER (WHERE f.raised_at >= :since AND f.raised_at < :until) AS raised,
           count(*) FILTER (WHERE f.resolution = 'confirmed'
                              AND f.resolved_at >= :since AND f.resolved_at < :until) AS confirmed
      FROM (SELECT CASE WHEN g.resident_id IS NULL THEN -1 ELSE r.community_id END AS community_id,
                   g.raised_at, g.resolution, g.resolved_at
              FROM ingest_flag g
              LEFT JOIN accounts_resident r ON r.id = g.resident_id
             WHERE ((g.raised_at >= :since AND g.raised_at < :until)
                    OR (g.resolved_at >= :since AND g.resolved_at < :until))
               AND (CAST(:communities AS bigint[]) IS NULL OR r.community_id = ANY(CAST(:communities AS bigint[])))) f
     GROUP BY ROLLUP (f.community_id)
    """
)


async def redeemed(
    session: ReadSession, *, since: datetime, until: datetime, communities: Sequence[int] | None
) -> Sequence[Row[Any]]:
    """Grams residents redeemed, less those refunded for cancelled vouchers, by community and in all."""
    params = {"since": since, "until": until, "communities": _ids(communities)}
    return (await session.execute(_REDEEMED, params)).all()


async def retired(session: ReadSession, *, since: datetime, until: datetime) -> int:
    """Grams enterprises retired: the district's only, as a retirement names no resident."""
    return int(await session.scalar(_RETIRED, {"since": since, "until": until}) or 0)


async def reviews(
    session: ReadSession, *, since: datetime, until: datetime, communities: Sequence[int] | None
) -> Sequence[Row[Any]]:
    """Held reports decided, approved and rejected, by community and in all."""
    params = {"since": since, "until": until, "communities": _ids(communities)}
    return (await session.execute(_REVIEWS, params)).all()


async def flags(
    session: ReadSession, *, since: datetime, until: datetime, communities: Sequence[int] | None
) -> Sequence[Row[Any]]:
    """Flags raised, and flags confirmed, by the flagged resident's community and in all."""
    params = {"since": since, "until": until, "communities": _ids(communities)}
    return (await session.execute(_FLAGS, params)).all()


def _ids(communities: Sequence[int] | None) -> list[int] | None:
    return None if communities is None else list(communities)
