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
    Integer,
    LargeBinary,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from service.db import Base, enum_check


class PhotoType(StrEnum):
    jpeg = "image/jpeg"
    png = "image/png"
    webp = "image/webp"


class _StoredPicture:
    """What a picture kept in the content-addressed store records: its public id, its bytes' SHA-256 (under
    which the bytes are stored once), type and sizes."""

    @declared_attr.directive
    def __table_args__(cls) -> tuple[CheckConstraint, ...]:
        return (
            CheckConstraint(enum_check("content_type", PhotoType), name="content_type"),
            CheckConstraint("octet_length(sha256) = 32", name="sha256_length"),
            CheckConstraint("size_bytes > 0 AND width > 0 AND height > 0", name="positive_sizes"),
        )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    public_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), unique=True, server_default=text("gen_random_uuid()")
    )
    sha256: Mapped[bytes] = mapped_column(LargeBinary, index=True)
    content_type: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)


class Photo(_StoredPicture, Base):
    """A resident's photo as stored: re-encoded without metadata, its bytes kept once per content under
    their SHA-256 (two photos with the same bytes share one stored object)."""

    __tablename__ = "photos_photo"

    resident_id: Mapped[int] = mapped_column(ForeignKey("accounts_resident.id"), index=True)
    # the retention pass looks for photos by age
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)


class RewardImage(_StoredPicture, Base):
    """The picture of an enterprise's reward: re-encoded without metadata like a resident's photo and kept
    in the same store, once per content, but public (residents' catalogues show it) and kept for as long
    as the service runs: no retention pass deletes it, and a content it holds is never deleted."""

    __tablename__ = "photos_reward_image"

    enterprise_id: Mapped[int] = mapped_column(ForeignKey("accounts_enterprise.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
