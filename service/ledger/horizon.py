"""How far a table can be read in id order without anything appearing later below the mark.

Ids come from a sequence in the order transactions take them, not the order they commit: a reader that
stopped at the highest id it sees could miss a lower id still being written. The background tasks that
follow a table in id order (the leaderboard roll-up, the receipt sealer, the fraud scan, the expiry job's
walk of refunds) read up to the settled horizon instead: the sequence's value once every transaction
that was running when it was read has ended.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncConnection

from service.ledger import repository

# How often the horizon asks whether the transactions it waits for have ended.
POLL_S = 0.01


async def settled_horizon(connection: AsyncConnection, settle_s: float, table: str = "ledger_entry") -> int | None:
    """The highest id of `table` every one of whose predecessors is now committed or aborted; None when a
    transaction that could still write below it runs on past `settle_s`."""
    horizons = await settled_horizons(connection, settle_s, (table,))
    return None if horizons is None else horizons[0]


async def settled_horizons(
    connection: AsyncConnection, settle_s: float, tables: tuple[str, ...]
) -> tuple[int, ...] | None:
    """The settled horizon of each of `tables`, waiting once for them all."""
    horizon = tuple([await repository.last_id(connection, table) for table in tables])
    running = await repository.transactions_to_wait_for(connection)
    deadline = asyncio.get_running_loop().time() + settle_s
    while running:
        running = await repository.still_running(connection, running)
        if running:
            if asyncio.get_running_loop().time() > deadline:
                return None
            await asyncio.sleep(POLL_S)
    return horizon


async def last_id(connection: AsyncConnection, table: str = "ledger_entry") -> int:
    """The last id `table`'s sequence handed out, committed or not: above the horizon while writes run."""
    return await repository.last_id(connection, table)
