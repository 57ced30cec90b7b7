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

# The transactions a horizon waits for, as full (64-bit) transaction ids: those its snapshot lists as
# running, and the newest writers of our own database. A snapshot lists only the running transactions
# below its xmax, which is one past the newest transaction to *finish*: the newest writers, while none
# after them has finished, are in no list, so they are taken from pg_stat_activity (after dropping its
# cached copy), whose 32-bit ids are widened by the epoch of the snapshot's xmax (a running transaction's
# id is within 2^31 of it). Writers in other databases of the same server are no concern of ours: they
# are left out here, once.
_WAIT_FOR_SQL = text(
    """
    WITH s AS (SELECT pg_current_snapshot() AS snap),
    horizon AS (SELECT pg_snapshot_xmax(snap)::text::bigint AS xmax FROM s),
    newest AS (
        SELECT w.xid + CASE WHEN w.xid - h.xmax > 2147483648 THEN -4294967296
                            WHEN h.xmax - w.xid > 2147483648 THEN 4294967296 ELSE 0 END AS xid
          FROM horizon h CROSS JOIN pg_stat_activity a
         CROSS JOIN LATERAL (SELECT (h.xmax & -4294967296) + a.backend_xid::text::bigint AS xid) w
         WHERE a.backend_xid IS NOT NULL AND a.datname = current_database() AND a.pid <> pg_backend_pid()
    ), running AS (
        SELECT x::text::bigint AS xid FROM s, pg_snapshot_xip(s.snap) x
        UNION
        SELECT xid FROM newest
    )
    SELECT r.xid FROM running r
     WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity a
                        WHERE a.backend_xid::text::bigint = r.xid & 4294967295
                          AND a.datname IS DISTINCT FROM current_database())
    """
)
# Those still running, as the server's own table of running transactions says (a prepared transaction
# stays in it). Asked every 10 ms while a long transaction runs: a lookup per id, where reading pg_locks
# would copy the server's whole lock table each time.
_RUNNING_SQL = text(
    "SELECT x FROM unnest(CAST(:xids AS bigint[])) x WHERE pg_xact_status(x::text::xid8) = 'in progress'"
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
