"""One resident as administrators read them: the page (profile, balance, counts), their behaviours, their
ledger entries and their flags. Every read is personal data and is logged (`resident.view`, with the part
read) in the administrator's own transaction: the reply is sent only once the log line has committed.

Each read starts from `_resident`, which loads the resident by public id: the one place where an officer
kept to one community is held to its residents (service/accounts/scope.py)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts import actions, scope
from service.accounts import residents as accounts
from service.accounts.models import Resident
from service.accounts.tokens import Principal
from service.audit.resident_schemas import ResidentAdminRead, ResidentCounts, ResidentFound, ResidentMatches
from service.db import ReadSession
from service.errors import NotFound
from service.factors.cache import FactorCache
from service.ingest import flags, reading
from service.ingest.flag_schemas import FlagPage
from service.ingest.schemas import BehaviourPage
from service.leaderboard.boards import mask_nickname
from service.ledger import history
from service.ledger import service as ledger_service
from service.ledger.schemas import AccountEntryPage

EXPIRING_WITHIN_DAYS = 30


async def _resident(session: ReadSession, *, admin: Principal, public_id: uuid.UUID) -> Resident:
    """The resident, if the administrator may reach them: a resident outside an officer's community is
    answered as not found."""
    resident = await accounts.resident_for_admin(session, public_id=public_id)
    if not scope.reaches(admin, resident.community_id):
        raise NotFound("No such resident.", "居民不存在。")
    return resident


async def _viewed(log: AsyncSession, admin: Principal, resident: Resident, part: str) -> None:
    await actions.log(log, admin, "resident.view", accounts.log_target(resident), part=part)


async def find(session: ReadSession, *, log: AsyncSession, admin: Principal, query: str) -> ResidentMatches:
    """The resident a public id or a board pseudonym names."""
    resident = await accounts.find_for_admin(session, query=query.strip())
    if resident is None or not scope.reaches(admin, resident.community_id):
        return ResidentMatches(items=[])
    community, _ = await accounts.places_of(session, resident)
    await _viewed(log, admin, resident, "search")
    found = ResidentFound(
        id=resident.public_id,
        handle=resident.pseudonym,
        nickname=mask_nickname(resident.nickname),
        community=community,
        frozen=resident.frozen_at is not None,
        deleted=resident.deleted_at is not None,
    )
    return ResidentMatches(items=[found])


async def page(
    session: ReadSession, *, log: AsyncSession, admin: Principal, public_id: uuid.UUID, validity_months: int
) -> ResidentAdminRead:
    """The resident's page: who, where, frozen or not, balance and what expires soon, and counts."""
    resident = await _resident(session, admin=admin, public_id=public_id)
    community, organisation = await accounts.places_of(session, resident)
    balance = await ledger_service.resident_balance(session, resident_id=resident.id)
    expiring = await ledger_service.expiring(
        session, resident_id=resident.id, months=validity_months, within_days=EXPIRING_WITHIN_DAYS
    )
    counts = await flags.resident_counts(session, resident_id=resident.id)
    await _viewed(log, admin, resident, "profile")
    return ResidentAdminRead(
        id=resident.public_id,
        handle=resident.pseudonym,
        nickname=mask_nickname(resident.nickname),
        community=community,
        organisation=organisation,
        leaderboard_visible=resident.leaderboard_visible,
        created_at=resident.created_at,
        deleted_at=resident.deleted_at,
        frozen=resident.frozen_at is not None,
        frozen_at=resident.frozen_at,
        frozen_reason=resident.frozen_reason,
        balance=balance,
        expiring=expiring,
        counts=ResidentCounts.model_validate(counts),
    )


async def behaviours(
    session: ReadSession,
    *,
    log: AsyncSession,
    admin: Principal,
    cache: FactorCache,
    public_id: uuid.UUID,
    cursor: str | None,
    limit: int,
) -> BehaviourPage:
    """The resident's behaviours, most recent first, each with its calculation and factor version."""
    resident = await _resident(session, admin=admin, public_id=public_id)
    found = await reading.history(session, cache=cache, resident_id=resident.id, cursor=cursor, limit=limit)
    await _viewed(log, admin, resident, "behaviours")
    return found


async def entries(
    session: ReadSession, *, log: AsyncSession, admin: Principal, public_id: uuid.UUID, cursor: str | None, limit: int
) -> AccountEntryPage:
    """The resident's ledger entries, newest first."""
    resident = await _resident(session, admin=admin, public_id=public_id)
    found = await history.resident_entries(session, resident_id=resident.id, cursor=cursor, limit=limit)
    await _viewed(log, admin, resident, "ledger")
    return found


async def resident_flags(
    session: ReadSession, *, log: AsyncSession, admin: Principal, public_id: uuid.UUID, cursor: str | None, limit: int
) -> FlagPage:
    """The flags raised about the resident, newest first, whatever their status."""
    resident = await _resident(session, admin=admin, public_id=public_id)
    found = await flags.resident_page(session, resident_id=resident.id, cursor=cursor, limit=limit)
    await _viewed(log, admin, resident, "flags")
    return found
