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

# Transactions of this snapshot still running that could write this database's ledger: those of our
# own database's backends and any the server does not attribute (a prepared transaction, say). Writers in
# other databases of the same server are no concern of ours.
_RUNNING_SQL = text(
    """
    SELECT x FROM unnest(CAST(:xids AS text[])) x
     WHERE pg_xact_status(x::xid8) = 'in progress'
       AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a
                        WHERE a.backend_xid = x::xid8::xid AND a.datname IS DISTINCT FROM current_database())
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
# Transactions of our own database that hold an id now (other than this one's), as 32-bit xids.
_NEWEST_SQL = text(
    """
    SELECT backend_xid::text FROM pg_stat_activity
     WHERE backend_xid IS NOT NULL AND datname = current_database() AND pid <> pg_backend_pid()
    """
)
_STILL_LOCKED_SQL = text(
    """
    SELECT x FROM unnest(CAST(:xids AS text[])) x
     WHERE EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'transactionid' AND l.transactionid::text = x)
    """
)


async def settled_horizon(connection: AsyncConnection, settle_s: float, table: str = "ledger_entry") -> int | None:
    """The highest id of `table` every one of whose predecessors is now committed or aborted; None when a
    transaction that could still write below it runs on past `settle_s`."""
    horizon = await connection.scalar(_SEQUENCES[table])
    running = list(await connection.scalars(text("SELECT pg_snapshot_xip(pg_current_snapshot())::text")))
    # A snapshot lists only the running transactions below its xmax, which is one past the newest
    # transaction to *finish*: the newest writers, while none after them has finished, are in no list.
    # Each running transaction holds a lock on its own id, so those are found among the locks.
    await connection.execute(text("SELECT pg_stat_clear_snapshot()"))
    newest = list(await connection.scalars(_NEWEST_SQL))
    deadline = asyncio.get_running_loop().time() + settle_s
    while running or newest:
        if running:
            running = list(await connection.scalars(_RUNNING_SQL, {"xids": running}))
        if newest:
            newest = list(await connection.scalars(_STILL_LOCKED_SQL, {"xids": newest}))
        if running or newest:
            if asyncio.get_running_loop().time() > deadline:
                return None
            await asyncio.sleep(0.01)
    return int(horizon or 0)
