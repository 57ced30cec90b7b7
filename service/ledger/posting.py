"""The hot path's one round trip: hand prepared behaviours to ingest_record_batch() (migration 0002).

Called as one statement (on the autocommit connection recording uses, its own transaction), that
function first locks the batch's budget slots and then its residents' accounts, each in sorted order
(one global order, so concurrent batches cannot deadlock). Then one statement answers a known
idempotency key with the stored result, refuses a resident's report that overlaps a trip already
recorded, applies the daily and yearly caps and the platform budget as running sums in record order,
inserts the behaviours, and for each credit writes the issuance transfer, its two entries, the new
balance and the cap usage. Nothing here reads factors from the database.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

RECORD_SQL = text(
    """
    SELECT * FROM ingest_record_batch(
        CAST(:records AS jsonb), :source, :partner_id, CAST(:issuance AS bigint[]), :today, :budget,
        :rate_key, CAST(:rate_interval AS interval), CAST(:rate_burst AS interval))
    """
)

REVIEW_SQL = text(
    """
    SELECT * FROM ingest_review(:behaviour_id, :approve, :actor, :reason, CAST(:issuance AS bigint[]), :today, :budget)
    """
)


async def record(
    session: AsyncConnection | AsyncSession,
    *,
    records: Sequence[dict[str, Any]],
    source: str,
    partner_id: int | None,
    issuance_accounts: Sequence[int],
    today: date,
    budget_g: int | None,
    rate_key: str | None = None,
    rate_per_minute: int | None = None,
) -> Sequence[Row[Any]]:
    interval = timedelta(minutes=1) / rate_per_minute if rate_key and rate_per_minute else None
    result = await session.execute(
        RECORD_SQL,
        {
            "records": json.dumps(records, separators=(",", ":")),
            "source": source,
            "partner_id": partner_id,
            "issuance": list(issuance_accounts),
            "today": today,
            "budget": budget_g,
            "rate_key": rate_key if interval else None,
            "rate_interval": interval,
            "rate_burst": timedelta(minutes=1) if interval else None,
        },
    )
    return result.all()


async def review(
    session: AsyncSession,
    *,
    behaviour_id: int,
    approve: bool,
    actor: str,
    reason: str,
    issuance_accounts: Sequence[int],
    today: date,
    budget_g: int | None,
) -> Row[Any]:
    result = await session.execute(
        REVIEW_SQL,
        {
            "behaviour_id": behaviour_id,
            "approve": approve,
            "actor": actor,
            "reason": reason,
            "issuance": list(issuance_accounts),
            "today": today,
            "budget": budget_g,
        },
    )
    return result.one()
