"""Who is calling: bearer-token principals by role, signed partners, and the rate limits that go with them.

Every endpoint declares one of these (or is listed as public in tests/test_route_security.py).
Access tokens are verified without a database round trip.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, cast

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from service.accounts import partners
from service.accounts.errors import (
    DistrictOnly,
    EnterpriseNotApproved,
    InvalidToken,
    PartnerSignatureInvalid,
    PartnerSignatureReplayed,
    PartnerTimestampOutOfWindow,
    RoleNotAllowed,
    TokenExpired,
    TokenRevoked,
    TotpEnrolmentRequired,
)
from service.accounts.models import ADMIN_ROLES, Partner, PartnerKey, Role
from service.accounts.revocations import Revocations
from service.accounts.signing import KEY_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER
from service.accounts.tokens import Grant, Keyring, Principal, StaffCaller
from service.accounts.wechat import WechatClient
from service.config import Settings
from service.db import SessionDep, database_of
from service.errors import DatabaseUnavailable, RateLimited, Unauthenticated, answers
from service.kit import ratelimit
from service.kit.secrets import SecretBox


async def get_settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


async def get_keyring(request: Request) -> Keyring:
    return cast(Keyring, request.app.state.keyring)


async def get_wechat(request: Request) -> WechatClient:
    return cast(WechatClient, request.app.state.wechat)


async def get_secret_box(request: Request) -> SecretBox:
    return cast(SecretBox, request.app.state.secret_box)


async def get_totp_box(request: Request) -> SecretBox:
    return cast(SecretBox, request.app.state.totp_box)


SettingsDep = Annotated[Settings, Depends(get_settings)]
KeyringDep = Annotated[Keyring, Depends(get_keyring)]
WechatDep = Annotated[WechatClient, Depends(get_wechat)]
SecretBoxDep = Annotated[SecretBox, Depends(get_secret_box)]
# seals staff users' TOTP secrets
TotpBoxDep = Annotated[SecretBox, Depends(get_totp_box)]


class _BearerToken(HTTPBearer):
    """The bearer scheme as the API document declares it; answers the token itself (or None), without
    building a credentials model on every request."""

    async def __call__(self, request: Request) -> str | None:  # type: ignore[override]
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        return token if scheme.lower() == "bearer" and token else None


_bearer = _BearerToken(scheme_name="HTTPBearer", auto_error=False, description="An access token from /v1/auth/*.")


def _verified(request: Request, token: str | None) -> tuple[Principal, Grant]:
    """The principal and grant of a bearer token, checked in memory: signature, times, revocations."""
    if token is None:
        raise Unauthenticated("Send Authorization: Bearer <access token>.", "请携带 Authorization: Bearer <访问令牌>。")
    state = request.app.state
    principal, grant = cast(Keyring, state.keyring).verify_grant(token)
    if cast(Revocations, state.revocations).refused(principal, grant):
        raise TokenRevoked(
            "These tokens were ended (a sign-out, a disabled or deleted account, or an enterprise review):"
            " refresh them, and if that fails, sign in again.",
            "令牌已失效（已退出登录、账号被停用或注销，或企业审核结果有变）：请刷新令牌，刷新失败则重新登录。",
        )
    return principal, grant


def _enrolment_required() -> TotpEnrolmentRequired:
    return TotpEnrolmentRequired(
        "Administrators sign in with a verification code: set up two-factor sign-in on your account page, "
        "then refresh the tokens or sign in again.",
        "管理员登录须使用验证码：请先在账号安全页面启用两步验证，然后刷新令牌或重新登录。",
    )


def require_role(*roles: Role, applicants: bool = False, scoped: bool = False) -> Callable[..., Awaitable[Principal]]:
    """A dependency answering the caller's principal, checked to hold one of `roles`. One node between the
    route and the bearer scheme: the keyring is read off the app, the token verified in memory. A user of
    an enterprise not yet approved (anyone may apply) is refused unless `applicants`: it reads only its
    own application. An administrator's enrolment-only token is refused: it reaches only the user's own
    account (`StaffAccount`). An administrator kept to one community is refused (DISTRICT_ONLY) unless
    `scoped`: the endpoint then keeps to the scope itself (service/accounts/scope.py)."""
    district_only = not scoped and any(role in ADMIN_ROLES for role in roles)

    async def check(request: Request, token: Annotated[str | None, Depends(_bearer)]) -> Principal:
        principal, _ = _verified(request, token)
        if principal.role not in roles:
            raise RoleNotAllowed
        if not principal.enterprise_approved and not applicants:
            raise EnterpriseNotApproved(
                "The enterprise is not approved yet: only its application can be read.",
                "企业尚未通过审核，只能查看自己的申请。",
            )
        if principal.enrolment_only:
            raise _enrolment_required()
        if district_only and principal.scope_community_id is not None:
            raise DistrictOnly(
                "You are responsible for one community: this is for district-wide administrators.",
                "您只负责一个社区：此操作仅限全区管理员。",
            )
        return principal

    answers(Unauthenticated, InvalidToken, TokenExpired, TokenRevoked)(check)
    if Role.enterprise in roles and not applicants:
        answers(EnterpriseNotApproved)(check)
    if set(roles) & set(ADMIN_ROLES):
        answers(TotpEnrolmentRequired)(check)
    if district_only:
        answers(DistrictOnly)(check)
    return check if set(roles) == set(Role) else answers(RoleNotAllowed)(check)


@answers(Unauthenticated, InvalidToken, TokenExpired, TokenRevoked, RoleNotAllowed)
async def staff_account(request: Request, token: Annotated[str | None, Depends(_bearer)]) -> StaffCaller:
    """Any staff user on their own account: an applicant enterprise's, and an administrator's whose token is
    enrolment-only, too."""
    principal, grant = _verified(request, token)
    if principal.role is Role.resident:
        raise RoleNotAllowed
    return StaffCaller(principal, grant.session_id)


CurrentResident = Annotated[Principal, Depends(require_role(Role.resident))]
EnterpriseUser = Annotated[Principal, Depends(require_role(Role.enterprise))]
# the applicant of an enterprise not yet approved, too: its own user and application
EnterpriseApplicant = Annotated[Principal, Depends(require_role(Role.enterprise, applicants=True))]
StaffUser = Annotated[Principal, Depends(require_role(Role.enterprise, *ADMIN_ROLES, applicants=True, scoped=True))]
# the user's own account: who they are, their password, two-factor sign-in and sign-ins
StaffAccount = Annotated[StaffCaller, Depends(staff_account)]
# District-wide administrators only: an officer kept to one community is refused (DISTRICT_ONLY).
AdminReader = Annotated[Principal, Depends(require_role(*ADMIN_ROLES))]
AdminOperator = Annotated[Principal, Depends(require_role(Role.admin_operator, Role.admin_super))]
AdminSuper = Annotated[Principal, Depends(require_role(Role.admin_super))]
# Officers too: the endpoint keeps to `scope.community_of(principal)` (service/accounts/scope.py).
ScopedReader = Annotated[Principal, Depends(require_role(*ADMIN_ROLES, scoped=True))]
ScopedOperator = Annotated[Principal, Depends(require_role(Role.admin_operator, Role.admin_super, scoped=True))]
SignedIn = Annotated[Principal, Depends(require_role(*Role, scoped=True))]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def user_agent(request: Request) -> str | None:
    """The User-Agent header, cut to a length worth keeping."""
    agent = request.headers.get("user-agent")
    return agent[:512] if agent else None


@answers(RateLimited, DatabaseUnavailable)
async def limit_account_proofs(request: Request, caller: StaffAccount, settings: SettingsDep) -> None:
    """Checks of a signed-in user's password or TOTP code: as slow to guess as signing in from one address."""
    limit = ratelimit.Limit(settings.rate_signin_per_username_per_min)
    await ratelimit.take(database_of(request).engine, f"account-proof:{caller.principal.subject_id}", limit)


