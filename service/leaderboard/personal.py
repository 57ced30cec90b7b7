"""A deleted resident's leaderboard rows, for the privacy domain's erasure (`erase`).

The resident's amounts stay in the group totals (they are the ledger's), but their own score rows go.
Scores have one writer at a time, so the erasure waits for the roll-up's lock, applies the queued profile
changes as the roll-up would (the erased profile is invisible, so its scores leave every tally), then
deletes the rows."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from service.leaderboard.repository import personal
from service.leaderboard.repository import rollup as rollup_repository
from service.leaderboard.rollup import LOCK_KEY


async def erase(session: AsyncSession, *, resident_id: int) -> dict[str, int]:
    """Delete the resident's score rows, after taking them out of the tallies; how many went."""
    connection = await session.connection()
    await personal.lock(connection, key=LOCK_KEY)
    await rollup_repository.apply_profile_changes(connection)
    return {"leaderboard_scores": await personal.delete_scores_of(connection, resident_id)}
