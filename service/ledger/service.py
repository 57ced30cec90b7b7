"""Balances and corrections."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from service.db import ReadSession
from service.ledger import lots, repository
from service.ledger.errors import AlreadyReversed, InsufficientCredits, NotReversible, TransferNotFound


@dataclass(frozen=True, slots=True)
class Balance:
    balance_g: int
    credited_total_g: int


async def issuance_accounts(session: AsyncSession | ReadSession) -> list[int]:
    return await repository.issuance_account_ids(session)


async def resident_balance(session: AsyncSession | ReadSession, *, resident_id: int) -> Balance:
    account = await repository.resident_account(session, resident_id)
    if account is None:
        return Balance(0, 0)
    return Balance(account.balance, await repository.credited_total(session, account.id))


async def reverse(session: AsyncSession, *, transfer_id: int, actor: str, reason: str) -> int:
    """Compensate an issuance with a linked transfer back to where it came from; returns its id.

    Refused when the resident no longer holds that many credits: no balance goes below zero. The grams
    taken back are the reversed lot's own as far as the resident still holds them, then the oldest.
    """
    original = await repository.get_transfer(session, transfer_id)
    if original is None:
        raise TransferNotFound
    if original.kind != "issuance":
        raise NotReversible
    accounts = await repository.lock_accounts(session, [original.debit_account_id, original.credit_account_id])
    if await repository.reversal_of(session, original.id) is not None:
        raise AlreadyReversed
    holder = accounts[original.credit_account_id]
    if holder.balance < original.amount:
        raise InsufficientCredits(
            f"The account holds {holder.balance} g; the reversal needs {original.amount} g.",
            f"账户余额 {holder.balance} 克，冲正需要 {original.amount} 克。",
        )
    taken = lots.take_oldest(await lots.holdings(session, holder.id), original.amount, first=original.id)
    reversal = await lots.move(
        session,
        kind="reversal",
        from_account=holder.id,
        to_account=original.debit_account_id,
        lots=taken,
        behaviour_id=original.behaviour_id,
        factor_version_id=original.factor_version_id,
        reverses_transfer_id=original.id,
        reason=reason,
        actor=actor,
    )
    if reversal is None:
        raise AlreadyReversed
    return reversal
