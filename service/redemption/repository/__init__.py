"""All SQL of the redemption domain: rewards, vouchers and certificates, and what redemption reads and locks
of ledger accounts, enterprises and residents. Functions take keyword arguments after the session and
return rows or values; every statement is a constant or built from bound values. What an enterprise reads
of its own vouchers and ledger account (its books) is in `books`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Row, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import Enterprise, EnterpriseStatus, Resident
from service.db import ReadSession
from service.ledger.models import LedgerAccount
from service.redemption.models import Certificate, Reward, RewardStatus, Voucher, VoucherStatus


async def lock_account(
    session: AsyncSession, *, resident_id: int | None = None, enterprise_id: int | None = None
) -> LedgerAccount:
    column = LedgerAccount.resident_id if resident_id is not None else LedgerAccount.enterprise_id
    statement = select(LedgerAccount).where(column == (resident_id or enterprise_id)).with_for_update()
    return (await session.scalars(statement, execution_options={"populate_existing": True})).one()


async def account_of(
    session: AsyncSession | ReadSession, *, resident_id: int | None = None, enterprise_id: int | None = None
) -> LedgerAccount:
    column = LedgerAccount.resident_id if resident_id is not None else LedgerAccount.enterprise_id
    return (await session.scalars(select(LedgerAccount).where(column == (resident_id or enterprise_id)))).one()


async def resident_frozen(session: AsyncSession, *, resident_id: int) -> bool:
    statement = select(Resident.frozen_at.is_not(None)).where(Resident.id == resident_id)
    return bool(await session.scalar(statement))


async def system_account(session: AsyncSession, *, code: str) -> int:
    return int((await session.scalars(select(LedgerAccount.id).where(LedgerAccount.code == code))).one())


async def get_enterprise(session: AsyncSession | ReadSession, *, enterprise_id: int) -> Enterprise | None:
    return await session.get(Enterprise, enterprise_id)


Inserted = TypeVar("Inserted", Reward, Voucher, Certificate)


async def _insert(session: AsyncSession, row: Inserted) -> Inserted:
    """Insert and read back, server defaults included."""
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return row


# ---------------------------------------------------------------------------------------------- rewards


async def insert_reward(session: AsyncSession, *, values: dict[str, Any]) -> Reward:
    return await _insert(session, Reward(**values))


async def get_reward(session: AsyncSession | ReadSession, *, reward_id: int) -> tuple[Reward, Enterprise] | None:
    statement = (
        select(Reward, Enterprise).join(Enterprise, Enterprise.id == Reward.enterprise_id).where(Reward.id == reward_id)
    )
    row = (await session.execute(statement)).first()
    if row is None:
        return None
    first, second = tuple(row)
    return first, second


async def lock_reward(session: AsyncSession, *, reward_id: int, enterprise_id: int) -> Reward | None:
    statement = select(Reward).where(Reward.id == reward_id, Reward.enterprise_id == enterprise_id).with_for_update()
    return await session.scalar(statement, execution_options={"populate_existing": True})


async def update_reward(session: AsyncSession, *, reward_id: int, values: dict[str, Any]) -> Reward:
    statement = update(Reward).where(Reward.id == reward_id).values(**values, updated_at=func.now()).returning(Reward)
    return (await session.scalars(statement, execution_options={"populate_existing": True})).one()


async def take_stock(session: AsyncSession, *, reward_id: int) -> bool:
    """One off the stock; False when none is left. The row lock serialises redemptions of one reward."""
    statement = (
        update(Reward)
        .where(Reward.id == reward_id, Reward.stock_left > 0)
        .values(stock_left=Reward.stock_left - 1)
        .returning(Reward.id)
    )
    return await session.scalar(statement) is not None


async def return_stock(session: AsyncSession, *, reward_id: int) -> None:
    await session.execute(update(Reward).where(Reward.id == reward_id).values(stock_left=Reward.stock_left + 1))


async def browse_rewards(
    session: AsyncSession | ReadSession, *, category: str | None, before_id: int | None, limit: int, now: datetime
) -> list[tuple[Reward, Enterprise]]:
    """Rewards residents can redeem now (sold-out ones included, marked by stock 0), newest first."""
    statement = (
        select(Reward, Enterprise)
        .join(Enterprise, Enterprise.id == Reward.enterprise_id)
        .where(
            Reward.status == RewardStatus.active.value,
            Reward.valid_from <= now,
            Reward.valid_until > now,
            Enterprise.status == EnterpriseStatus.approved.value,
        )
        .order_by(Reward.id.desc())
        .limit(limit)
    )
    if category is not None:
        statement = statement.where(Reward.category == category)
    if before_id is not None:
        statement = statement.where(Reward.id < before_id)
    return [(row[0], row[1]) for row in map(tuple, (await session.execute(statement)).all())]


async def enterprise_rewards(session: AsyncSession | ReadSession, *, enterprise_id: int) -> Sequence[Reward]:
    statement = select(Reward).where(Reward.enterprise_id == enterprise_id).order_by(Reward.id.desc())
    return (await session.scalars(statement)).all()


# ---------------------------------------------------------------------------------------------- vouchers


async def voucher_by_key(session: AsyncSession, *, resident_id: int, client_id: uuid.UUID) -> Voucher | None:
    statement = select(Voucher).where(Voucher.resident_id == resident_id, Voucher.client_id == client_id)
    return await session.scalar(statement)


async def redeemed_count(session: AsyncSession, *, reward_id: int, resident_id: int) -> int:
    statement = select(func.count()).where(
        Voucher.reward_id == reward_id,
        Voucher.resident_id == resident_id,
        Voucher.status != VoucherStatus.cancelled.value,
    )
    return int(await session.scalar(statement) or 0)


async def insert_voucher(session: AsyncSession, *, values: dict[str, Any]) -> Voucher:
    return await _insert(session, Voucher(**values))


async def lock_resident_voucher(session: AsyncSession, *, voucher_id: int, resident_id: int) -> Voucher | None:
    """The resident's voucher, locked; None when there is no such voucher of theirs."""
    statement = select(Voucher).filter_by(id=voucher_id, resident_id=resident_id).with_for_update()
    return await session.scalar(statement, execution_options={"populate_existing": True})


