"""The roll-up: ledger entries become leaderboard scores, off the hot path.

Recording writes no leaderboard row, so a busy community never serialises recording. One background
task per deployment (leader-elected by an advisory lock) folds new ledger entries into scores every
second or so, in entry-id order, in chunks:

1. read the entry-id sequence (the horizon), then take a snapshot and wait for the transactions it
   lists as running: once they end, every entry at or below the horizon is committed or gone for good,
   so nothing can appear later below the mark;
2. in one transaction: apply queued community, organisation and visibility changes; add each resident's
   issuance and reversal amounts to the scores of every period and category they fall in (by the
   behaviour's local date, so a reversal leaves the board it was credited to); keep the bucket tallies
   and group totals in step; advance the mark. Each score is read once, before it is written: its new
   value and the tallies' steps come from that reading plus its delta, and an existing score is updated
   where the reading found it (by row address), not looked up again. That is sound only because the
   roll-up is the one writer of scores (the lock below), and it saves an index probe and a row lock per
   score; a score is new when the reading found none.

A resident's own standing adds the entries above the mark live, so their own credits show at once.

While recording is busy the roll-up takes at most a share of the time (BUSY_SHARE), as autovacuum's cost
delay does: a pass that took d seconds while new entries kept arriving is followed by a pause of at least
d × (1 − share) / share. A burst of partner batches is then answered at the ledger's pace and the boards
catch up after it, in larger passes (each resident's score rows written once for all their new entries);
once recording is quiet, a backlog is rolled up without pause. A pass of ordinary traffic is far shorter
than the interval, so its pause is the interval.

The statements are in repository/rollup.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from service.db import Database, try_xact_lock
from service.leaderboard.repository import rollup as repository
from service.ledger.horizon import last_id, settled_horizon

LOCK_KEY = 0x7470_6C62  # "tplb": one roll-up at a time across all workers and hosts
CHUNK_ENTRIES = 50_000
BUSY_SHARE = 1 / 3
# Registered residents per group change slowly; counting them is a pass over every resident.
SIZES_EVERY = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Rolled:
    """One step's result: `behind` is true when more entries wait than one chunk took; `recording` when
    new entries arrived while the step ran."""

    rolled: bool
    upto: int
    behind: bool
    recording: bool = False


async def run_once(db: Database, *, settle_s: float = 2.0, refresh_sizes: bool = False) -> Rolled:
    """Roll up at most one chunk of new entries, and whatever profile changes are queued. Only the
    leader does anything; the others return at once."""
    async with db.engine.begin() as connection:
        if not await try_xact_lock(connection, LOCK_KEY):
            return Rolled(rolled=False, upto=0, behind=False)
        # Before this transaction writes anything it has no transaction id, so it waits on no one's
        # snapshot, its own included.
        horizon = await settled_horizon(connection, settle_s)
        await repository.apply_profile_changes(connection)
        after, sizes_due = await repository.marks(connection, sizes_every=SIZES_EVERY)
        if refresh_sizes or sizes_due:
            await repository.count_group_sizes(connection)
        upto = after if horizon is None else min(horizon, after + CHUNK_ENTRIES)
        if upto > after:
            await repository.add_entries(connection, after=after, upto=upto)
        recording = horizon is not None and await last_id(connection) > horizon
    return Rolled(rolled=upto > after, upto=upto, behind=horizon is not None and horizon > upto, recording=recording)


def pause_after(step: Rolled, took_s: float, interval_s: float) -> float:
    """Seconds to wait before the next step: none while behind a quiet ledger, at least the interval
    otherwise, and while recording goes on long enough that the roll-up keeps to BUSY_SHARE of the time."""
    if not step.recording:
        return 0.0 if step.behind else interval_s
    return max(interval_s, took_s * (1 - BUSY_SHARE) / BUSY_SHARE)
