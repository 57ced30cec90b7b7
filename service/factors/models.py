from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    LargeBinary,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base


class FactorVersion(Base):
    """One published factor set. Immutable: the database refuses UPDATE and DELETE."""

    __tablename__ = "factor_version"
    __table_args__ = (UniqueConstraint("set_code", "version"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    set_code: Mapped[str] = mapped_column(Text)
    version: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    valid_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    published_on: Mapped[date] = mapped_column(Date)
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    published_by: Mapped[str] = mapped_column(Text)
    source_text: Mapped[str] = mapped_column(Text)
    content: Mapped[dict[str, Any]] = mapped_column(JSONB)
    content_sha256: Mapped[bytes] = mapped_column(LargeBinary)


DRAFT_STATUSES = ("pending", "approved", "rejected", "withdrawn")


class FactorDraft(Base):
    """A factor version uploaded for approval. A second administrator approves it, which publishes it as a
    `FactorVersion`; the uploader may withdraw it and another administrator may reject it."""

    __tablename__ = "factor_draft"
    __table_args__ = (
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in DRAFT_STATUSES)})", name="status"),
        CheckConstraint(
            "(status = 'pending') = (decided_at IS NULL) AND (status = 'pending') = (decided_by IS NULL)",
            name="decided",
        ),
        CheckConstraint("(status = 'approved') = (factor_version_id IS NOT NULL)", name="published"),
        CheckConstraint("status <> 'approved' OR decided_by <> uploaded_by", name="two_people"),
        Index("ix_factor_draft_pending", "id", postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    set_code: Mapped[str] = mapped_column(Text)
    version: Mapped[str] = mapped_column(Text)
    source_text: Mapped[str] = mapped_column(Text)
    content: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(Text)
    uploaded_by: Mapped[str] = mapped_column(Text)
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    decided_by: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(Text)
    factor_version_id: Mapped[int | None] = mapped_column(ForeignKey("factor_version.id"))
