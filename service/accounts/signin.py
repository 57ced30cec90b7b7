"""Signing in and out: residents by WeChat (or the dev login), staff by password and TOTP; tokens and their
refresh."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from service.accounts import repository, security
from service.accounts.errors import (
    AccountDisabled,
    InvalidCredentials,
    InvalidRefreshToken,
    RefreshTokenReused,
    TotpInvalid,
    TotpRequired,
)
from service.accounts.models import EnterpriseStatus, Resident, Role, SigninOutcome, User
from service.accounts.passwords import verify_password
from service.accounts.repository import security as security_store
from service.accounts.schemas import TokenPair
from service.accounts.tokens import Keyring, Principal
from service.accounts.wechat import WechatClient
from service.kit import ratelimit
from service.kit.secrets import SecretBox, random_token, sha256

DEV_OPENID_PREFIX = "dev:"


async def issue_tokens(
    session: AsyncSession,
    *,
    keyring: Keyring,
    principal: Principal,
    refresh_ttl: timedelta,
    family_id: uuid.UUID | None = None,
) -> TokenPair:
    family_id = family_id or uuid.uuid4()
    access, expires_in = keyring.issue(principal, session_id=str(family_id))
    refresh = random_token()
    await repository.insert_refresh_token(
        session,
        family_id=family_id,
        subject_kind=principal.subject_kind,
        subject_id=principal.subject_id,
        role=principal.role.value,
        token_hash=sha256(refresh),
        expires_at=datetime.now(UTC) + refresh_ttl,
    )
    return TokenPair(
        access_token=access,
        expires_in=expires_in,
        refresh_token=refresh,
        refresh_expires_in=int(refresh_ttl.total_seconds()),
        role=principal.role,
        totp_enrolment_required=principal.enrolment_only,
    )


async def refresh_tokens(
    session: AsyncSession, *, keyring: Keyring, refresh_token: str, refresh_ttl: timedelta, admin_totp_required: bool
) -> TokenPair:
    """Rotate: the presented token is spent and a new pair issued in the same family.

    Presenting a spent token means it leaked (or a client raced itself): the whole family is revoked,
    and that revocation is kept even though the request fails.
    """
    token_hash = sha256(refresh_token)
    await repository.lock_refresh_family_of(session, token_hash)
    stored = await repository.lock_refresh_token(session, token_hash)
    if stored is None or stored.revoked_at is not None or stored.expires_at <= datetime.now(UTC):
        raise InvalidRefreshToken
    if stored.used_at is not None:
        await repository.revoke_refresh_family(session, stored.family_id, reason="reuse")
        raise RefreshTokenReused
    principal = await _current_principal(
        session, subject_kind=stored.subject_kind, subject_id=stored.subject_id, admin_totp_required=admin_totp_required
    )
    if principal is None:
        await repository.revoke_refresh_family(session, stored.family_id, reason="account-closed")
        raise InvalidRefreshToken
    await repository.mark_refresh_token_used(session, stored.id)
    if stored.subject_kind == "user":
        await security_store.touch_session(session, stored.family_id)
    return await issue_tokens(
        session, keyring=keyring, principal=principal, refresh_ttl=refresh_ttl, family_id=stored.family_id
    )


async def _current_principal(
    session: AsyncSession, *, subject_kind: str, subject_id: int, admin_totp_required: bool
) -> Principal | None:
    """The principal as it stands now: role changes, disabling and enrolling in TOTP take effect at the next
    refresh."""
    if subject_kind == "resident":
        resident = await repository.get_resident(session, subject_id)
        if resident is None or resident.deleted_at is not None:
            return None
        return Principal("resident", resident.id, Role.resident)
    user = await repository.get_user(session, subject_id)
    if user is None or user.disabled_at is not None:
        return None
    enrolled = await security_store.has_confirmed_totp(session, user.id)
    return await _user_principal(session, user, admin_totp_required=admin_totp_required, enrolled=enrolled)


async def _user_principal(session: AsyncSession, user: User, *, admin_totp_required: bool, enrolled: bool) -> Principal:
    """A staff user's principal; an enterprise user's says whether its enterprise is approved, and an
    administrator's who must use TOTP and has not enrolled is good for enrolling only."""
    approved = True
    if user.enterprise_id is not None:
        enterprise = await repository.get_enterprise(session, user.enterprise_id)
        approved = enterprise is not None and enterprise.status == EnterpriseStatus.approved.value
    role = Role(user.role)
    enrolment_only = security.totp_required_for(role, admin_totp_required=admin_totp_required) and not enrolled
    return Principal(
        "user",
        user.id,
        role,
        user.enterprise_id,
        enterprise_approved=approved,
        enrolment_only=enrolment_only,
        scope_community_id=user.scope_community_id,
    )


async def logout(session: AsyncSession, *, refresh_token: str) -> None:
    token_hash = sha256(refresh_token)
    await repository.lock_refresh_family_of(session, token_hash)
    stored = await repository.lock_refresh_token(session, token_hash)
    if stored is not None:
        await repository.revoke_refresh_family(session, stored.family_id, reason="logout")


def _resident_principal(resident: Resident) -> Principal:
    return Principal("resident", resident.id, Role.resident)


def _new_pseudonym() -> str:
    return "r-" + secrets.token_hex(8)


