"""Signing in and out: residents by WeChat (or the dev login), staff by password; tokens and their refresh."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from service.accounts import repository
from service.accounts.errors import AccountDisabled, InvalidCredentials, InvalidRefreshToken, RefreshTokenReused
from service.accounts.models import EnterpriseStatus, Resident, Role, User
from service.accounts.passwords import verify_password
from service.accounts.schemas import TokenPair
from service.accounts.tokens import Keyring, Principal
from service.accounts.wechat import WechatClient
from service.kit import ratelimit
from service.kit.secrets import random_token, sha256

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
    )


async def refresh_tokens(
    session: AsyncSession, *, keyring: Keyring, refresh_token: str, refresh_ttl: timedelta
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
    principal = await _current_principal(session, subject_kind=stored.subject_kind, subject_id=stored.subject_id)
    if principal is None:
        await repository.revoke_refresh_family(session, stored.family_id, reason="account-closed")
        raise InvalidRefreshToken
    await repository.mark_refresh_token_used(session, stored.id)
    return await issue_tokens(
        session, keyring=keyring, principal=principal, refresh_ttl=refresh_ttl, family_id=stored.family_id
    )


async def _current_principal(session: AsyncSession, *, subject_kind: str, subject_id: int) -> Principal | None:
    """The principal as it stands now: role changes and disabling take effect at the next refresh."""
    if subject_kind == "resident":
        resident = await repository.get_resident(session, subject_id)
        if resident is None or resident.deleted_at is not None:
            return None
        return Principal("resident", resident.id, Role.resident)
    user = await repository.get_user(session, subject_id)
    if user is None or user.disabled_at is not None:
        return None
    return await _user_principal(session, user)


async def _user_principal(session: AsyncSession, user: User) -> Principal:
    """A staff user's principal; an enterprise user's says whether its enterprise is approved."""
    approved = True
    if user.enterprise_id is not None:
        enterprise = await repository.get_enterprise(session, user.enterprise_id)
        approved = enterprise is not None and enterprise.status == EnterpriseStatus.approved.value
    return Principal(
        "user",
        user.id,
        Role(user.role),
        user.enterprise_id,
        enterprise_approved=approved,
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
    has not signed in from within `known_for`, all together (`elsewhere`)."""

    per_address: ratelimit.Limit
    elsewhere: ratelimit.Limit
    known_for: timedelta


async def sign_in_password(
    session: AsyncSession,
    *,
    keyring: Keyring,
    engine: AsyncEngine,
    limits: PasswordLimits,
    address: str,
    username: str,
    password: str,
    refresh_ttl: timedelta,
) -> TokenPair:
    """A staff user's sign-in. Guessing is slow from any one address, and from all addresses together
    except those the user signed in from lately: guesses from elsewhere never keep the owner out of the
    addresses they use."""
    await ratelimit.take(engine, f"signin-user:{username}:{address}", limits.per_address)
    user = await repository.get_user_by_username(session, username)
    if user is None or not await repository.signed_in_from(
        session, user_id=user.id, address=address, since=limits.known_for
    ):
        await ratelimit.take(engine, f"signin-user:{username}", limits.elsewhere)
    if not await verify_password(user.password_hash if user else None, password) or user is None:
        raise InvalidCredentials
    if user.disabled_at is not None:
        raise AccountDisabled
    await repository.touch_last_login(session, user.id)
    await repository.remember_signin_address(session, user_id=user.id, address=address)
    principal = await _user_principal(session, user)
    return await issue_tokens(session, keyring=keyring, principal=principal, refresh_ttl=refresh_ttl)