async def lock_voucher_by_code(session: AsyncSession, *, code_hash: bytes, enterprise_id: int) -> Voucher | None:
    """The enterprise's own voucher of the code with this keyed hash: another enterprise's is not found, as
    no code is."""
    statement = select(Voucher).filter_by(code_hash=code_hash, enterprise_id=enterprise_id).with_for_update()
    return await session.scalar(statement, execution_options={"populate_existing": True})


async def set_voucher(session: AsyncSession, *, voucher_id: int, values: dict[str, Any]) -> Voucher:
    statement = update(Voucher).where(Voucher.id == voucher_id).values(**values).returning(Voucher)
    return (await session.scalars(statement, execution_options={"populate_existing": True})).one()


async def vouchers_with_rewards(
    session: AsyncSession | ReadSession,
    *,
    resident_id: int,
    before_id: int | None,
    limit: int,
    voucher_id: int | None = None,
) -> list[tuple[Voucher, Reward, Enterprise]]:
    statement = (
        select(Voucher, Reward, Enterprise)
        .join(Reward, Reward.id == Voucher.reward_id)
        .join(Enterprise, Enterprise.id == Voucher.enterprise_id)
        .where(Voucher.resident_id == resident_id)
        .order_by(Voucher.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        statement = statement.where(Voucher.id < before_id)
    if voucher_id is not None:
        statement = statement.where(Voucher.id == voucher_id)
    return [(row[0], row[1], row[2]) for row in map(tuple, (await session.execute(statement)).all())]


_SWEEP_EXPIRED = text(
    """
    UPDATE redemption_voucher SET status = 'expired'
     WHERE enterprise_id = :enterprise AND status = 'issued' AND expires_at <= clock_timestamp()
    """
)


async def sweep_expired_vouchers(session: AsyncSession, *, enterprise_id: int) -> None:
    """Mark the enterprise's lapsed vouchers expired. Each row lock orders this against a resident's
    cancellation of the same voucher: whichever comes second sees the other's outcome."""
    await session.execute(_SWEEP_EXPIRED, {"enterprise": enterprise_id})


async def outstanding_g(session: AsyncSession | ReadSession, *, enterprise_id: int) -> int:
    statement = select(func.coalesce(func.sum(Voucher.price_g), 0)).where(
        Voucher.enterprise_id == enterprise_id,
        Voucher.status == VoucherStatus.issued.value,
        Voucher.expires_at > func.clock_timestamp(),
    )
    return int(await session.scalar(statement) or 0)


# ---------------------------------------------------------------------------------------------- retirement

# What an enterprise may retire, by lot: grams received from vouchers that were used or have expired
# (a voucher still open can be cancelled, and its grams must then go back), less what it has retired.
# Retiring counts only vouchers marked expired (by its sweep, under their row locks); the figure shown
# to the enterprise also counts those whose time is up but that no sweep has marked yet. The two
# statements differ only in that last condition of the WHERE clause.
_RETIRABLE_NOW = text(
    """
    SELECT x.lot_id, sum(x.grams)::bigint AS grams, l.created_at AS issued_at
      FROM (SELECT m.lot_id, m.grams, m.transfer_id FROM ledger_lot_move m WHERE m.to_account_id = :account
            UNION ALL
            SELECT m.lot_id, -m.grams, m.transfer_id FROM ledger_lot_move m WHERE m.from_account_id = :account) x
      JOIN ledger_transfer t ON t.id = x.transfer_id
      JOIN ledger_transfer l ON l.id = x.lot_id
      LEFT JOIN redemption_voucher v ON v.redemption_transfer_id = x.transfer_id
     WHERE t.kind NOT IN ('redemption', 'refund') OR v.status IN ('used', 'expired')
     GROUP BY x.lot_id, l.created_at
    HAVING sum(x.grams) > 0
     ORDER BY x.lot_id
"""
)
_RETIRABLE_SHOWN = text(
    """
    SELECT x.lot_id, sum(x.grams)::bigint AS grams, l.created_at AS issued_at
      FROM (SELECT m.lot_id, m.grams, m.transfer_id FROM ledger_lot_move m WHERE m.to_account_id = :account
            UNION ALL
            SELECT m.lot_id, -m.grams, m.transfer_id FROM ledger_lot_move m WHERE m.from_account_id = :account) x
      JOIN ledger_transfer t ON t.id = x.transfer_id
      JOIN ledger_transfer l ON l.id = x.lot_id
      LEFT JOIN redemption_voucher v ON v.redemption_transfer_id = x.transfer_id
     WHERE t.kind NOT IN ('redemption', 'refund') OR v.status IN ('used', 'expired') OR (v.status = 'issued' AND v.expires_at <= clock_timestamp())
     GROUP BY x.lot_id, l.created_at
    HAVING sum(x.grams) > 0
     ORDER BY x.lot_id
"""
)


async def retirable(
    session: AsyncSession | ReadSession, *, account_id: int, for_display: bool = False
) -> Sequence[Row[Any]]:
    """(lot_id, grams, issued_at) of every lot the enterprise's account may retire, oldest lot first."""
    statement = _RETIRABLE_SHOWN if for_display else _RETIRABLE_NOW
    return (await session.execute(statement, {"account": account_id})).all()


async def certificate_by_key(session: AsyncSession, *, enterprise_id: int, client_id: uuid.UUID) -> Certificate | None:
    statement = select(Certificate).where(
        Certificate.enterprise_id == enterprise_id, Certificate.client_id == client_id
    )
    return await session.scalar(statement)


async def insert_certificate(session: AsyncSession, *, values: dict[str, Any]) -> Certificate:
    return await _insert(session, Certificate(**values))


async def certificate_by_number(
    session: AsyncSession | ReadSession, *, number: str
) -> tuple[Certificate, Enterprise] | None:
    statement = (
        select(Certificate, Enterprise)
        .join(Enterprise, Enterprise.id == Certificate.enterprise_id)
        .where(Certificate.number == number)
    )
    row = (await session.execute(statement)).first()
    if row is None:
        return None
    first, second = tuple(row)
    return first, second


async def certificates_of(session: AsyncSession | ReadSession, *, enterprise_id: int) -> Sequence[Certificate]:
    statement = select(Certificate).where(Certificate.enterprise_id == enterprise_id).order_by(Certificate.id.desc())
    return (await session.scalars(statement)).all()


async def retired_g(session: AsyncSession | ReadSession, *, enterprise_id: int) -> int:
    statement = select(func.coalesce(func.sum(Certificate.amount_g), 0)).where(
        Certificate.enterprise_id == enterprise_id
    )
    return int(await session.scalar(statement) or 0)


_PROVENANCE = text(
    """
    SELECT m.transfer_id, b.behaviour_type, f.set_code AS factor_set, f.version AS factor_version,
           sum(m.grams)::bigint AS grams, count(DISTINCT b.id) AS behaviours,
           min(b.local_date) AS earned_from, max(b.local_date) AS earned_until
      FROM ledger_lot_move m
      JOIN ledger_transfer l ON l.id = m.lot_id
      JOIN ingest_behaviour b ON b.id = l.behaviour_id
      JOIN factor_version f ON f.id = l.factor_version_id
     WHERE m.transfer_id = ANY(CAST(:transfers AS bigint[]))
     GROUP BY m.transfer_id, b.behaviour_type, f.set_code, f.version
     ORDER BY m.transfer_id, grams DESC, b.behaviour_type, f.version
    """
)


async def provenance(session: AsyncSession | ReadSession, *, transfer_ids: Sequence[int]) -> dict[int, list[Row[Any]]]:
    """Where the credits of each retirement came from, by retirement transfer, in one query."""
    lines: dict[int, list[Row[Any]]] = {transfer_id: [] for transfer_id in transfer_ids}
    for row in (await session.execute(_PROVENANCE, {"transfers": list(transfer_ids)})).all():
        lines[row.transfer_id].append(row)
    return lines


async def voucher_ids_of(session: AsyncSession, resident_id: int) -> Sequence[int]:
    statement = select(Voucher.id).where(Voucher.resident_id == resident_id).order_by(Voucher.id).with_for_update()
    return (await session.scalars(statement)).all()


async def replace_voucher_keys(session: AsyncSession, *, voucher_id: int, code_hash: bytes, code_sealed: bytes) -> None:
    """Give a voucher a new code and a new client key: neither the resident nor a counter ever saw them."""
    await session.execute(
        update(Voucher)
        .where(Voucher.id == voucher_id)
        .values(code_hash=code_hash, code_sealed=code_sealed, client_id=func.gen_random_uuid())
    )