AccountProofLimit = Depends(limit_account_proofs)


def _per_address(bucket: str, per_minute: Callable[[Settings], int]) -> Callable[..., Awaitable[None]]:
    """A dependency taking one request from `bucket`'s allowance for the caller's address."""

    @answers(RateLimited, DatabaseUnavailable)
    async def limit(request: Request, settings: SettingsDep) -> None:
        allowance = ratelimit.Limit(per_minute(settings))
        await ratelimit.take(database_of(request).engine, f"{bucket}:{client_address(request)}", allowance)

    return limit


@answers(RateLimited, DatabaseUnavailable)
async def limit_resident_writes(request: Request, resident: CurrentResident, settings: SettingsDep) -> None:
    limit = ratelimit.Limit(settings.rate_resident_writes_per_min)
    await ratelimit.take(database_of(request).engine, ratelimit.resident_write_key(resident.subject_id), limit)


# Password sign-in and enterprise registration: guessing passwords is what this stops.
SigninRateLimit = Depends(_per_address("signin-ip", lambda settings: settings.rate_signin_per_ip_per_min))
# WeChat sign-in, refresh, sign-out: a whole campus or a carrier's NAT may share an address.
ResidentSigninRateLimit = Depends(
    _per_address("resident-signin-ip", lambda settings: settings.rate_resident_signin_per_ip_per_min)
)
ResidentWriteLimit = Depends(limit_resident_writes)


class SignedPartner:
    """A partner whose request signature checked out; its writes are rate limited per partner."""

    def __init__(self, partner: Partner, key: PartnerKey) -> None:
        self.partner = partner
        self.key = key


@answers(PartnerSignatureInvalid, PartnerTimestampOutOfWindow, PartnerSignatureReplayed, RateLimited)
async def signed_partner(
    request: Request, session: SessionDep, settings: SettingsDep, box: SecretBoxDep
) -> SignedPartner:
    body = await request.body()
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    partner, key = await partners.authenticate(
        session,
        box=box,
        window=timedelta(seconds=settings.partner_signature_window_s),
        key_id=request.headers.get(KEY_ID_HEADER),
        timestamp=request.headers.get(TIMESTAMP_HEADER),
        signature=request.headers.get(SIGNATURE_HEADER),
        method=request.method,
        path_and_query=path,
        body=body,
    )
    limit = ratelimit.Limit(settings.rate_partner_writes_per_min)
    await ratelimit.take(database_of(request).engine, f"partner-write:{partner.id}", limit)
    return SignedPartner(partner, key)


CurrentPartner = Annotated[SignedPartner, Depends(signed_partner)]
