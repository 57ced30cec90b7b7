"""Vouchers: a resident redeems a reward for one or cancels it, the enterprise takes it at its counter.

Locks follow the domain's one order — the resident's ledger account, then the voucher, then the reward,
then the enterprise's ledger account — so that none of these can deadlock another or a retirement.
Redeeming locks the resident's account, takes one off the stock (the reward's row) and credits the
enterprise; cancelling locks the resident's account and the voucher, returns the stock and refunds from
the enterprise; taking a voucher at the counter locks the voucher alone. Every refusal happens before
anything is written, or rolls the transaction back.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.errors import AccountFrozen
from service.accounts.models import Enterprise
from service.db import ReadSession
from service.errors import DuplicateConflict
from service.kit.pagination import decode_cursor, encode_cursor
from service.ledger import lots
from service.ledger.errors import InsufficientCredits
from service.redemption import enterprises, repository
from service.redemption.codes import VoucherCodes, display_code, new_voucher_code, normalise_code
from service.redemption.errors import (
    RedemptionLimitReached,
    RewardNotFound,
    RewardSoldOut,
    RewardUnavailable,
    VoucherCancelled,
    VoucherExpired,
    VoucherNotFound,
    VoucherUsed,
)
from service.redemption.models import Reward, Voucher, VoucherStatus
from service.redemption.rewards import is_on_offer
from service.redemption.schemas import RedemptionRead, VoucherAccepted, VoucherPage, VoucherRead
from service.webhooks import events as webhook_events
from service.webhooks.events import EventType


def _now() -> datetime:
    return datetime.now(UTC)


def voucher_read(voucher: Voucher, reward: Reward, enterprise: Enterprise, *, codes: VoucherCodes) -> VoucherRead:
    """A voucher as its resident sees it, code and all: one past its time shows as expired before any sweep
    marks it."""
    status = voucher.status
    if status == VoucherStatus.issued.value and voucher.expires_at <= _now():
        status = VoucherStatus.expired.value
    return VoucherRead(
        id=voucher.id,
        code=display_code(codes.open(voucher.code_sealed, voucher.code_hash)),
        reward_id=reward.id,
        reward_title=reward.title,
        enterprise_name=enterprise.name,
        price_g=voucher.price_g,
        status=VoucherStatus(status),
        issued_at=voucher.issued_at,
        expires_at=voucher.expires_at,
        used_at=voucher.used_at,
        cancelled_at=voucher.cancelled_at,
    )


# ---------------------------------------------------------------------------------------------- residents


async def redeem(
    session: AsyncSession, *, codes: VoucherCodes, resident_id: int, reward_id: int, client_id: uuid.UUID
) -> tuple[RedemptionRead, bool]:
    """Credits from the resident to the enterprise, one off the stock and a voucher, in one transaction;
    answers the reply and whether this request created it. The same client_id returns the voucher it
    already bought (not created); with another reward it is a conflict."""
    account = await repository.lock_account(session, resident_id=resident_id)
    if await repository.resident_frozen(session, resident_id=resident_id):
        raise AccountFrozen("Redemption is paused while the account is reviewed.", "账号审核期间暂停兑换。")
    existing = await repository.voucher_by_key(session, resident_id=resident_id, client_id=client_id)
    if existing is not None:
        if existing.reward_id != reward_id:
            raise DuplicateConflict(
                "This client_id already redeemed another reward.", "该 client_id 已用于兑换其他奖励。"
            )
        found = await repository.get_reward(session, reward_id=existing.reward_id)
        assert found is not None
        return RedemptionRead(voucher=voucher_read(existing, *found, codes=codes), balance_g=account.balance), False
    found = await repository.get_reward(session, reward_id=reward_id)
    if found is None:
        raise RewardNotFound
    reward, enterprise = found
    if not is_on_offer(reward, enterprise, now=_now()):
        raise RewardUnavailable
    redeemed = await repository.redeemed_count(session, reward_id=reward.id, resident_id=resident_id)
    if redeemed >= reward.per_resident_limit:
        raise RedemptionLimitReached(
            f"Each resident may redeem this reward {reward.per_resident_limit} time(s).",
            f"每位居民最多兑换该奖励 {reward.per_resident_limit} 次。",
        )
    if account.balance < reward.price_g:
        raise InsufficientCredits(
            f"The reward costs {reward.price_g} g; you hold {account.balance} g.",
            f"该奖励需要 {reward.price_g} 克，当前余额 {account.balance} 克。",
        )
    if not await repository.take_stock(session, reward_id=reward.id):
        raise RewardSoldOut
    enterprise_account = await repository.account_of(session, enterprise_id=enterprise.id)
    balance_after = account.balance - reward.price_g
    taken = lots.take_oldest(await lots.holdings(session, account.id), reward.price_g)
    transfer_id = await lots.move(
        session,
        kind="redemption",
        from_account=account.id,
        to_account=enterprise_account.id,
        lots=taken,
        actor=f"resident:{resident_id}",
    )
    assert transfer_id is not None
    code_hash, code_sealed = codes.keep(new_voucher_code())
    voucher = await repository.insert_voucher(
        session,
        values={
            "code_hash": code_hash,
            "code_sealed": code_sealed,
            "reward_id": reward.id,
            "enterprise_id": enterprise.id,
            "resident_id": resident_id,
            "client_id": client_id,
            "price_g": reward.price_g,
            "expires_at": _now() + timedelta(days=reward.voucher_valid_days),
            "redemption_transfer_id": transfer_id,
        },
    )
    return RedemptionRead(voucher=voucher_read(voucher, reward, enterprise, codes=codes), balance_g=balance_after), True


def _refuse_if_settled(voucher: Voucher) -> None:
    if voucher.status == VoucherStatus.used.value:
        raise VoucherUsed
    if voucher.status == VoucherStatus.cancelled.value:
        raise VoucherCancelled
    if voucher.status == VoucherStatus.expired.value or voucher.expires_at <= _now():
        raise VoucherExpired


async def cancel(session: AsyncSession, *, codes: VoucherCodes, resident_id: int, voucher_id: int) -> RedemptionRead:
    """An unused voucher before it expires: the stock and the very grams paid come back, once."""
    account = await repository.lock_account(session, resident_id=resident_id)
    voucher = await repository.lock_resident_voucher(session, voucher_id=voucher_id, resident_id=resident_id)
    if voucher is None:
        raise VoucherNotFound
    _refuse_if_settled(voucher)
    await repository.return_stock(session, reward_id=voucher.reward_id)
    balance_after = account.balance + voucher.price_g
    enterprise_account = await repository.account_of(session, enterprise_id=voucher.enterprise_id)
    refund = await lots.move(
        session,
        kind="refund",
        from_account=enterprise_account.id,
        to_account=account.id,
        lots=await lots.moves_of(session, voucher.redemption_transfer_id),
        reverses_transfer_id=voucher.redemption_transfer_id,
        reason="voucher cancelled",
        actor=f"resident:{resident_id}",
    )
    if refund is None:
        raise VoucherCancelled
    voucher = await repository.set_voucher(
        session,
        voucher_id=voucher.id,
        values={"status": VoucherStatus.cancelled.value, "cancelled_at": _now(), "refund_transfer_id": refund},
    )
    await webhook_events.emit(
        session,
        enterprise_id=voucher.enterprise_id,
        event_type=EventType.voucher_cancelled,
        data={
            "voucher_id": voucher.id,
            "reward_id": voucher.reward_id,
            "price_g": voucher.price_g,
            "cancelled_at": voucher.cancelled_at,
        },
    )
    found = await repository.get_reward(session, reward_id=voucher.reward_id)
    assert found is not None
    return RedemptionRead(voucher=voucher_read(voucher, *found, codes=codes), balance_g=balance_after)


async def of_resident(
    session: AsyncSession | ReadSession, *, codes: VoucherCodes, resident_id: int, cursor: str | None, limit: int
) -> VoucherPage:
    """The resident's vouchers, newest first, a page of `limit` (asked for one more, to know there is more)."""
    rows = await repository.vouchers_with_rewards(
        session, resident_id=resident_id, before_id=decode_cursor(cursor), limit=limit + 1
    )
    items = [voucher_read(*row, codes=codes) for row in rows[:limit]]
    return VoucherPage(items=items, next_cursor=encode_cursor(items[-1].id) if len(rows) > limit else None)


