"""The webhook tables: endpoints their owners registered, the events emitted to them, one outbox row per
event and endpoint (a delivery), and every attempt to send one.

An endpoint belongs to one partner or one enterprise (CHECK). A delivery is `pending` until an attempt
gets a 2xx (`delivered`) or its retries run out (`failed`); a redelivery makes it `pending` again. A
dispatcher claims a pending delivery by setting `lease_id` and `leased_until`; another process may claim
it again only once that time has passed, and only the holder of the lease records its outcome.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
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
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, enum_check


class DeliveryStatus(StrEnum):
    pending = "pending"
    delivered = "delivered"
    failed = "failed"


_ONE_OWNER = "(partner_id IS NULL) <> (enterprise_id IS NULL)"


class Endpoint(Base):
    """Where an owner wants events of some types POSTed; the signing secret is sealed at rest."""

    __tablename__ = "webhooks_endpoint"
    __table_args__ = (
        CheckConstraint(_ONE_OWNER, name="one_owner"),
        CheckConstraint("cardinality(event_types) > 0", name="some_events"),
        Index("ix_webhooks_endpoint_partner_id_id", "partner_id", "id"),
        Index("ix_webhooks_endpoint_enterprise_id_id", "enterprise_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("accounts_partner.id"))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("accounts_enterprise.id"))
    url: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, server_default="")
    event_types: Mapped[list[str]] = mapped_column(ARRAY(Text))
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    # The secret before the last rotation still signs deliveries until this time, beside the new one.
    previous_secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    previous_secret_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Event(Base):
    """Something that happened, as its owner will receive it: `body` is the exact JSON every attempt sends,
    `public_id` the webhook-id header every attempt carries."""

    __tablename__ = "webhooks_event"
    __table_args__ = (CheckConstraint(_ONE_OWNER, name="one_owner"), UniqueConstraint("public_id"))

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    public_id: Mapped[str] = mapped_column(Text)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("accounts_partner.id"))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("accounts_enterprise.id"))
    event_type: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Delivery(Base):
    """One event for one endpoint: the outbox row the dispatcher works from."""

    __tablename__ = "webhooks_delivery"
    __table_args__ = (
        CheckConstraint(enum_check("status", DeliveryStatus), name="status"),
        CheckConstraint("(status = 'delivered') = (delivered_at IS NOT NULL)", name="delivered"),
        CheckConstraint("attempts >= 0", name="attempts"),
        UniqueConstraint("event_id", "endpoint_id"),
        # the dispatcher's one question: which pending deliveries are due
        Index("ix_webhooks_delivery_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
        Index("ix_webhooks_delivery_endpoint_id_id", "endpoint_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("webhooks_event.id"))
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhooks_endpoint.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(Text, server_default=DeliveryStatus.pending.value)
    # attempts since the delivery was queued (or queued again by a redelivery): what the retry limit counts
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    lease_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    leased_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Attempt(Base):
    """One POST of a delivery: when, how long it took, and what came back (a status or an error)."""

    __tablename__ = "webhooks_attempt"
    __table_args__ = (
        CheckConstraint("(status_code IS NULL) <> (error IS NULL)", name="outcome"),
        Index("ix_webhooks_attempt_delivery_id_id", "delivery_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhooks_delivery.id", ondelete="CASCADE"))
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    response_excerpt: Mapped[str | None] = mapped_column(Text)
