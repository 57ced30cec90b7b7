"""Lots: which issued grams an account holds, and moving credits with their provenance.

Every issuance transfer is a lot. A transfer after issuance (redemption, refund, retirement, expiry,
reversal) records in ledger_lot_move which lots it moved and how many grams of each, so any gram can be
followed from the behaviour that earned it to wherever it is now. Credits are taken oldest lot first.
The caller holds the lock on the account credits leave (SELECT … FOR UPDATE), so the holdings it read
stay true until it commits; a trigger refuses any move that would overdraw a holding all the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.db import ReadSession
from service.ledger import repository


@dataclass(frozen=True, slots=True)
class Holding:
    lot_id: int
    grams: int
    issued_at: datetime


async def holdings(session: AsyncSession | ReadSession, account_id: int) -> list[Holding]:
    """What the account holds of each lot, oldest lot first."""
    return [Holding(row.lot_id, row.grams, row.issued_at) for row in await repository.holdings(session, account_id)]


def take_oldest(available: Iterable[Holding], amount: int, *, first: int | None = None) -> list[tuple[int, int]]:
    """(lot id, grams) pairs making up `amount`, oldest lot first (lot `first` before all others).
    The caller has checked that the holdings cover the amount."""
    ordered = sorted(available, key=lambda h: (h.lot_id != first, h.lot_id))
    taken: list[tuple[int, int]] = []
    left = amount
    for holding in ordered:
        if left == 0:
            break
        grams = min(holding.grams, left)
        taken.append((holding.lot_id, grams))
        left -= grams
    if left:
        raise ValueError(f"the holdings fall {left} g short of {amount} g")
    return taken


async def moves_of(session: AsyncSession | ReadSession, transfer_id: int) -> list[tuple[int, int]]:
    """(lot id, grams) pairs a transfer moved."""
    return await repository.lot_moves_of(session, transfer_id)


async def move(
    session: AsyncSession,
    *,
    kind: str,
    from_account: int,
    to_account: int,
    lots: Sequence[tuple[int, int]],
    **fields: Any,
) -> int | None:
    """One transfer of the lots' grams with its entries, balances and lot moves; returns its id, or None
    when `reverses_transfer_id` names a transfer already compensated (nothing is then written)."""
    amount = sum(grams for _, grams in lots)
    transfer_id = await repository.insert_transfer(
        session,
        {"kind": kind, "debit_account_id": from_account, "credit_account_id": to_account, "amount": amount, **fields},
    )
    if transfer_id is None:
        return None
    await repository.add_to_balance(session, from_account, -amount)
    await repository.add_to_balance(session, to_account, amount)
    await repository.insert_lot_moves(
        session,
        [
            {
                "transfer_id": transfer_id,
                "lot_id": lot_id,
                "from_account_id": from_account,
                "to_account_id": to_account,
                "grams": grams,
            }
            for lot_id, grams in lots
        ],
    )
    return transfer_id