async def _sign_in_resident(
    session: AsyncSession,
    *,
    keyring: Keyring,
    openid: str,
    unionid: str | None,
    refresh_ttl: timedelta,
    device_id: str | None,
) -> TokenPair:
    """Find or create the resident of an openid, remember the device they came from, and sign them in."""
    resident = await repository.upsert_resident_by_openid(
        session, openid=openid, unionid=unionid, pseudonym=_new_pseudonym()
    )
    if device_id is not None:
        await repository.remember_device(session, device_id=device_id, resident_id=resident.id)
    return await issue_tokens(
        session, keyring=keyring, principal=_resident_principal(resident), refresh_ttl=refresh_ttl
    )


async def sign_in_wechat(
    session: AsyncSession,
    *,
    wechat: WechatClient,
    keyring: Keyring,
    code: str,
    refresh_ttl: timedelta,
    device_id: str | None = None,
) -> TokenPair:
    wx = await wechat.code2session(code)
    return await _sign_in_resident(
        session, keyring=keyring, openid=wx.openid, unionid=wx.unionid, refresh_ttl=refresh_ttl, device_id=device_id
    )


async def sign_in_dev(
    session: AsyncSession, *, keyring: Keyring, name: str, refresh_ttl: timedelta, device_id: str | None = None
) -> TokenPair:
    return await _sign_in_resident(
        session,
        keyring=keyring,
        openid=DEV_OPENID_PREFIX + name,
        unionid=None,
        refresh_ttl=refresh_ttl,
        device_id=device_id,
    )


@dataclass(frozen=True, slots=True)
class PasswordLimits:
    """How many sign-ins a username takes: from one address (`per_address`), and from every address it
    has not signed in from within `known_for`, all together (`elsewhere`). A wrong second factor takes from
    `elsewhere` whatever the address."""

    per_address: ratelimit.Limit
    elsewhere: ratelimit.Limit
    known_for: timedelta


@dataclass(frozen=True, slots=True)
class PasswordAttempt:
    """What a staff sign-in presents, and where it comes from."""

    username: str
    password: str
    address: str
    user_agent: str | None = None
    totp_code: str | None = None
    recovery_code: str | None = None


async def sign_in_password(
    session: AsyncSession,
    *,
    keyring: Keyring,
    engine: AsyncEngine,
    box: SecretBox,
    limits: PasswordLimits,
    attempt: PasswordAttempt,
    refresh_ttl: timedelta,
    admin_totp_required: bool,
) -> TokenPair:
    """A staff user's sign-in: the password, then for a user with TOTP a code or a recovery code. Guessing
    is slow from any one address, and from all addresses together except those the user signed in from
    lately: guesses from elsewhere never keep the owner out of the addresses they use. Every attempt at an
    existing username is recorded for its user to read (the refusals keep that write)."""
    username, address = attempt.username, attempt.address
    await ratelimit.take(engine, f"signin-user:{username}:{address}", limits.per_address)
    user = await repository.get_user_by_username(session, username)
    if user is None or not await repository.signed_in_from(
        session, user_id=user.id, address=address, since=limits.known_for
    ):
        await ratelimit.take(engine, f"signin-user:{username}", limits.elsewhere)
    if not await verify_password(user.password_hash if user else None, attempt.password) or user is None:
        if user is not None:
            await _record(session, user, attempt, SigninOutcome.wrong_password)
        raise InvalidCredentials
    if user.disabled_at is not None:
        await _record(session, user, attempt, SigninOutcome.account_disabled)
        raise AccountDisabled
    enrolled = await security_store.has_confirmed_totp(session, user.id)
    second_factor = None
    if enrolled:
        if attempt.totp_code is None and attempt.recovery_code is None:
            await _record(session, user, attempt, SigninOutcome.totp_required)
            raise TotpRequired(
                "Send the code from the authenticator app as totp_code, or a recovery code as recovery_code.",
                "请在 totp_code 中提供身份验证器应用中的验证码，或在 recovery_code 中提供恢复码。",
            )
        second_factor = await security.check_second_factor(
            session, box=box, user=user, totp_code=attempt.totp_code, recovery_code=attempt.recovery_code
        )
        if second_factor is None:
            await ratelimit.take(engine, f"signin-user:{username}", limits.elsewhere)
            await _record(session, user, attempt, SigninOutcome.totp_invalid)
            raise TotpInvalid
    await repository.touch_last_login(session, user.id)
    await repository.remember_signin_address(session, user_id=user.id, address=address)
    principal = await _user_principal(session, user, admin_totp_required=admin_totp_required, enrolled=enrolled)
    family_id = uuid.uuid4()
    tokens = await issue_tokens(
        session, keyring=keyring, principal=principal, refresh_ttl=refresh_ttl, family_id=family_id
    )
    await security_store.insert_session(
        session, family_id=family_id, user_id=user.id, address=address, user_agent=attempt.user_agent
    )
    await _record(session, user, attempt, SigninOutcome.signed_in, second_factor=second_factor)
    return tokens


async def _record(
    session: AsyncSession,
    user: User,
    attempt: PasswordAttempt,
    outcome: SigninOutcome,
    *,
    second_factor: str | None = None,
) -> None:
    await security_store.record_signin(
        session,
        user_id=user.id,
        outcome=outcome.value,
        address=attempt.address,
        user_agent=attempt.user_agent,
        second_factor=second_factor,
    )
