"""The hot path's one round trip: hand prepared behaviours to ingest_record_batch() (migration 0002).

Called as one statement on a plain asyncpg connection (Database.statement_connection: the statement
is its own transaction), for a partner's batch or for the residents' reports a worker gathered
(service/ingest/gathering.py), that function first takes the records' rate-limit steps, then locks the
batch's budget slots and then its residents' accounts, each in sorted order (one global order, so
concurrent batches cannot deadlock). Then one statement answers a known
idempotency key with the stored result, refuses a resident's report that overlaps a trip already
recorded, applies the daily and yearly caps and the platform budget as running sums in record order,
inserts the behaviours, and for each credit writes the issuance transfer, its two entries, the new
balance and the cap usage. Nothing here reads factors from the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any, NamedTuple

import asyncpg
import orjson
from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

# Sent straight through asyncpg, which prepares it once per connection. p_rate_key (the whole call as one
# request of a key) stays NULL: each record names its own key (migration 0013).
RECORD_SQL = """
    SELECT ord, outcome, behaviour_id, status, credited_g, capped_g, cap_reason, balance_after, content_sha256,
           related_id, retry_after
      FROM ingest_record_batch($1::jsonb, $2, $3, $4::bigint[], $5, $6, NULL, $7::interval, $8::interval)
"""


class Recorded(NamedTuple):
    """One row of ingest_record_batch(): what became of one record. Which of the other columns are set
    depends on the outcome (retry_after only for rate_limited, related_id only for duplicate_trip, ...),
    so they are typed as loosely as the row is."""

    ord: int
    outcome: str
    behaviour_id: Any
    status: Any
    credited_g: Any
    capped_g: Any
    cap_reason: Any
    balance_after: Any
    content_sha256: Any
    related_id: Any
    retry_after: Any


REVIEW_SQL = text(
    """
    SELECT * FROM ingest_review(:behaviour_id, :approve, :actor, :reason, CAST(:issuance AS bigint[]), :today, :budget)
    """
)


async def record(
    connection: asyncpg.Connection,
    *,
    records: Sequence[dict[str, Any]],
    source: str,
    partner_id: int | None,
    issuance_accounts: Sequence[int],
    today: date,
    budget_g: int | None,
    rate_per_minute: int | None = None,
) -> list[Recorded]:
    """`rate_per_minute` limits each record that carries a `rate_key`: a record over its key's limit is
    answered `rate_limited` and the others are recorded (migration 0013)."""
    interval = timedelta(minutes=1) / rate_per_minute if rate_per_minute else None
    rows = await connection.fetch(
        RECORD_SQL,
        orjson.dumps(records).decode(),
        source,
        partner_id,
        list(issuance_accounts),
        today,
        budget_g,
        interval,
        timedelta(minutes=1) if interval else None,
    )
    return [Recorded(*row) for row in rows]


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
