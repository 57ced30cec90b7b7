"""The dashboard's roll-up: issuances and reversals become tallies per day, community and behaviour type,
and rows of who was active on which day, off the hot path.

Recording writes no tally row, so no day's figure is a row every recording transaction locks. One
background task per deployment (leader-elected by an advisory lock) folds new transfers in, in id
order, in chunks, up to the settled horizon (service/ledger/horizon.py: nothing can appear below it
later), and advances its mark in the same transaction. The dashboard reads the tallies below the mark
and the transfers above it in one snapshot, so its figures are exact and current whatever the
roll-up's lag. A behaviour counts in its resident's community at the time it is rolled up.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.audit.repository import tally as repository
from service.db import Database, try_xact_lock
from service.ledger.horizon import settled_horizon

LOCK_KEY = 0x7470_6474  # "tpdt": one roll-up at a time across all workers and hosts
CHUNK_TRANSFERS = 50_000


@dataclass(frozen=True, slots=True)
class Rolled:
    """One step's result: `behind` is true when more transfers wait than one chunk took."""

    upto: int
    behind: bool


async def run_once(db: Database, *, settle_s: float = 2.0) -> Rolled:
    """Roll up at most one chunk of new transfers. Only the leader does anything; the others return at once."""
    async with db.engine.begin() as connection:
        if not await try_xact_lock(connection, LOCK_KEY):
            return Rolled(upto=0, behind=False)
        # Before this transaction writes anything it has no transaction id, so it waits on no one's
        # snapshot, its own included.
        horizon = await settled_horizon(connection, settle_s, table="ledger_transfer")
        after = await repository.mark(connection)
        upto = after if horizon is None else min(horizon, after + CHUNK_TRANSFERS)
        if upto > after:
            await repository.roll_up(connection, after=after, upto=upto)
    return Rolled(upto=upto, behind=horizon is not None and horizon > upto)
