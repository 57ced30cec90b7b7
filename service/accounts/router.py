from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from service.accounts import residents, signin, staff
from service.accounts.deps import (
    CurrentPartner,
    CurrentResident,
    EnterpriseApplicant,
    KeyringDep,
    ResidentSigninRateLimit,
    ResidentWriteLimit,
    SettingsDep,
    SigninRateLimit,
    StaffAccount,
    TotpBoxDep,
    WechatDep,
    client_address,
    user_agent,
)
from service.accounts.enterprise_schemas import (
    EnterpriseApplication,
    EnterpriseApplicationStatus,
    EnterpriseRegister,
)
from service.accounts.errors import (
    AccountDisabled,
    DevLoginDisabled,
    InvalidCredentials,
    InvalidRefreshToken,
    PasswordTooWeak,
    RefreshTokenReused,
    TotpInvalid,
    TotpRequired,
    UnknownCommunity,
    UnknownOrganisation,
    WechatCodeInvalid,
    WechatUnavailable,
    WechatUserBlocked,
)
from service.accounts.models import OrganisationKind
from service.accounts.partner_schemas import PartnerWhoAmI
from service.accounts.schemas import (
    CommunityRead,
    DevSignIn,
    Jwks,
    OrganisationRead,
    PasswordSignIn,
    RefreshRequest,
    ResidentRead,
    ResidentUpdate,
    StaffWhoAmI,
    TokenPair,
    WechatSignIn,
)
from service.db import DatabaseDep, ReadSessionDep, SessionDep
from service.errors import Conflict, NotFound
from service.kit import ratelimit
from service.kit.openapi import problems
from service.kit.schemas import ID_MAX

router = APIRouter()


def _refresh_ttl(settings: SettingsDep) -> timedelta:
    return timedelta(seconds=settings.refresh_token_ttl_s)


# ---------------------------------------------------------------------------------------------- sign-in


@router.get("/.well-known/jwks.json", tags=["auth"])
async def jwks(keyring: KeyringDep) -> Jwks:
    """Public keys that verify access tokens."""
    return Jwks.model_validate(keyring.jwks())


@router.post(
    "/v1/auth/wechat",
    tags=["auth"],
    dependencies=[ResidentSigninRateLimit],
    responses=problems(WechatCodeInvalid, WechatUserBlocked, WechatUnavailable),
)
async def sign_in_wechat(
    body: WechatSignIn, session: SessionDep, wechat: WechatDep, keyring: KeyringDep, settings: SettingsDep
) -> TokenPair:
    """Sign a resident in with the code from `wx.login()`; creates the resident on first sign-in."""
    return await signin.sign_in_wechat(
        session,
        wechat=wechat,
        keyring=keyring,
        code=body.code,
        refresh_ttl=_refresh_ttl(settings),
        device_id=body.device_id,
    )


async def _dev_login_enabled(settings: SettingsDep) -> None:
    """Runs before the body is read, so that a disabled dev login answers exactly like a missing route."""
    if not settings.dev_login_enabled:
        raise DevLoginDisabled


@router.post(
    "/v1/auth/dev",
    tags=["auth"],
    dependencies=[Depends(_dev_login_enabled), ResidentSigninRateLimit],
    responses=problems(DevLoginDisabled),
)
async def sign_in_dev(body: DevSignIn, session: SessionDep, keyring: KeyringDep, settings: SettingsDep) -> TokenPair:
    """Sign in as a resident without WeChat; exists only outside production."""
    return await signin.sign_in_dev(
        session, keyring=keyring, name=body.name, refresh_ttl=_refresh_ttl(settings), device_id=body.device_id
    )


@router.post(
    "/v1/auth/login",
    tags=["auth"],
    dependencies=[SigninRateLimit],
    responses=problems(InvalidCredentials, TotpRequired, TotpInvalid, AccountDisabled),
)
async def sign_in_password(
    request: Request,
    body: PasswordSignIn,
    session: SessionDep,
    db: DatabaseDep,
    keyring: KeyringDep,
    settings: SettingsDep,
    box: TotpBoxDep,
) -> TokenPair:
    """Sign an enterprise or administrator user in with username and password, and a TOTP code or a
    recovery code when the user has two-factor sign-in."""
    return await signin.sign_in_password(
        session,
        keyring=keyring,
        engine=db.engine,
        box=box,
        limits=signin.PasswordLimits(
            per_address=ratelimit.Limit(settings.rate_signin_per_username_per_min),
            elsewhere=ratelimit.Limit(settings.rate_signin_per_username_per_hour, timedelta(hours=1)),
            known_for=timedelta(days=settings.signin_known_address_days),
        ),
        attempt=signin.PasswordAttempt(
            username=body.username,
            password=body.password,
            address=client_address(request),
            user_agent=user_agent(request),
            totp_code=body.totp_code,
            recovery_code=body.recovery_code,
        ),
        refresh_ttl=_refresh_ttl(settings),
        admin_totp_required=settings.admin_totp_required_enabled,
    )


