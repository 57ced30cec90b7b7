"""The redemption tables: rewards, vouchers and retirement certificates, with the checks that keep each
row's state consistent (stock in range, a voucher's status stamped with when it changed)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, enum_check


class RewardCategory(StrEnum):
    food_drink = "food_drink"  # 餐饮
    transport = "transport"  # 出行
    retail = "retail"  # 购物
    culture = "culture"  # 文体 / 展会
    services = "services"  # 生活服务
    other = "other"


class RewardStatus(StrEnum):
    active = "active"
    withdrawn = "withdrawn"


class VoucherStatus(StrEnum):
    issued = "issued"
    used = "used"
    cancelled = "cancelled"
    expired = "expired"


class Reward(Base):
    """A reward an approved enterprise offers for credits. `stock_left` never goes below zero (CHECK)."""

    __tablename__ = "redemption_reward"
    __table_args__ = (
        CheckConstraint(enum_check("category", RewardCategory), name="category"),
        CheckConstraint(enum_check("status", RewardStatus), name="status"),
        CheckConstraint("price_g > 0", name="price_positive"),
        CheckConstraint("stock_left >= 0 AND stock_left <= stock_total", name="stock_in_range"),
        CheckConstraint("per_resident_limit >= 1", name="limit_positive"),
        CheckConstraint("valid_until > valid_from", name="window"),
        CheckConstraint("voucher_valid_days BETWEEN 1 AND 366", name="voucher_valid_days"),
        CheckConstraint("image_id IS NULL OR image_url IS NULL", name="one_image"),
        Index("ix_redemption_reward_enterprise_id", "enterprise_id", "id"),
        Index("ix_redemption_reward_browse", "category", "id", postgresql_where=text("status = 'active'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("accounts_enterprise.id"))
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(Text)
    price_g: Mapped[int] = mapped_column(BigInteger)
    stock_total: Mapped[int] = mapped_column(Integer)
    stock_left: Mapped[int] = mapped_column(Integer)
    per_resident_limit: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    voucher_valid_days: Mapped[int] = mapped_column(Integer)
    # its picture: an https address the enterprise gave, or one it uploaded (photos_reward_image)
    image_url: Mapped[str | None] = mapped_column(Text)
    image_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("photos_reward_image.public_id"))
    status: Mapped[str] = mapped_column(Text, server_default=RewardStatus.active.value)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Voucher(Base):
    """A redeemed reward: an unguessable single-use code that expires. `issued` moves once, to `used`
    at the enterprise's counter, to `cancelled` by the resident (with a refund), or to `expired`. The code
    is held only as a keyed hash and a sealed copy (service/redemption/codes.py)."""

    __tablename__ = "redemption_voucher"
    __table_args__ = (
        UniqueConstraint("resident_id", "client_id"),
        CheckConstraint(enum_check("status", VoucherStatus), name="status"),
        CheckConstraint(
            "(status = 'used') = (used_at IS NOT NULL)"
            " AND (status = 'cancelled') = (cancelled_at IS NOT NULL AND refund_transfer_id IS NOT NULL)",
            name="status_stamped",
        ),
        CheckConstraint("expires_at > issued_at", name="expires_after_issue"),
        Index("ix_redemption_voucher_resident_id_id", "resident_id", "id"),
        Index("ix_redemption_voucher_reward_id_resident_id", "reward_id", "resident_id"),
        Index("ix_redemption_voucher_enterprise_id_id", "enterprise_id", "id"),
        Index(
            "ix_redemption_voucher_outstanding",
            "enterprise_id",
            "expires_at",
            postgresql_where=text("status = 'issued'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    code_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    code_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    reward_id: Mapped[int] = mapped_column(ForeignKey("redemption_reward.id"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("accounts_enterprise.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("accounts_resident.id"))
    client_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    price_g: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(Text, server_default=VoucherStatus.issued.value)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    used_by: Mapped[str | None] = mapped_column(Text)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    redemption_transfer_id: Mapped[int] = mapped_column(ForeignKey("ledger_transfer.id"), unique=True)
    refund_transfer_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transfer.id"), unique=True)


class Certificate(Base):
    """A retirement certificate: grams an enterprise retired for good, for a named purpose. Append-only."""

    __tablename__ = "redemption_certificate"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "client_id"),
        CheckConstraint("amount_g > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    number: Mapped[str] = mapped_column(Text, unique=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("accounts_enterprise.id"))
    client_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    amount_g: Mapped[int] = mapped_column(BigInteger)
    purpose: Mapped[str] = mapped_column(Text)
    beneficiary: Mapped[str | None] = mapped_column(Text)
    retirement_transfer_id: Mapped[int] = mapped_column(ForeignKey("ledger_transfer.id"), unique=True)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
