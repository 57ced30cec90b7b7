from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    PrimaryKeyConstraint,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, KeyText

STATUSES = ("credited", "capped", "pending_review", "rejected", "duplicate", "superseded")


class Behaviour(Base):
    """A recorded behaviour with every figure of its calculation and the factor version it used."""

    __tablename__ = "ingest_behaviour"
    __table_args__ = (
        # Each key indexes only the rows that have one: a resident's report has no partner record id
        # and a partner's record no client id.
        Index(
            "uq_ingest_behaviour_resident_id_client_id",
            "resident_id",
            "client_id",
            unique=True,
            postgresql_where=text("client_id IS NOT NULL"),
        ),
        Index(
            "uq_ingest_behaviour_partner_id_external_id",
            "partner_id",
            "external_id",
            unique=True,
            postgresql_where=text("external_id IS NOT NULL"),
        ),
        CheckConstraint("source IN ('resident', 'partner')", name="source"),
        CheckConstraint(
            "(source = 'resident') = (client_id IS NOT NULL)"
            " AND (source = 'partner') = (partner_id IS NOT NULL AND external_id IS NOT NULL)",
            name="idempotency_key",
        ),
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in STATUSES)})", name="status"),
        CheckConstraint("tier IN ('partner', 'evidence', 'self')", name="tier"),
        CheckConstraint("credited_g >= 0 AND capped_g >= 0 AND credited_g + capped_g <= grams", name="amounts"),
        CheckConstraint("ended_at >= occurred_at", name="interval"),
        # A resident's behaviours by when they happened: the trip check, the history and the fraud
        # scan's bursts all read them through this one index. ended_at, after the unique id, leaves the
        # order as it is and lets the trip check pass over a behaviour that ends before the new one
        # starts without reading the table.
        Index("ix_ingest_behaviour_resident_id_occurred_at", "resident_id", "occurred_at", "id", "ended_at"),
        Index("ix_ingest_behaviour_pending", "id", postgresql_where="status = 'pending_review'"),
        # the monthly report's reviews: only where one was made, so recording adds no entry
        Index("ix_ingest_behaviour_reviewed_at", "reviewed_at", postgresql_where=text("reviewed_at IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("accounts_resident.id"))
    source: Mapped[str] = mapped_column(Text)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("accounts_partner.id"))
    client_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    external_id: Mapped[str | None] = mapped_column(KeyText)
    behaviour_type: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(Text)
    trip_group: Mapped[str] = mapped_column(KeyText)
    quantity: Mapped[Decimal] = mapped_column(Numeric)
    reported_quantity: Mapped[Decimal] = mapped_column(Numeric)
    reported_unit: Mapped[str] = mapped_column(Text)
    unit: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    local_date: Mapped[date] = mapped_column(Date)
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    tier: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    # No foreign key: see the note in service/ledger/models.py on hot parent rows.
    factor_version_id: Mapped[int] = mapped_column(BigInteger)
    reduction_g_per_unit: Mapped[Decimal] = mapped_column(Numeric)
    weight: Mapped[Decimal] = mapped_column(Numeric)
    exact_g: Mapped[Decimal] = mapped_column(Numeric)
    grams: Mapped[int] = mapped_column(BigInteger)
    remainder_g: Mapped[Decimal] = mapped_column(Numeric)
    credited_g: Mapped[int] = mapped_column(BigInteger)
    capped_g: Mapped[int] = mapped_column(BigInteger)
    cap_reason: Mapped[str | None] = mapped_column(Text)
    balance_after: Mapped[int | None] = mapped_column(BigInteger)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("ingest_behaviour.id"))
    content_sha256: Mapped[bytes] = mapped_column(LargeBinary)
    reviewed_by: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    review_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CapUsage(Base):
    """Grams credited per resident, behaviour type and day or year: what the caps are checked against."""

    __tablename__ = "ingest_cap_usage"
    __table_args__ = (
        PrimaryKeyConstraint("resident_id", "behaviour_type", "period", "period_start"),
        CheckConstraint("period IN ('day', 'year')", name="period"),
        # every credit updates two of these rows: room on each page keeps those updates HOT
        {"postgresql_with": {"fillfactor": 80}},
    )

    resident_id: Mapped[int] = mapped_column(BigInteger)
    behaviour_type: Mapped[str] = mapped_column(KeyText)
    period: Mapped[str] = mapped_column(KeyText)
    period_start: Mapped[date] = mapped_column(Date)
    credited_g: Mapped[int] = mapped_column(BigInteger)


class BudgetSlot(Base):
    """The platform's daily issuance budget, split into slots so that no one row serialises recording."""

    __tablename__ = "ingest_budget_slot"
    __table_args__ = (PrimaryKeyConstraint("budget_date", "slot"),)

    budget_date: Mapped[date] = mapped_column(Date)
    slot: Mapped[int] = mapped_column(Integer)
    used_g: Mapped[int] = mapped_column(BigInteger)


FLAG_KINDS = ("implausible_speed", "burst", "two_sources", "shared_device", "refused_evidence")


class EvidenceClaim(Base):
    """A digest no second report may name: a site code as one resident used it, or a photo's content.
    Written by ingest_record_batch() with the record that makes the claim."""

    __tablename__ = "ingest_evidence_claim"

    claim: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    behaviour_id: Mapped[int] = mapped_column(BigInteger)


class EvidenceRefusal(Base):
    """A resident's evidence that failed a check (`code` names it): counted by the fraud scan, once per
    report (`client_id`), however often the app sends it again."""

    __tablename__ = "ingest_evidence_refusal"
    __table_args__ = (
        UniqueConstraint("resident_id", "client_id"),
        Index("ix_ingest_evidence_refusal_refused_at", "refused_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("accounts_resident.id"))
    client_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    code: Mapped[str] = mapped_column(Text)
    refused_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Flag(Base):
    """Something for an operator to look at, raised once per kind and subject by the background scan."""

    __tablename__ = "ingest_flag"
    __table_args__ = (
        UniqueConstraint("kind", "subject"),
        CheckConstraint(f"kind IN ({', '.join(repr(k) for k in FLAG_KINDS)})", name="kind"),
        CheckConstraint("resolution IS NULL OR resolution IN ('confirmed', 'dismissed')", name="resolution"),
        CheckConstraint("(resolution IS NULL) = (resolved_at IS NULL)", name="resolved"),
        Index("ix_ingest_flag_open", "id", postgresql_where=text("resolution IS NULL")),
        Index("ix_ingest_flag_resident_id_id", "resident_id", "id"),
        Index("ix_ingest_flag_raised_at", "raised_at"),
        Index("ix_ingest_flag_resolved_at", "resolved_at", postgresql_where=text("resolved_at IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("accounts_resident.id"))
    behaviour_id: Mapped[int | None] = mapped_column(ForeignKey("ingest_behaviour.id"))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB)
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(Text)
    resolution_reason: Mapped[str | None] = mapped_column(Text)


class FlagState(Base):
    __tablename__ = "ingest_flag_state"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    behaviour_through: Mapped[int] = mapped_column(BigInteger)
