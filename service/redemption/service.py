"""Rewards, vouchers and retirement: the rules, each write in the request's one transaction.

Locks are always taken in one order, so that no two of these can deadlock: the resident's ledger
account, then the voucher, then the reward, then the enterprise's ledger account. Redeeming locks the
resident, takes one off the stock and credits the enterprise; cancelling locks the resident and the
voucher, returns the stock and refunds from the enterprise; checking a voucher at the counter locks the
voucher alone; retiring first marks the enterprise's lapsed vouchers expired (voucher locks), then locks
the enterprise. Every refusal happens before anything is written, or rolls the transaction back.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.errors import AccountFrozen
from service.accounts.models import Enterprise, EnterpriseStatus
from service.db import ReadSession
from service.errors import DuplicateConflict, ValidationFailed
from service.ledger import lots
from service.ledger.errors import InsufficientCredits
from service.redemption import repository
from service.redemption.errors import (
    CertificateNotFound,
    EnterpriseNotApproved,
    RedemptionLimitReached,
    RewardNotFound,
    RewardSoldOut,
    RewardUnavailable,
    VoucherCancelled,
    VoucherExpired,
    VoucherNotFound,
    VoucherNotYours,
    VoucherUsed,
)
from service.redemption.models import Certificate, Reward, RewardStatus, Voucher, VoucherStatus
from service.redemption.schemas import (
    CertificateRead,
    EnterpriseCredits,
    ProvenanceLine,
    RetirementCreate,
    RewardCreate,
    RewardRead,
    RewardUpdate,
    VoucherRead,
)

# Crockford's base32: no I, L, O or U to misread at a counter. 16 characters carry 80 random bits.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 16
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_voucher_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(raw: str) -> str | None:
    """The stored form of a code as typed or scanned: dashes, spaces and case ignored."""
    code = raw.replace("-", "").replace(" ", "").upper().translate(_READ_AS)
    if len(code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in code):
        return None
    return code


def display_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def _now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------------------------------------- enterprises


async def approved_enterprise(session: AsyncSession | ReadSession, enterprise_id: int) -> Enterprise:
    enterprise = await repository.get_enterprise(session, enterprise_id)
    if enterprise is None or enterprise.status != EnterpriseStatus.approved.value:
        status = enterprise.status if enterprise else "unknown"
        raise EnterpriseNotApproved(
            f"The enterprise is {status}; an operator must approve it first.",
            f"企业状态为 {status}，须经管理员审核通过。",
        )
    return enterprise


async def enterprise_credits(session: AsyncSession | ReadSession, enterprise_id: int) -> EnterpriseCredits:
    enterprise = await repository.get_enterprise(session, enterprise_id)
    if enterprise is None:
        raise EnterpriseNotApproved
    account = await repository.account_of(session, enterprise_id=enterprise_id)
    return EnterpriseCredits(
        enterprise_id=enterprise.id,
        name=enterprise.name,
        status=enterprise.status,
        balance_g=account.balance,
        outstanding_g=await repository.outstanding_g(session, enterprise_id),
        retirable_g=sum(h.grams for h in await repository.retirable(session, account.id, for_display=True)),
        retired_g=await repository.retired_g(session, enterprise_id),
    )


# ---------------------------------------------------------------------------------------------- rewards


def reward_read(reward: Reward, enterprise: Enterprise) -> RewardRead:
    return RewardRead.model_validate({**_columns(reward), "enterprise_name": enterprise.name})


def _columns(row: Any) -> dict[str, Any]:
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}


async def publish_reward(session: AsyncSession, *, enterprise_id: int, data: RewardCreate) -> RewardRead:
    enterprise = await approved_enterprise(session, enterprise_id)
    values = data.model_dump(exclude={"stock", "image_url"})
    reward = await repository.insert_reward(
        session,
        {
            **values,
            "enterprise_id": enterprise_id,
            "stock_total": data.stock,
            "stock_left": data.stock,
            "image_url": str(data.image_url) if data.image_url else None,
        },
    )
    return reward_read(reward, enterprise)


async def change_reward(
    session: AsyncSession, *, enterprise_id: int, reward_id: int, changes: RewardUpdate
) -> RewardRead:
    enterprise = await approved_enterprise(session, enterprise_id)
    reward = await repository.lock_reward(session, reward_id, enterprise_id)
    if reward is None:
        raise RewardNotFound
    values: dict[str, Any] = changes.model_dump(exclude_unset=True, exclude={"add_stock", "image_url"})
    if changes.image_url is not None:
        values["image_url"] = str(changes.image_url)
    if changes.add_stock:
        values["stock_total"] = reward.stock_total + changes.add_stock
        values["stock_left"] = reward.stock_left + changes.add_stock
    if changes.valid_until is not None and changes.valid_until <= reward.valid_from:
        raise ValidationFailed(
            "valid_until must be after valid_from.",
            "结束时间须晚于开始时间。",
            errors=[
                {"field": "valid_until", "in": "body", "code": "BEFORE_VALID_FROM", "message": "not after valid_from"}
            ],
        )
    if not values:
        return reward_read(reward, enterprise)
    return reward_read(await repository.update_reward(session, reward.id, values), enterprise)


async def reward_for_resident(session: AsyncSession | ReadSession, reward_id: int) -> RewardRead:
    found = await repository.get_reward(session, reward_id)
    if found is None or not _on_offer(*found, now=_now()):
        raise RewardNotFound
    return reward_read(*found)


def _on_offer(reward: Reward, enterprise: Enterprise, *, now: datetime) -> bool:
    return (
        reward.status == RewardStatus.active.value
        and enterprise.status == EnterpriseStatus.approved.value
        and reward.valid_from <= now < reward.valid_until
    )


# ---------------------------------------------------------------------------------------------- vouchers


def voucher_read(voucher: Voucher, reward: Reward, enterprise: Enterprise) -> VoucherRead:
    status = voucher.status
    if status == VoucherStatus.issued.value and voucher.expires_at <= _now():
        status = VoucherStatus.expired.value
    return VoucherRead(
        id=voucher.id,
        code=display_code(voucher.code),
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


@dataclass(frozen=True, slots=True)
class Redeemed:
    voucher: VoucherRead
    balance_g: int
    created: bool


async def redeem(session: AsyncSession, *, resident_id: int, reward_id: int, client_id: uuid.UUID) -> Redeemed:
    """Credits from the resident to the enterprise, one off the stock and a voucher, in one transaction.
    The same client_id returns the voucher it already bought; with another reward it is a conflict."""
    account = await repository.lock_account(session, resident_id=resident_id)
    if await repository.resident_frozen(session, resident_id):
        raise AccountFrozen("Redemption is paused while the account is reviewed.", "账号审核期间暂停兑换。")
    existing = await repository.voucher_by_key(session, resident_id, client_id)
    if existing is not None:
        if existing.reward_id != reward_id:
            raise DuplicateConflict(
                "This client_id already redeemed another reward.", "该 client_id 已用于兑换其他奖励。"
            )
        found = await repository.get_reward(session, existing.reward_id)
        assert found is not None
        return Redeemed(voucher_read(existing, *found), account.balance, created=False)
    found = await repository.get_reward(session, reward_id)
    if found is None:
        raise RewardNotFound
    reward, enterprise = found
    if not _on_offer(reward, enterprise, now=_now()):
        raise RewardUnavailable
    if await repository.redeemed_count(session, reward.id, resident_id) >= reward.per_resident_limit:
        raise RedemptionLimitReached(
            f"Each resident may redeem this reward {reward.per_resident_limit} time(s).",
            f"每位居民最多兑换该奖励 {reward.per_resident_limit} 次。",
        )
    if account.balance < reward.price_g:
        raise InsufficientCredits(
            f"The reward costs {reward.price_g} g; you hold {account.balance} g.",
            f"该奖励需要 {reward.price_g} 克，当前余额 {account.balance} 克。",
        )
    if not await repository.take_stock(session, reward.id):
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
    voucher = await repository.insert_voucher(
        session,
        {
            "code": new_voucher_code(),
            "reward_id": reward.id,
            "enterprise_id": enterprise.id,
            "resident_id": resident_id,
            "client_id": client_id,
            "price_g": reward.price_g,
            "expires_at": _now() + timedelta(days=reward.voucher_valid_days),
            "redemption_transfer_id": transfer_id,
        },
    )
    return Redeemed(voucher_read(voucher, reward, enterprise), balance_after, created=True)


def _refuse_if_settled(voucher: Voucher) -> None:
    if voucher.status == VoucherStatus.used.value:
        raise VoucherUsed
    if voucher.status == VoucherStatus.cancelled.value:
        raise VoucherCancelled
    if voucher.status == VoucherStatus.expired.value or voucher.expires_at <= _now():
        raise VoucherExpired


async def cancel(session: AsyncSession, *, resident_id: int, voucher_id: int) -> Redeemed:
    """An unused voucher before it expires: the stock and the very grams paid come back, once."""
    account = await repository.lock_account(session, resident_id=resident_id)
    voucher = await repository.lock_voucher(session, id=voucher_id, resident_id=resident_id)
    if voucher is None:
        raise VoucherNotFound
    _refuse_if_settled(voucher)
    await repository.return_stock(session, voucher.reward_id)
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
        voucher.id,
        {"status": VoucherStatus.cancelled.value, "cancelled_at": _now(), "refund_transfer_id": refund},
    )
    found = await repository.get_reward(session, voucher.reward_id)
    assert found is not None
    return Redeemed(voucher_read(voucher, *found), balance_after, created=False)


async def accept(session: AsyncSession, *, enterprise_id: int, user_id: int, raw_code: str) -> tuple[Voucher, Reward]:
    """The enterprise's counter takes a voucher: valid, its own, unused and unexpired; marked used once."""
    await approved_enterprise(session, enterprise_id)
    code = normalise_code(raw_code)
    voucher = await repository.lock_voucher(session, code=code) if code else None
    if voucher is None:
        raise VoucherNotFound
    if voucher.enterprise_id != enterprise_id:
        raise VoucherNotYours
    _refuse_if_settled(voucher)
    voucher = await repository.set_voucher(
        session, voucher.id, {"status": VoucherStatus.used.value, "used_at": _now(), "used_by": f"user:{user_id}"}
    )
    found = await repository.get_reward(session, voucher.reward_id)
    assert found is not None
    return voucher, found[0]


