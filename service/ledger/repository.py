"""All SQL of the ledger domain outside the recording function."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import ReadSession
from service.ledger.models import LedgerAccount, LedgerEntry, LedgerTransfer


async def issuance_account_ids(session: AsyncSession | ReadSession) -> list[int]:
    statement = select(LedgerAccount.id).where(LedgerAccount.code.like("issuance:%")).order_by(LedgerAccount.id)
    return list((await session.scalars(statement)).all())


async def resident_account(session: AsyncSession | ReadSession, resident_id: int) -> LedgerAccount | None:
    return await session.scalar(select(LedgerAccount).where(LedgerAccount.resident_id == resident_id))


async def credited_total(session: AsyncSession | ReadSession, account_id: int) -> int:
    """Grams ever issued to the account: refunds of cancelled vouchers give back, they do not credit."""
    statement = (
        select(func.coalesce(func.sum(LedgerEntry.amount), 0))
        .join(LedgerTransfer, LedgerTransfer.id == LedgerEntry.transfer_id)
        .where(LedgerEntry.account_id == account_id, LedgerTransfer.kind == "issuance")
    )
    return int(await session.scalar(statement) or 0)


async def get_transfer(session: AsyncSession, transfer_id: int) -> LedgerTransfer | None:
    return await session.scalar(select(LedgerTransfer).where(LedgerTransfer.id == transfer_id))


async def reversal_of(session: AsyncSession, transfer_id: int) -> int | None:
    """The transfer that compensates `transfer_id` (a reversal or a refund), if any."""
    statement = select(LedgerTransfer.id).where(LedgerTransfer.reverses_transfer_id == transfer_id)
    return await session.scalar(statement)


async def lock_accounts(session: AsyncSession, account_ids: Sequence[int]) -> dict[int, LedgerAccount]:
    statement = (
        select(LedgerAccount).where(LedgerAccount.id.in_(account_ids)).order_by(LedgerAccount.id).with_for_update()
    )
    rows = (await session.scalars(statement, execution_options={"populate_existing": True})).all()
    return {row.id: row for row in rows}


async def insert_transfer(session: AsyncSession, values: dict[str, Any]) -> int | None:
    """Insert a transfer and its two entries; None when it would reverse a transfer already reversed."""
    statement = (
        pg_insert(LedgerTransfer)
        .values(**values)
        .on_conflict_do_nothing(
            index_elements=[LedgerTransfer.reverses_transfer_id],
            index_where=LedgerTransfer.reverses_transfer_id.is_not(None),
        )
        .returning(LedgerTransfer.id)
    )
    transfer_id = await session.scalar(statement)
    if transfer_id is None:
        return None
    amount = values["amount"]
    await session.execute(
        insert(LedgerEntry),
        [
            {"transfer_id": transfer_id, "account_id": values["debit_account_id"], "amount": -amount},
            {"transfer_id": transfer_id, "account_id": values["credit_account_id"], "amount": amount},
        ],
    )
    return int(transfer_id)


async def add_to_balance(session: AsyncSession, account_id: int, amount: int) -> None:
    await session.execute(
        update(LedgerAccount)
        .where(LedgerAccount.id == account_id, LedgerAccount.kind != "system")
        .values(balance=LedgerAccount.balance + amount)
    )


BALANCE_CHECK_SQL = text(
    """
    SELECT (SELECT coalesce(sum(balance), 0) FROM ledger_account WHERE kind <> 'system')
         + (SELECT coalesce(sum(e.amount), 0) FROM ledger_entry e
              JOIN ledger_account a ON a.id = e.account_id WHERE a.kind = 'system') AS total
    """
)


async def sum_of_balances(session: AsyncSession | ReadSession) -> int:
    """Stored balances plus the derived balances of system accounts: zero while the books balance."""
    return int((await session.execute(BALANCE_CHECK_SQL)).scalar_one())


async def transfers_of_behaviours(
    session: AsyncSession | ReadSession, behaviour_ids: Sequence[int]
) -> Sequence[Row[Any]]:
    statement = text(
        """
        SELECT t.behaviour_id, t.id AS transfer_id, r.amount AS reversed_g
          FROM ledger_transfer t
          LEFT JOIN ledger_transfer r ON r.reverses_transfer_id = t.id
         WHERE t.behaviour_id = ANY(:ids) AND t.kind = 'issuance'
        """
    )
    return (await session.execute(statement, {"ids": list(behaviour_ids)})).all()