async def get_for_resident(
    session: AsyncSession | ReadSession, *, codes: VoucherCodes, resident_id: int, voucher_id: int
) -> VoucherRead:
    """One of the resident's vouchers; another resident's is not found."""
    rows = await repository.vouchers_with_rewards(
        session, resident_id=resident_id, before_id=None, limit=1, voucher_id=voucher_id
    )
    if not rows:
        raise VoucherNotFound
    return voucher_read(*rows[0], codes=codes)


# ---------------------------------------------------------------------------------------------- enterprises


async def accept(
    session: AsyncSession, *, codes: VoucherCodes, enterprise_id: int, user_id: int, raw_code: str
) -> VoucherAccepted:
    """The enterprise's counter takes a voucher: valid, its own, unused and unexpired; marked used once."""
    await enterprises.approved(session, enterprise_id=enterprise_id)
    code = normalise_code(raw_code)
    # another enterprise's code is answered as no code is: a counter learns nothing of others' vouchers
    voucher = (
        await repository.lock_voucher_by_code(session, code_hash=codes.hash(code), enterprise_id=enterprise_id)
        if code
        else None
    )
    if voucher is None:
        raise VoucherNotFound
    _refuse_if_settled(voucher)
    voucher = await repository.set_voucher(
        session,
        voucher_id=voucher.id,
        values={"status": VoucherStatus.used.value, "used_at": _now(), "used_by": f"user:{user_id}"},
    )
    found = await repository.get_reward(session, reward_id=voucher.reward_id)
    assert found is not None
    reward, _ = found
    assert voucher.used_at is not None
    await webhook_events.emit(
        session,
        enterprise_id=enterprise_id,
        event_type=EventType.voucher_accepted,
        data={"voucher_id": voucher.id, "reward_id": reward.id, "price_g": voucher.price_g, "used_at": voucher.used_at},
    )
    return VoucherAccepted(
        voucher_id=voucher.id,
        reward_id=reward.id,
        reward_title=reward.title,
        price_g=voucher.price_g,
        used_at=voucher.used_at,
    )