# ---------------------------------------------------------------------------------------------- retirement


async def retire(session: AsyncSession, *, enterprise_id: int, data: RetirementCreate) -> tuple[CertificateRead, bool]:
    """Move grams the enterprise may retire to the retired account for good, oldest lots first, and issue
    the certificate. The same client_id returns the same certificate; with other content it is a conflict."""
    enterprise = await approved_enterprise(session, enterprise_id)
    await repository.sweep_expired_vouchers(session, enterprise_id)
    account = await repository.lock_account(session, enterprise_id=enterprise_id)
    existing = await repository.certificate_by_key(session, enterprise_id, data.client_id)
    if existing is not None:
        if (existing.amount_g, existing.purpose, existing.beneficiary) != (
            data.amount_g,
            data.purpose,
            data.beneficiary,
        ):
            raise DuplicateConflict("This client_id already retired other credits.", "该 client_id 已用于另一笔注销。")
        return await _read_certificate(session, existing, enterprise), False
    available = await repository.retirable(session, account.id)
    held = sum(h.grams for h in available)
    if held < data.amount_g:
        raise InsufficientCredits(
            f"{held} g can be retired now (credits of vouchers still open cannot); {data.amount_g} g were asked.",
            f"当前可注销 {held} 克（未核销兑换券对应的积分不可注销），申请注销 {data.amount_g} 克。",
        )
    transfer_id = await lots.move(
        session,
        kind="retirement",
        from_account=account.id,
        to_account=await repository.system_account(session, "retired"),
        lots=lots.take_oldest(available, data.amount_g),
        reason=data.purpose,
        actor=f"enterprise:{enterprise_id}",
    )
    assert transfer_id is not None
    certificate = await repository.insert_certificate(
        session,
        {
            "number": f"TPH-{_now().year}-{transfer_id:010d}",
            "enterprise_id": enterprise_id,
            "client_id": data.client_id,
            "amount_g": data.amount_g,
            "purpose": data.purpose,
            "beneficiary": data.beneficiary,
            "retirement_transfer_id": transfer_id,
        },
    )
    return await _read_certificate(session, certificate, enterprise), True


