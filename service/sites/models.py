"""The registry's tables: sites, their signing keys, and the version number the caches poll.

A site's id is what its codes carry (four bytes), so it stays within uint32; a key's number is one byte.
A site has at most one active key (neither retired nor revoked). Any write to either table bumps
`sites_registry.version` in the same transaction (statement triggers calling sites_registry_changed()),
so a cache that reads one row knows whether to reload.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, enum_check
from service.factors.model import SiteKind

UINT32_MAX = 2**32 - 1
MAX_KEY_NUMBER = 255
MAX_WINDOW_MINUTES = 10


class Site(Base):
    """A place that shows a signed, rotating code: a station, stop, dock, recycling station or venue gate.

    `owner_partner_id` is the data partner that runs it; NULL when the platform does."""

    __tablename__ = "sites_site"
    __table_args__ = (
        CheckConstraint(f"id BETWEEN 1 AND {UINT32_MAX}", name="id_fits_uint32"),
        CheckConstraint("code ~ '^[a-z0-9][a-z0-9_-]{1,63}$'", name="code_format"),
        CheckConstraint("char_length(name_zh) BETWEEN 1 AND 100", name="name_zh_length"),
        CheckConstraint("char_length(name_en) BETWEEN 1 AND 100", name="name_en_length"),
        CheckConstraint(enum_check("kind", SiteKind), name="kind"),
        CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude_range"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude_range"),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="validity"),
        CheckConstraint(f"window_minutes BETWEEN 1 AND {MAX_WINDOW_MINUTES}", name="window_minutes"),
        Index("ix_sites_site_kind_id", "kind", "id"),
        Index("ix_sites_site_owner_id", "owner_partner_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name_zh: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    # WGS-84 degrees; six decimal places is about 0.1 m
    latitude: Mapped[Decimal] = mapped_column(Numeric(9, 6))
    longitude: Mapped[Decimal] = mapped_column(Numeric(9, 6))
    owner_partner_id: Mapped[int | None] = mapped_column(ForeignKey("accounts_partner.id"))
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    valid_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    window_minutes: Mapped[int] = mapped_column(SmallInteger, server_default=text("1"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SiteKey(Base):
    """One of a site's Ed25519 public keys, numbered 1, 2, 3… in the order they were issued.

    Rotation sets `retired_at` on the key it replaces: codes whose window starts before then still count.
    Revocation (a compromised key) refuses every code of the key from then on."""

    __tablename__ = "sites_site_key"
    __table_args__ = (
        UniqueConstraint("site_id", "key_number"),
        CheckConstraint(f"key_number BETWEEN 1 AND {MAX_KEY_NUMBER}", name="key_number_range"),
        CheckConstraint("octet_length(public_key) = 32", name="public_key_length"),
        CheckConstraint("(revoked_at IS NULL) = (revoke_reason IS NULL)", name="revoked_with_reason"),
        Index(
            "ix_sites_site_key_one_active",
            "site_id",
            unique=True,
            postgresql_where=text("retired_at IS NULL AND revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites_site.id"))
    key_number: Mapped[int] = mapped_column(SmallInteger)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoke_reason: Mapped[str | None] = mapped_column(Text)


class RegistryVersion(Base):
    """One row: bumped by trigger on every write to sites or keys, read by every cache to know it is behind."""

    __tablename__ = "sites_registry"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger)
