"""Residents: their profile, and operators freezing one under review (personal.py: their data, erasure)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts import actions, repository, scope
from service.accounts.errors import UnknownCommunity, UnknownOrganisation
from service.accounts.models import OrganisationKind, Resident
from service.accounts.repository import lookup
from service.accounts.schemas import (
    CommunityRead,
    FrozenRead,
    OrganisationRead,
    ResidentRead,
    ResidentUpdate,
)
from service.accounts.tokens import Principal
from service.db import ReadSession
from service.errors import Conflict, NotFound


async def communities(session: ReadSession) -> list[CommunityRead]:
    """Jinnan's towns, streets and areas a resident can belong to."""
    return [CommunityRead.model_validate(c) for c in await repository.list_communities(session)]


async def organisations(
    session: ReadSession, *, community_id: int | None, kind: OrganisationKind | None
) -> list[OrganisationRead]:
    """Schools, enterprises and public institutions a resident can join."""
    rows = await repository.list_organisations(session, community_id=community_id, kind=kind.value if kind else None)
    return [OrganisationRead.model_validate(o) for o in rows]


async def get_active_resident(session: AsyncSession | ReadSession, *, resident_id: int) -> Resident:
    resident = await repository.get_resident(session, resident_id)
    if resident is None or resident.deleted_at is not None:
        raise NotFound("This account no longer exists.", "该账号已不存在。")
    return resident


async def resident_read(session: AsyncSession | ReadSession, resident: Resident) -> ResidentRead:
    community, organisation = await repository.get_community_and_organisation_names(session, resident)
    return ResidentRead(
        id=resident.public_id,
        nickname=resident.nickname,
        handle=resident.pseudonym,
        community=CommunityRead.model_validate(community) if community else None,
        organisation=OrganisationRead.model_validate(organisation) if organisation else None,
        leaderboard_visible=resident.leaderboard_visible,
        created_at=resident.created_at,
    )


async def profile(session: ReadSession, *, resident_id: int) -> ResidentRead:
    return await resident_read(session, await get_active_resident(session, resident_id=resident_id))


async def update_profile(session: AsyncSession, *, resident_id: int, changes: ResidentUpdate) -> ResidentRead:
    values = changes.model_dump(exclude_unset=True)
    if values.get("community_id") is not None and not await repository.community_exists(
        session, values["community_id"]
    ):
        raise UnknownCommunity(
            errors=[{"field": "community_id", "in": "body", "code": "UNKNOWN", "message": "no such community"}]
        )
    if values.get("organisation_id") is not None and not await repository.organisation_exists(
        session, values["organisation_id"]
    ):
        raise UnknownOrganisation(
            errors=[{"field": "organisation_id", "in": "body", "code": "UNKNOWN", "message": "no such organisation"}]
        )
    if values.get("leaderboard_visible", True) is None:
        values.pop("leaderboard_visible")
    resident = await get_active_resident(session, resident_id=resident_id)
    if values:
        resident = await repository.update_resident(session, resident.id, values)
    return await resident_read(session, resident)


def log_target(resident: Resident) -> str:
    """How the admin action log names a resident: by the board pseudonym, which outlives the account, never
    by the public id, which deleting the account replaces."""
    return f"resident:{resident.pseudonym}"


async def resident_for_admin(session: AsyncSession | ReadSession, *, public_id: uuid.UUID) -> Resident:
    """A resident by public id, erased accounts included, for an administrator's reads."""
    resident = await repository.resident_by_public_id(session, public_id)
    if resident is None:
        raise NotFound("No such resident.", "居民不存在。")
    return resident


async def find_for_admin(session: AsyncSession | ReadSession, *, query: str) -> Resident | None:
    """The resident a public id or a board pseudonym (`handle`) names, if any."""
    try:
        public_id = uuid.UUID(query)
    except ValueError:
        return await lookup.resident_by_handle(session, query)
    return await repository.resident_by_public_id(session, public_id)


async def places_of(
    session: AsyncSession | ReadSession, resident: Resident
) -> tuple[CommunityRead | None, OrganisationRead | None]:
    """The resident's community and organisation, as administrators read them."""
    community, organisation = await repository.get_community_and_organisation_names(session, resident)
    return (
        CommunityRead.model_validate(community) if community else None,
        OrganisationRead.model_validate(organisation) if organisation else None,
    )


async def set_frozen(
    session: AsyncSession, *, operator: Principal, public_id: uuid.UUID, frozen: bool, reason: str
) -> FrozenRead:
    """Freeze a resident (recording and redemption refused, balance kept) or unfreeze them, and log it; an
    officer reaches its own community's residents only."""
    resident = await repository.resident_by_public_id(session, public_id)
    if resident is None or resident.deleted_at is not None or not scope.reaches(operator, resident.community_id):
        raise NotFound("No such resident.", "居民不存在。")
    if (resident.frozen_at is not None) == frozen:
        raise Conflict(
            "The resident is already " + ("frozen." if frozen else "not frozen."),
            "该居民" + ("已被冻结。" if frozen else "未被冻结。"),
        )
    resident = await repository.set_resident_frozen(session, resident.id, reason=reason if frozen else None)
    action = "resident.freeze" if frozen else "resident.unfreeze"
    await actions.log(session, operator, action, log_target(resident), reason=reason)
    if frozen:
        return FrozenRead(resident_id=resident.public_id, frozen=True, frozen_at=resident.frozen_at, reason=reason)
    return FrozenRead(resident_id=resident.public_id, frozen=False, frozen_at=None, reason=None)
