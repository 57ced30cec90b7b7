from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from service.accounts import actions, repository, service
from service.accounts.deps import (
    AdminOperator,
    AdminReader,
    AdminSuper,
    CurrentPartner,
    CurrentResident,
    KeyringDep,
    ResidentSigninRateLimit,
    ResidentWriteLimit,
    SecretBoxDep,
    SettingsDep,
    SigninRateLimit,
    StaffUser,
    WechatDep,
)
from service.accounts.errors import (
    AccountDisabled,
    DevLoginDisabled,
    InvalidCredentials,
    InvalidRefreshToken,
    PartnerCodeTaken,
    RefreshTokenReused,
    UnknownCommunity,
    UnknownEnterprise,
    UnknownOrganisation,
    UsernameTaken,
    WechatCodeInvalid,
    WechatUnavailable,
    WechatUserBlocked,
)
from service.accounts.models import EnterpriseStatus, OrganisationKind, Partner, PartnerKind, Role, User
from service.accounts.schemas import (
    CommunityRead,
    DevSignIn,
    EnterpriseAdminRead,
    EnterpriseCreate,
    EnterpriseRead,
    EnterpriseRegister,
    EnterpriseReview,
    FreezeRequest,
    FrozenRead,
    Jwks,
    OrganisationCreate,
    OrganisationRead,
    PartnerCreate,
    PartnerKeyIssued,
    PartnerKeyRead,
    PartnerRead,
    PartnerWhoAmI,
    PasswordSignIn,
    RefreshRequest,
    ResidentExport,
    ResidentRead,
    ResidentUpdate,
    StaffWhoAmI,
    TokenPair,
    UserCreate,
    UserDisable,
    UserRead,
    WechatSignIn,
)
from service.db import DatabaseDep, ReadSessionDep, SessionDep
from service.errors import Conflict, NotFound
from service.kit import ratelimit
from service.kit.openapi import problems
from service.kit.schemas import BIGINT_MAX

router = APIRouter()

