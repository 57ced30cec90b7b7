"""How far the ledger can be read without anything appearing later below the mark.

Entry ids come from a sequence in the order transactions take them, not the order they commit: a reader
that stopped at the highest id it sees could miss a lower id still being written. The background tasks
that follow the ledger in id order (the leaderboard roll-up, the receipt sealer, the fraud scan, the
expiry job's walk of refunds) read up to the settled
horizon instead: the sequence's value once every transaction that was running when it was read has ended.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection

# The transactions a horizon waits for, as 32-bit xids: those its snapshot lists as running, and the
# newest writers of our own database. A snapshot lists only the running transactions below its xmax,
# which is one past the newest transaction to *finish*: the newest writers, while none after them has
# finished, are in no list, so they are taken from pg_stat_activity (after dropping its cached copy).
_WAIT_FOR_SQL = text(
    """
    SELECT x::xid::text FROM pg_snapshot_xip(pg_current_snapshot()) x
    UNION
    SELECT backend_xid::text FROM pg_stat_activity
     WHERE backend_xid IS NOT NULL AND datname = current_database() AND pid <> pg_backend_pid()
    """
)
# Those still running, as PostgreSQL itself waits for a transaction: by the lock each one holds on its
# own id (a prepared transaction keeps it too). Writers in other databases of the same server are no
# concern of ours.
_RUNNING_SQL = text(
    """
    SELECT x FROM unnest(CAST(:xids AS text[])) x
     WHERE EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'transactionid' AND l.transactionid::text = x)
       AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a
                        WHERE a.backend_xid::text = x AND a.datname IS DISTINCT FROM current_database())
    """
)


def _last_id(sequence: str) -> TextClause:
    """The last id the sequence handed out, committed or not."""
    return text(f"SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {sequence}")  # noqa: S608


ENTRY_SEQUENCE_SQL = _last_id("ledger_entry_id_seq")
_SEQUENCES = {
    "ledger_entry": ENTRY_SEQUENCE_SQL,
    "ingest_behaviour": _last_id("ingest_behaviour_id_seq"),
    "ledger_lot_move": _last_id("ledger_lot_move_id_seq"),
}


async def settled_horizon(connection: AsyncConnection, settle_s: float, table: str = "ledger_entry") -> int | None:
    """The highest id of `table` every one of whose predecessors is now committed or aborted; None when a
    transaction that could still write below it runs on past `settle_s`."""
    horizon = await connection.scalar(_SEQUENCES[table])
    await connection.execute(text("SELECT pg_stat_clear_snapshot()"))
    running = list(await connection.scalars(_WAIT_FOR_SQL))
    deadline = asyncio.get_running_loop().time() + settle_s
    while running:
        running = list(await connection.scalars(_RUNNING_SQL, {"xids": running}))
        if running:
            if asyncio.get_running_loop().time() > deadline:
                return None
            await asyncio.sleep(0.01)
    return int(horizon or 0)
