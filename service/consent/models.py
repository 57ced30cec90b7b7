"""A resident's links to their accounts at data partners, the one-time codes that make them, and the
consent events (granted, revoked) that the Merkle log seals."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Identity, Index, LargeBinary, Text, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, enum_check


class ConsentMethod(StrEnum):
    """Where the resident read the consent text and agreed."""

    wechat_mini_program = "wechat_mini_program"
    h5 = "h5"


class RevokedBy(StrEnum):
    resident = "resident"  # the resident withdrew consent
    erasure = "erasure"  # the resident deleted their account


class EventKind(StrEnum):
    granted = "granted"
    revoked = "revoked"


class Link(Base):
    """A resident's account at one partner, linked with their consent. The partner names the resident by
    `pseudonym` alone, which no other partner ever sees; erasure clears it and keeps the row, which the
    consent events and the audit of partner credits refer to."""

    __tablename__ = "consent_link"
    __table_args__ = (
        CheckConstraint(enum_check("method", ConsentMethod), name="method"),
        CheckConstraint(enum_check("revoked_by", RevokedBy), name="revoked_by"),
        CheckConstraint("(revoked_at IS NULL) = (revoked_by IS NULL)", name="revoked_by_whom"),
        CheckConstraint("revoked_at IS NOT NULL OR pseudonym IS NOT NULL", name="in_force_has_pseudonym"),
        CheckConstraint("octet_length(text_sha256) = 32", name="text_sha256"),
        # one link in force per resident and partner; the audit of partner credits reads a resident's
        # links with one partner by this index
        Index(
            "uq_consent_link_in_force",
            "resident_id",
            "partner_id",
            unique=True,
            postgresql_where=text("revoked_at IS NULL"),
        ),
        Index("ix_consent_link_resident_id_partner_id", "resident_id", "partner_id", "granted_at"),
        Index("ix_consent_link_partner_id_id", "partner_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    public_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), unique=True, server_default=text("gen_random_uuid()")
    )
    resident_id: Mapped[int] = mapped_column(ForeignKey("accounts_resident.id"))
    partner_id: Mapped[int] = mapped_column(ForeignKey("accounts_partner.id"))
    pseudonym: Mapped[str | None] = mapped_column(Text, unique=True)
    text_version: Mapped[str] = mapped_column(Text)
    locale: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[bytes] = mapped_column(LargeBinary)
    method: Mapped[str] = mapped_column(Text)
    agreed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by: Mapped[str | None] = mapped_column(Text)


class LinkCode(Base):
    """A one-time code a resident carries to a partner's app; only its hash is kept. The consent the
    resident gave when asking for it travels with it into the link."""

    __tablename__ = "consent_link_code"
    __table_args__ = (
        CheckConstraint(enum_check("method", ConsentMethod), name="method"),
        CheckConstraint("octet_length(text_sha256) = 32", name="text_sha256"),
        Index("ix_consent_link_code_resident_id", "resident_id"),
        Index("ix_consent_link_code_expires_at", "expires_at"),
    )

    code_hash: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("accounts_resident.id"))
    partner_id: Mapped[int] = mapped_column(ForeignKey("accounts_partner.id"))
    text_version: Mapped[str] = mapped_column(Text)
    locale: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[bytes] = mapped_column(LargeBinary)
    method: Mapped[str] = mapped_column(Text)
    agreed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    link_id: Mapped[int | None] = mapped_column(ForeignKey("consent_link.id"))


class ConsentEvent(Base):
    """A consent granted or revoked, as the Merkle log seals it: no personal data, only the link's public
    id (which the resident sees), the partner, the text agreed to and when. Append-only."""

    __tablename__ = "consent_event"
    __table_args__ = (
        CheckConstraint(enum_check("kind", EventKind), name="kind"),
        CheckConstraint(enum_check("method", ConsentMethod), name="method"),
        Index("ix_consent_event_link_id", "link_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("consent_link.id"))
    kind: Mapped[str] = mapped_column(Text)
    partner_id: Mapped[int] = mapped_column(BigInteger)
    text_version: Mapped[str] = mapped_column(Text)
    locale: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[bytes] = mapped_column(LargeBinary)
    method: Mapped[str] = mapped_column(Text)
    # why a revocation happened (RevokedBy); none for a grant
    reason: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