UserId = Annotated[int, Path(ge=1, le=BIGINT_MAX, description="The user's id.", examples=[5])]
EnterpriseId = Annotated[int, Path(ge=1, le=BIGINT_MAX, description="The enterprise's id.", examples=[12])]
PartnerId = Annotated[int, Path(ge=1, le=BIGINT_MAX, description="The data partner's id.", examples=[2])]
KeyId = Annotated[
    str, Path(min_length=1, max_length=64, description="The key id, as issued.", examples=["pk_7f3a9c2e1b"])
]
ResidentPublicId = Annotated[
    uuid.UUID,
    Path(
        description="The resident's public id, as administrators see it.",
        examples=["5b0f6f4e-2f55-4c61-9f0a-3c1d2e7b8a90"],
    ),
]


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
    return await service.sign_in_wechat(
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
    return await service.sign_in_dev(
        session, keyring=keyring, name=body.name, refresh_ttl=_refresh_ttl(settings), device_id=body.device_id
    )


@router.post(
    "/v1/auth/login",
    tags=["auth"],
    dependencies=[SigninRateLimit],
    responses=problems(InvalidCredentials, AccountDisabled),
)
async def sign_in_password(
    body: PasswordSignIn, session: SessionDep, db: DatabaseDep, keyring: KeyringDep, settings: SettingsDep
) -> TokenPair:
    """Sign an enterprise or administrator user in with username and password."""
    limit = ratelimit.Limit(settings.rate_signin_per_username_per_min)
    await ratelimit.take(db.engine, f"signin-user:{body.username}", limit)
    return await service.sign_in_password(
        session, keyring=keyring, username=body.username, password=body.password, refresh_ttl=_refresh_ttl(settings)
    )


@router.post(
    "/v1/auth/refresh",
    tags=["auth"],
    dependencies=[ResidentSigninRateLimit],
    responses=problems(InvalidRefreshToken, RefreshTokenReused),
)
async def refresh(body: RefreshRequest, session: SessionDep, keyring: KeyringDep, settings: SettingsDep) -> TokenPair:
    """Exchange a refresh token for a new pair; each refresh token works once."""
    return await service.refresh_tokens(
        session, keyring=keyring, refresh_token=body.refresh_token, refresh_ttl=_refresh_ttl(settings)
    )


@router.post(
    "/v1/auth/logout", tags=["auth"], status_code=status.HTTP_204_NO_CONTENT, dependencies=[ResidentSigninRateLimit]
)
async def logout(body: RefreshRequest, session: SessionDep) -> Response:
    """Sign out: the refresh token and every token refreshed from the same sign-in stop working."""
    await service.logout(session, refresh_token=body.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---------------------------------------------------------------------------------------------- reference data


@router.get("/v1/communities", tags=["reference"])
async def list_communities(session: ReadSessionDep) -> list[CommunityRead]:
    """Jinnan's towns, streets and areas a resident can belong to."""
    return [CommunityRead.model_validate(c) for c in await repository.list_communities(session)]


@router.get("/v1/organisations", tags=["reference"])
async def list_organisations(
    session: ReadSessionDep,
    community_id: Annotated[
        int | None, Query(ge=1, le=BIGINT_MAX, description="Only organisations in this community.", examples=[3])
    ] = None,
    kind: Annotated[
        OrganisationKind | None, Query(description="Only organisations of this kind.", examples=["school"])
    ] = None,
) -> list[OrganisationRead]:
    """Schools, enterprises and public institutions a resident can join."""
    rows = await repository.list_organisations(session, community_id=community_id, kind=kind.value if kind else None)
    return [OrganisationRead.model_validate(o) for o in rows]


# ---------------------------------------------------------------------------------------------- residents


@router.get("/v1/me", tags=["resident"], responses=problems(NotFound))
async def get_me(resident: CurrentResident, session: ReadSessionDep) -> ResidentRead:
    """The signed-in resident's profile."""
    return await service.resident_read(
        session, await service.get_active_resident(session, resident_id=resident.subject_id)
    )


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
    return await service.update_profile(session, resident_id=resident.subject_id, changes=body)


@router.get("/v1/me/export", tags=["resident"], responses=problems(NotFound))
async def export_me(resident: CurrentResident, session: ReadSessionDep, response: Response) -> ResidentExport:
    """Everything the platform holds about the signed-in resident, as one JSON document."""
    response.headers["Content-Disposition"] = 'attachment; filename="tanpuhui-my-data.json"'
    response.headers["Cache-Control"] = "no-store"
    return await service.export_resident(session, resident_id=resident.subject_id)


@router.delete(
    "/v1/me",
    tags=["resident"],
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[ResidentWriteLimit],
    responses=problems(NotFound),
)
async def delete_me(resident: CurrentResident, session: SessionDep) -> Response:
    """Delete the account: personal data is erased; credit amounts stay in the ledger under a pseudonym."""
    await service.delete_resident(session, resident_id=resident.subject_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---------------------------------------------------------------------------------------------- staff


@router.get("/v1/staff/me", tags=["staff"], responses=problems(NotFound))
async def staff_me(user: StaffUser, session: ReadSessionDep) -> StaffWhoAmI:
    """The signed-in enterprise or administrator user."""
    row = await repository.get_user(session, user.subject_id)
    if row is None:
        raise NotFound
    return StaffWhoAmI.model_validate(row)


def _user_read(user: User) -> UserRead:
    return UserRead(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=Role(user.role),
        enterprise_id=user.enterprise_id,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
        disabled=user.disabled_at is not None,
    )


@router.post(
    "/v1/admin/users",
    tags=["admin"],
    status_code=status.HTTP_201_CREATED,
    responses=problems(UnknownEnterprise, UsernameTaken),
)
async def create_user(admin: AdminSuper, body: UserCreate, session: SessionDep) -> UserRead:
    """Create an enterprise or administrator user."""
    user = await service.create_user(session, data=body)
    await actions.log(session, admin, "user.create", f"user:{user.id}", username=user.username, role=user.role)
    return _user_read(user)


@router.get("/v1/admin/users", tags=["admin"])
async def list_users(_: AdminReader, session: ReadSessionDep) -> list[UserRead]:
    """Every enterprise and administrator user."""
    return [_user_read(u) for u in await repository.list_users(session)]


@router.patch("/v1/admin/users/{user_id}", tags=["admin"], responses=problems(NotFound, Conflict))
async def disable_user(admin: AdminSuper, user_id: UserId, body: UserDisable, session: SessionDep) -> UserRead:
    """Disable (signing it out everywhere) or re-enable a user."""
    if user_id == admin.subject_id and body.disabled:
        raise Conflict("You cannot disable your own account.", "不能停用自己的账号。")
    user = await service.set_user_disabled(session, user_id=user_id, disabled=body.disabled)
    await actions.log(session, admin, "user.disable" if body.disabled else "user.enable", f"user:{user_id}")
    return _user_read(user)


@router.post("/v1/admin/enterprises", tags=["admin"], status_code=status.HTTP_201_CREATED, responses=problems(Conflict))
async def create_enterprise(operator: AdminOperator, body: EnterpriseCreate, session: SessionDep) -> EnterpriseRead:
    """Onboard an enterprise directly, already approved; its users are then created under it."""
    enterprise = await service.create_enterprise(session, name=body.name, status=EnterpriseStatus.approved)
    await actions.log(session, operator, "enterprise.create", f"enterprise:{enterprise.id}", name=body.name)
    return EnterpriseRead.model_validate(enterprise)


@router.get("/v1/admin/enterprises", tags=["admin"])
async def list_enterprises(
    _: AdminReader,
    session: ReadSessionDep,
    status: Annotated[
        EnterpriseStatus | None, Query(description="Only enterprises with this status.", examples=["pending"])
    ] = None,
) -> list[EnterpriseAdminRead]:
    """Enterprises with their applications' details, e.g. those pending review."""
    rows = await repository.list_enterprises(session, status=status.value if status else None)
    return [EnterpriseAdminRead.model_validate(e) for e in rows]


@router.post("/v1/admin/enterprises/{enterprise_id}/review", tags=["admin"], responses=problems(NotFound, Conflict))
async def review_enterprise(
    operator: AdminOperator, enterprise_id: EnterpriseId, body: EnterpriseReview, session: SessionDep
) -> EnterpriseAdminRead:
    """Approve or reject an application, or suspend or reinstate an enterprise, with a reason."""
    enterprise = await service.review_enterprise(
        session, enterprise_id=enterprise_id, review=body, reviewer=f"user:{operator.subject_id}"
    )
    await actions.log(
        session,
        operator,
        "enterprise.review",
        f"enterprise:{enterprise_id}",
        reason=body.reason,
        decision=body.decision.value,
        status=enterprise.status,
    )
    return EnterpriseAdminRead.model_validate(enterprise)


@router.post("/v1/admin/residents/{public_id}/freeze", tags=["admin"], responses=problems(NotFound, Conflict))
async def freeze_resident(
    operator: AdminOperator, public_id: ResidentPublicId, body: FreezeRequest, session: SessionDep
) -> FrozenRead:
    """Freeze a resident: recording and redemption are refused, the balance is kept."""
    resident = await service.set_frozen(session, public_id=public_id, frozen=True, reason=body.reason)
    await actions.log(session, operator, "resident.freeze", f"resident:{public_id}", reason=body.reason)
    return FrozenRead(resident_id=resident.public_id, frozen=True, frozen_at=resident.frozen_at, reason=body.reason)


@router.post("/v1/admin/residents/{public_id}/unfreeze", tags=["admin"], responses=problems(NotFound, Conflict))
async def unfreeze_resident(
    operator: AdminOperator, public_id: ResidentPublicId, body: FreezeRequest, session: SessionDep
) -> FrozenRead:
    """Unfreeze a resident."""
    resident = await service.set_frozen(session, public_id=public_id, frozen=False, reason=body.reason)
    await actions.log(session, operator, "resident.unfreeze", f"resident:{public_id}", reason=body.reason)
    return FrozenRead(resident_id=resident.public_id, frozen=False, frozen_at=None, reason=None)


@router.post(
    "/v1/admin/organisations",
    tags=["admin"],
    status_code=status.HTTP_201_CREATED,
    responses=problems(NotFound, Conflict),
)
async def create_organisation(
    operator: AdminOperator, body: OrganisationCreate, session: SessionDep
) -> OrganisationRead:
    """Add a school, enterprise or public institution residents can join."""
    if body.community_id is not None and not await repository.community_exists(session, body.community_id):
        raise NotFound("No such community.", "社区不存在。")
    if await repository.organisation_code_exists(session, body.code):
        raise Conflict("This organisation code is taken.", "组织代码已被占用。")
    organisation = await repository.insert_organisation(session, body.model_dump())
    await actions.log(session, operator, "organisation.create", f"organisation:{organisation.id}", code=body.code)
    return OrganisationRead.model_validate(organisation)


# ---------------------------------------------------------------------------------------------- enterprises


@router.post(
    "/v1/enterprises/register",
    tags=["enterprise"],
    status_code=status.HTTP_201_CREATED,
    dependencies=[SigninRateLimit],
    responses=problems(Conflict, UsernameTaken),
)
async def register_enterprise(body: EnterpriseRegister, session: SessionDep) -> EnterpriseRead:
    """An enterprise applies to join, with its first user; it can publish rewards and retire credits once an
    operator approves it. The user signs in at /v1/auth/login meanwhile."""
    return EnterpriseRead.model_validate(await service.register_enterprise(session, data=body))


# ---------------------------------------------------------------------------------------------- partners


def _partner_read(partner: Partner) -> PartnerRead:
    return PartnerRead(
        id=partner.id,
        code=partner.code,
        name=partner.name,
        kind=PartnerKind(partner.kind),
        created_at=partner.created_at,
        disabled=partner.disabled_at is not None,
    )


@router.post(
    "/v1/admin/partners", tags=["admin"], status_code=status.HTTP_201_CREATED, responses=problems(PartnerCodeTaken)
)
async def create_partner(admin: AdminSuper, body: PartnerCreate, session: SessionDep) -> PartnerRead:
    """Register a data partner; then issue it a signing key."""
    partner = await service.create_partner(session, code=body.code, name=body.name, kind=body.kind.value)
    await actions.log(session, admin, "partner.create", f"partner:{partner.id}", code=partner.code)
    return _partner_read(partner)


@router.get("/v1/admin/partners", tags=["admin"])
async def list_partners(_: AdminReader, session: ReadSessionDep) -> list[PartnerRead]:
    """Every data partner."""
    return [_partner_read(p) for p in await repository.list_partners(session)]


@router.post(
    "/v1/admin/partners/{partner_id}/keys",
    tags=["admin"],
    status_code=status.HTTP_201_CREATED,
    responses=problems(NotFound),
)
async def issue_partner_key(
    admin: AdminSuper, partner_id: PartnerId, session: SessionDep, box: SecretBoxDep
) -> PartnerKeyIssued:
    """Issue a new signing key; its secret is shown only in this reply. Old keys keep working until revoked."""
    key, secret = await service.issue_partner_key(session, box=box, partner_id=partner_id)
    await actions.log(session, admin, "partner.key.issue", f"partner:{partner_id}", key_id=key.key_id)
    return PartnerKeyIssued(partner_id=partner_id, key_id=key.key_id, secret=secret)


@router.get("/v1/admin/partners/{partner_id}/keys", tags=["admin"])
async def list_partner_keys(_: AdminReader, partner_id: PartnerId, session: ReadSessionDep) -> list[PartnerKeyRead]:
    """A partner's keys, without their secrets."""
    return [PartnerKeyRead.model_validate(k) for k in await repository.list_partner_keys(session, partner_id)]


@router.delete(
    "/v1/admin/partners/{partner_id}/keys/{key_id}",
    tags=["admin"],
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(NotFound),
)
async def revoke_partner_key(admin: AdminSuper, partner_id: PartnerId, key_id: KeyId, session: SessionDep) -> Response:
    """Revoke a signing key at once."""
    await service.revoke_partner_key(session, partner_id=partner_id, key_id=key_id)
    await actions.log(session, admin, "partner.key.revoke", f"partner:{partner_id}", key_id=key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/v1/partner/ping", tags=["partner"])
async def partner_ping(caller: CurrentPartner) -> PartnerWhoAmI:
    """Check a partner's signing set-up: answers who signed and the server's clock."""
    return PartnerWhoAmI(
        partner_id=caller.partner.id, code=caller.partner.code, key_id=caller.key.key_id, server_time=datetime.now(UTC)
    )
