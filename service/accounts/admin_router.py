"""What administrators do to accounts: staff users, enterprises, organisations, residents under review and
data partners. Every write is logged by the service that makes it."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from service.accounts import partners, residents, staff
from service.accounts.deps import (
    AdminOperator,
    AdminReader,
    AdminSuper,
    ScopedOperator,
    SecretBoxDep,
)
from service.accounts.enterprise_schemas import (
    EnterpriseAdminRead,
    EnterpriseCreate,
    EnterprisePage,
    EnterpriseRead,
    EnterpriseReview,
)
from service.accounts.errors import (
    PartnerCodeTaken,
    PasswordTooWeak,
    ScopeNotForRole,
    UnknownCommunity,
    UnknownEnterprise,
    UsernameTaken,
)
from service.accounts.models import EnterpriseStatus
from service.accounts.partner_schemas import PartnerCreate, PartnerKeyIssued, PartnerKeyRead, PartnerPage, PartnerRead
from service.accounts.schemas import (
    FreezeRequest,
    FrozenRead,
    OrganisationCreate,
    OrganisationRead,
    UserCreate,
    UserPage,
    UserRead,
    UserUpdate,
)
from service.db import ReadSessionDep, SessionDep
from service.errors import Conflict, NotFound
from service.kit.openapi import problems
from service.kit.pagination import Cursor, Limit
from service.kit.schemas import ID_MAX

router = APIRouter()

UserId = Annotated[int, Path(ge=1, le=ID_MAX, description="The user's id.", examples=[5])]
EnterpriseId = Annotated[int, Path(ge=1, le=ID_MAX, description="The enterprise's id.", examples=[12])]
PartnerId = Annotated[int, Path(ge=1, le=ID_MAX, description="The data partner's id.", examples=[2])]
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


# ---------------------------------------------------------------------------------------------- staff


@router.post(
    "/v1/admin/users",
    tags=["admin"],
    status_code=status.HTTP_201_CREATED,
    responses=problems(UnknownEnterprise, UsernameTaken, PasswordTooWeak, ScopeNotForRole, UnknownCommunity),
)
async def create_user(admin: AdminSuper, body: UserCreate, session: SessionDep) -> UserRead:
    """Create an enterprise or administrator user; an auditor or operator may be kept to one community."""
    return await staff.add_user(session, admin=admin, data=body)


@router.get("/v1/admin/users", tags=["admin"])
async def list_users(_: AdminReader, session: ReadSessionDep, limit: Limit = 50, cursor: Cursor = None) -> UserPage:
    """Enterprise and administrator users, oldest first."""
    return await staff.users(session, cursor=cursor, limit=limit)


@router.patch(
    "/v1/admin/users/{user_id}",
    tags=["admin"],
    responses=problems(NotFound, Conflict, ScopeNotForRole, UnknownCommunity),
)
async def update_user(admin: AdminSuper, user_id: UserId, body: UserUpdate, session: SessionDep) -> UserRead:
    """Disable (signing it out everywhere) or re-enable a user; set or clear an administrator's community
    (signing it out everywhere)."""
    return await staff.update_user(session, admin=admin, user_id=user_id, changes=body)


@router.post("/v1/admin/enterprises", tags=["admin"], status_code=status.HTTP_201_CREATED, responses=problems(Conflict))
async def create_enterprise(operator: AdminOperator, body: EnterpriseCreate, session: SessionDep) -> EnterpriseRead:
    """Onboard an enterprise directly, already approved; its users are then created under it."""
    return await staff.onboard_enterprise(session, operator=operator, name=body.name)


@router.get("/v1/admin/enterprises", tags=["admin"])
async def list_enterprises(
    _: AdminReader,
    session: ReadSessionDep,
    status: Annotated[
        EnterpriseStatus | None, Query(description="Only enterprises with this status.", examples=["pending"])
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> EnterprisePage:
    """Enterprises with their applications' details, e.g. those pending review, oldest first."""
    return await staff.enterprises(session, status=status, cursor=cursor, limit=limit)


@router.post("/v1/admin/enterprises/{enterprise_id}/review", tags=["admin"], responses=problems(NotFound, Conflict))
async def review_enterprise(
    operator: AdminOperator, enterprise_id: EnterpriseId, body: EnterpriseReview, session: SessionDep
) -> EnterpriseAdminRead:
    """Approve or reject an application, or suspend or reinstate an enterprise, with a reason."""
    return await staff.review_enterprise(session, operator=operator, enterprise_id=enterprise_id, review=body)


@router.post("/v1/admin/residents/{public_id}/freeze", tags=["admin"], responses=problems(NotFound, Conflict))
async def freeze_resident(
    operator: ScopedOperator, public_id: ResidentPublicId, body: FreezeRequest, session: SessionDep
) -> FrozenRead:
    """Freeze a resident: recording and redemption are refused, the balance is kept."""
    return await residents.set_frozen(session, operator=operator, public_id=public_id, frozen=True, reason=body.reason)


@router.post("/v1/admin/residents/{public_id}/unfreeze", tags=["admin"], responses=problems(NotFound, Conflict))
async def unfreeze_resident(
    operator: ScopedOperator, public_id: ResidentPublicId, body: FreezeRequest, session: SessionDep
) -> FrozenRead:
    """Unfreeze a resident."""
    return await residents.set_frozen(session, operator=operator, public_id=public_id, frozen=False, reason=body.reason)


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
    return await staff.create_organisation(session, operator=operator, data=body)


# ---------------------------------------------------------------------------------------------- partners


@router.post(
    "/v1/admin/partners", tags=["admin"], status_code=status.HTTP_201_CREATED, responses=problems(PartnerCodeTaken)
)
async def create_partner(admin: AdminSuper, body: PartnerCreate, session: SessionDep) -> PartnerRead:
    """Register a data partner; then issue it a signing key."""
    return await partners.register(session, admin=admin, data=body)


@router.get("/v1/admin/partners", tags=["admin"])
async def list_partners(
    _: AdminReader, session: ReadSessionDep, limit: Limit = 50, cursor: Cursor = None
) -> PartnerPage:
    """Data partners, oldest first."""
    return await partners.partners(session, cursor=cursor, limit=limit)


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
    return await partners.issue_key(session, admin=admin, box=box, partner_id=partner_id)


@router.get("/v1/admin/partners/{partner_id}/keys", tags=["admin"])
async def list_partner_keys(_: AdminReader, partner_id: PartnerId, session: ReadSessionDep) -> list[PartnerKeyRead]:
    """A partner's keys, without their secrets."""
    return await partners.keys(session, partner_id=partner_id)


@router.delete(
    "/v1/admin/partners/{partner_id}/keys/{key_id}",
    tags=["admin"],
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(NotFound),
)
async def revoke_partner_key(admin: AdminSuper, partner_id: PartnerId, key_id: KeyId, session: SessionDep) -> Response:
    """Revoke a signing key at once."""
    await partners.revoke_key(session, admin=admin, partner_id=partner_id, key_id=key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
