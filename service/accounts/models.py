from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    LargeBinary,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, enum_check


class CommunityKind(StrEnum):
    town = "town"  # 镇
    street = "street"  # 街道
    area = "area"  # 园区 / 片区


class OrganisationKind(StrEnum):
    school = "school"
    enterprise = "enterprise"
    public_institution = "public_institution"


class Role(StrEnum):
    resident = "resident"
    enterprise = "enterprise"
    admin_auditor = "admin-auditor"
    admin_operator = "admin-operator"
    admin_super = "admin-super"


ADMIN_ROLES = (Role.admin_auditor, Role.admin_operator, Role.admin_super)


class EnterpriseStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    suspended = "suspended"


class PartnerKind(StrEnum):
    transit_card = "transit_card"
    hydrogen_bus = "hydrogen_bus"
    bike_share = "bike_share"
    recycling_station = "recycling_station"
    exhibition_gate = "exhibition_gate"


class Community(Base):
    """A town, street or area of Jinnan that residents belong to (seeded by migration)."""

    __tablename__ = "accounts_community"
    __table_args__ = (CheckConstraint(enum_check("kind", CommunityKind), name="kind"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name_zh: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)


class Organisation(Base):
    """A school, enterprise or public institution a resident may join for group leaderboards."""

    __tablename__ = "accounts_organisation"
    __table_args__ = (CheckConstraint(enum_check("kind", OrganisationKind), name="kind"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name_zh: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("accounts_community.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Resident(Base):
    """A resident. On deletion the personal columns are cleared and `pseudonym` stands in for them."""

    __tablename__ = "accounts_resident"
    __table_args__ = (
        # a scoped officer's queries take its community's residents by this (service/accounts/scope.py)
        Index("ix_accounts_resident_community_id_id", "community_id", "id"),
        CheckConstraint(
            "deleted_at IS NULL OR (openid IS NULL AND unionid IS NULL AND nickname IS NULL)",
            name="deleted_has_no_personal_data",
        ),
        CheckConstraint("erased_at IS NULL OR deleted_at IS NOT NULL", name="erased_when_deleted"),
        # accounts deleted before their erasure was complete, which the retention pass erases
        Index(
            "ix_accounts_resident_unerased", "id", postgresql_where=text("deleted_at IS NOT NULL AND erased_at IS NULL")
        ),
        CheckConstraint("char_length(nickname) BETWEEN 1 AND 32", name="nickname_length"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    public_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), unique=True, server_default=text("gen_random_uuid()")
    )
    pseudonym: Mapped[str] = mapped_column(Text, unique=True)
    openid: Mapped[str | None] = mapped_column(Text, unique=True)
    unionid: Mapped[str | None] = mapped_column(Text)
    nickname: Mapped[str | None] = mapped_column(Text)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("accounts_community.id"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("accounts_organisation.id"))
    leaderboard_visible: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # when every personal field everywhere was erased (service/privacy/erasure.py)
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # a frozen resident records and redeems nothing until an operator unfreezes them; the balance stays
    frozen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    frozen_reason: Mapped[str | None] = mapped_column(Text)


class Device(Base):
    """A resident signed in from this device (an id the app keeps in its own storage)."""

    __tablename__ = "accounts_device"
    __table_args__ = (Index("ix_accounts_device_last_seen", "last_seen"),)

    device_id: Mapped[str] = mapped_column(Text, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("accounts_resident.id"), primary_key=True)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Enterprise(Base):
    """An enterprise that registers itself and is approved by an operator before it may publish rewards
    or retire credits. Its ledger account opens by trigger when it is created."""

    __tablename__ = "accounts_enterprise"
    __table_args__ = (
        CheckConstraint(enum_check("status", EnterpriseStatus), name="status"),
        CheckConstraint("credit_code ~ '^[0-9A-Z]{18}$'", name="credit_code_format"),
        Index("ix_accounts_enterprise_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    status: Mapped[str] = mapped_column(Text, server_default=EnterpriseStatus.pending.value)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # 统一社会信用代码; absent for enterprises an operator onboarded directly
    credit_code: Mapped[str | None] = mapped_column(Text, unique=True)
    contact_name: Mapped[str | None] = mapped_column(Text)
    contact_phone: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reviewed_by: Mapped[str | None] = mapped_column(Text)
    review_reason: Mapped[str | None] = mapped_column(Text)


class User(Base):
    """An enterprise or administrator account that signs in with a username and password."""

    __tablename__ = "accounts_user"
    __table_args__ = (
        CheckConstraint("role IN ('enterprise', 'admin-auditor', 'admin-operator', 'admin-super')", name="role"),
        CheckConstraint("(role = 'enterprise') = (enterprise_id IS NOT NULL)", name="enterprise_user_has_enterprise"),
        CheckConstraint("username ~ '^[a-z0-9][a-z0-9._-]{2,63}$'", name="username_format"),
        # a town or community officer: an auditor or operator kept to one community's residents
        CheckConstraint(
            "scope_community_id IS NULL OR role IN ('admin-auditor', 'admin-operator')", name="scope_for_officers"
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    username: Mapped[str] = mapped_column(Text, unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)
    display_name: Mapped[str] = mapped_column(Text)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("accounts_enterprise.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # the one community an administrator is kept to (service/accounts/scope.py); None: the whole district
    scope_community_id: Mapped[int | None] = mapped_column(ForeignKey("accounts_community.id"))


class UserSigninAddress(Base):
    """An address a staff user signed in from lately. Guesses at a username from addresses it has not
    signed in from share one budget; sign-ins from these are held only to their own address's limit, so
    guesses from elsewhere cannot lock the owner out."""

    __tablename__ = "accounts_user_signin_address"

    user_id: Mapped[int] = mapped_column(ForeignKey("accounts_user.id"), primary_key=True)
    address: Mapped[str] = mapped_column(Text, primary_key=True)
    last_signed_in_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Partner(Base):
    """A data partner that pushes signed behaviour batches."""

    __tablename__ = "accounts_partner"
    __table_args__ = (
        CheckConstraint(enum_check("kind", PartnerKind), name="kind"),
        CheckConstraint("code ~ '^[a-z0-9][a-z0-9_-]{1,31}$'", name="code_format"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PartnerKey(Base):
    """A partner's signing key. The secret is stored encrypted (AES-GCM under the server secret key)."""

    __tablename__ = "accounts_partner_key"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("accounts_partner.id"), index=True)
    key_id: Mapped[str] = mapped_column(Text, unique=True)
    secret_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PartnerSignatureSeen(Base):
    """Signatures already accepted, kept for the replay window so that none is accepted twice."""

    __tablename__ = "accounts_partner_signature_seen"
    __table_args__ = (Index("ix_accounts_partner_signature_seen_seen_at", "seen_at"),)

    partner_key_id: Mapped[int] = mapped_column(ForeignKey("accounts_partner_key.id"), primary_key=True)
    signature: Mapped[str] = mapped_column(Text, primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RefreshToken(Base):
    """A refresh token, stored as its SHA-256. Tokens of one sign-in share a family; reuse revokes it."""

    __tablename__ = "accounts_refresh_token"
    __table_args__ = (
        CheckConstraint("subject_kind IN ('resident', 'user')", name="subject_kind"),
        Index("ix_accounts_refresh_token_family_id", "family_id"),
        Index("ix_accounts_refresh_token_subject", "subject_kind", "subject_id"),
        # the retention pass deletes tokens long expired (service/privacy/retention.py)
        Index("ix_accounts_refresh_token_expires_at", "expires_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )
    family_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    subject_kind: Mapped[str] = mapped_column(Text)
    subject_id: Mapped[int] = mapped_column(BigInteger)
    role: Mapped[str] = mapped_column(Text)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoke_reason: Mapped[str | None] = mapped_column(Text)


class AccessRevocation(Base):
    """Access tokens refused before they expire: every token of a subject issued by `revoked_at` (a user
    disabled, an account deleted), or every token of one sign-in (a refresh-token family signed out or
    found reused). Each worker keeps the rows of the last access-token lifetime in memory, told of new
    ones by NOTIFY (service/accounts/revocations.py)."""

    __tablename__ = "accounts_access_revocation"
    __table_args__ = (
        CheckConstraint(
            "(family_id IS NULL) = (subject_kind IS NOT NULL AND subject_id IS NOT NULL)", name="subject_or_family"
        ),
        Index("ix_accounts_access_revocation_revoked_at", "revoked_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    subject_kind: Mapped[str | None] = mapped_column(Text)
    subject_id: Mapped[int | None] = mapped_column(BigInteger)
    family_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    revoked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AdminAction(Base):
    """One administrator's or operator's action: who, when, what, on what, and why. Append-only."""

    __tablename__ = "audit_action"
    __table_args__ = (
        Index("ix_audit_action_actor_id", "actor", "id"),
        Index("ix_audit_action_action_id", "action", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    target: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB)
    request_id: Mapped[str | None] = mapped_column(Text)


class UserTotp(Base):
    """A staff user's TOTP secret (RFC 6238), sealed under the server's key. Pending until a code from it
    is confirmed; `last_step` is the last time step a code was accepted for, so no code works twice."""

    __tablename__ = "accounts_user_totp"

    user_id: Mapped[int] = mapped_column(ForeignKey("accounts_user.id"), primary_key=True)
    secret_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_step: Mapped[int | None] = mapped_column(BigInteger)


class UserRecoveryCode(Base):
    """One of a TOTP user's one-time recovery codes, stored as its SHA-256 (each holds 80 random bits)."""

    __tablename__ = "accounts_user_recovery_code"

    user_id: Mapped[int] = mapped_column(ForeignKey("accounts_user.id"), primary_key=True)
    code_hash: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StaffSession(Base):
    """One staff sign-in (a refresh-token family): where it came from and when its tokens were last issued.
    It is active while its family holds a refresh token that can still be used."""

    __tablename__ = "accounts_staff_session"
    __table_args__ = (
        Index("ix_accounts_staff_session_user_id_id", "user_id", "id"),
        Index("ix_accounts_staff_session_last_used_at", "last_used_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    family_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("accounts_user.id"))
    signed_in_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    address: Mapped[str] = mapped_column(Text)
    user_agent: Mapped[str | None] = mapped_column(Text)


class SigninOutcome(StrEnum):
    signed_in = "signed_in"
    wrong_password = "wrong_password"  # noqa: S105
    account_disabled = "account_disabled"
    totp_required = "totp_required"
    totp_invalid = "totp_invalid"


class StaffSignin(Base):
    """One attempt to sign in as a staff user, kept `signin_history_days` for its owner to read."""

    __tablename__ = "accounts_staff_signin"
    __table_args__ = (
        CheckConstraint(enum_check("outcome", SigninOutcome), name="outcome"),
        CheckConstraint("second_factor IN ('totp', 'recovery_code')", name="second_factor"),
        Index("ix_accounts_staff_signin_user_id_id", "user_id", "id"),
        Index("ix_accounts_staff_signin_at", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("accounts_user.id"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    outcome: Mapped[str] = mapped_column(Text)
    # how the second factor was given on a sign-in that passed it: "totp" or "recovery_code"
    second_factor: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str] = mapped_column(Text)
    user_agent: Mapped[str | None] = mapped_column(Text)
