"""The leaderboard's SQL for a deleted resident: their score rows go, after the tallies have let them go."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from service.leaderboard.tables import resident_change, score


async def lock(connection: AsyncConnection, *, key: int) -> None:
    """Wait for the roll-up's lock and hold it until the transaction ends: scores have one writer at a time."""
    await connection.execute(select(func.pg_advisory_xact_lock(key)))


async def delete_scores_of(connection: AsyncConnection, resident_id: int) -> int:
    result = await connection.execute(delete(score).where(score.c.resident_id == resident_id))
    await connection.execute(delete(resident_change).where(resident_change.c.resident_id == resident_id))
    return int(result.rowcount)