def _certificate_read(certificate: Certificate, enterprise: Enterprise, lines: Sequence[Row[Any]]) -> CertificateRead:
    return CertificateRead(
        number=certificate.number,
        enterprise_id=enterprise.id,
        enterprise_name=enterprise.name,
        amount_g=certificate.amount_g,
        purpose=certificate.purpose,
        beneficiary=certificate.beneficiary,
        issued_at=certificate.issued_at,
        provenance=[ProvenanceLine.model_validate(line, from_attributes=True) for line in lines],
    )


async def _read_certificate(
    session: AsyncSession | ReadSession, certificate: Certificate, enterprise: Enterprise
) -> CertificateRead:
    lines = await repository.provenance(session, [certificate.retirement_transfer_id])
    return _certificate_read(certificate, enterprise, lines[certificate.retirement_transfer_id])


async def certificate(session: AsyncSession | ReadSession, number: str) -> CertificateRead:
    found = await repository.certificate_by_number(session, number.strip().upper())
    if found is None:
        raise CertificateNotFound
    return await _read_certificate(session, *found)


async def certificates_of(session: AsyncSession | ReadSession, enterprise_id: int) -> list[CertificateRead]:
    enterprise = await repository.get_enterprise(session, enterprise_id)
    assert enterprise is not None
    certificates = await repository.certificates_of(session, enterprise_id)
    lines = await repository.provenance(session, [c.retirement_transfer_id for c in certificates])
    return [_certificate_read(c, enterprise, lines[c.retirement_transfer_id]) for c in certificates]