@router.post(
    "/v1/auth/refresh",
    tags=["auth"],
    dependencies=[ResidentSigninRateLimit],
    responses=problems(InvalidRefreshToken, RefreshTokenReused),
)
async def refresh(body: RefreshRequest, session: SessionDep, keyring: KeyringDep, settings: SettingsDep) -> TokenPair:
    """Exchange a refresh token for a new pair; each refresh token works once."""
    return await signin.refresh_tokens(
        session,
        keyring=keyring,
        refresh_token=body.refresh_token,
        refresh_ttl=_refresh_ttl(settings),
        admin_totp_required=settings.admin_totp_required_enabled,
    )


@router.post(
    "/v1/auth/logout", tags=["auth"], status_code=status.HTTP_204_NO_CONTENT, dependencies=[ResidentSigninRateLimit]
)
async def logout(body: RefreshRequest, session: SessionDep) -> Response:
    """Sign out: the refresh token and every token refreshed from the same sign-in stop working."""
    await signin.logout(session, refresh_token=body.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---------------------------------------------------------------------------------------------- reference data


@router.get("/v1/communities", tags=["reference"])
async def list_communities(session: ReadSessionDep) -> list[CommunityRead]:
    """Jinnan's towns, streets and areas a resident can belong to."""
    return await residents.communities(session)


@router.get("/v1/organisations", tags=["reference"])
async def list_organisations(
    session: ReadSessionDep,
    community_id: Annotated[
        int | None, Query(ge=1, le=ID_MAX, description="Only organisations in this community.", examples=[3])
    ] = None,
    kind: Annotated[
        OrganisationKind | None, Query(description="Only organisations of this kind.", examples=["school"])
    ] = None,
) -> list[OrganisationRead]:
    """Schools, enterprises and public institutions a resident can join."""
    return await residents.organisations(session, community_id=community_id, kind=kind)


# ---------------------------------------------------------------------------------------------- residents


@router.get("/v1/me", tags=["resident"], responses=problems(NotFound))
async def get_me(resident: CurrentResident, session: ReadSessionDep) -> ResidentRead:
    """The signed-in resident's profile."""
    return await residents.profile(session, resident_id=resident.subject_id)


_PROFILE_ERRORS = problems(NotFound, UnknownCommunity, UnknownOrganisation)


@router.patch("/v1/me", tags=["resident"], dependencies=[ResidentWriteLimit], responses=_PROFILE_ERRORS)
@router.post(
    "/v1/me", name="update_me_by_post", tags=["resident"], dependencies=[ResidentWriteLimit], responses=_PROFILE_ERRORS
)
async def update_me(resident: CurrentResident, body: ResidentUpdate, session: SessionDep) -> ResidentRead:
    """Change nickname, community, organisation or leaderboard visibility.

    Only the fields sent change. POST does the same as PATCH, for clients that cannot send PATCH
    (the mini-program's `wx.request`).
    """
    return await residents.update_profile(session, resident_id=resident.subject_id, changes=body)


# ---------------------------------------------------------------------------------------------- staff


@router.get("/v1/staff/me", tags=["staff"], responses=problems(NotFound))
async def staff_me(caller: StaffAccount, session: ReadSessionDep) -> StaffWhoAmI:
    """The signed-in enterprise or administrator user."""
    return await staff.whoami(session, user_id=caller.principal.subject_id)


# ---------------------------------------------------------------------------------------------- enterprises


@router.post(
    "/v1/enterprises/register",
    tags=["enterprise"],
    status_code=status.HTTP_201_CREATED,
    dependencies=[SigninRateLimit],
    responses=problems(Conflict, PasswordTooWeak),
)
async def register_enterprise(body: EnterpriseRegister, session: SessionDep) -> EnterpriseApplication:
    """An enterprise applies to join, with its first user, whose username the reply gives; it can publish
    rewards and retire credits once an operator approves it. The user signs in at /v1/auth/login meanwhile."""
    return await staff.register_enterprise(session, data=body)


@router.get("/v1/enterprise/application", tags=["enterprise"], responses=problems(NotFound))
async def enterprise_application(user: EnterpriseApplicant, session: ReadSessionDep) -> EnterpriseApplicationStatus:
    """The signed-in user's enterprise application: its status and, once reviewed, the operator's reason."""
    assert user.enterprise_id is not None  # the token of an enterprise user always names its enterprise
    return await staff.own_application(session, enterprise_id=user.enterprise_id)


# ---------------------------------------------------------------------------------------------- partners


@router.post("/v1/partner/ping", tags=["partner"])
async def partner_ping(caller: CurrentPartner) -> PartnerWhoAmI:
    """Check a partner's signing set-up: answers who signed and the server's clock."""
    return PartnerWhoAmI(
        partner_id=caller.partner.id, code=caller.partner.code, key_id=caller.key.key_id, server_time=datetime.now(UTC)
    )
