"""Administrators' reads of one resident (each logged, as personal data) and the monthly report per town."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from service.accounts import scope
from service.accounts.deps import ScopedReader, SettingsDep
from service.accounts.errors import OutsideScope, UnknownCommunity
from service.audit import reports, residents
from service.audit.report_schemas import MonthlyReport
from service.audit.resident_schemas import ResidentAdminRead, ResidentMatches
from service.db import ReadSessionDep, SessionDep
from service.errors import NotFound
from service.factors.deps import FactorCacheDep
from service.ingest.flag_schemas import FlagPage
from service.ingest.schemas import BehaviourPage
from service.kit.openapi import problems
from service.kit.pagination import Cursor, Limit, TimeCursor
from service.kit.schemas import ID_MAX
from service.ledger.schemas import AccountEntryPage

router = APIRouter()

PublicId = Annotated[
    uuid.UUID,
    Path(
        description="The resident's public id, as administrators see it.",
        examples=["5b0f6f4e-2f55-4c61-9f0a-3c1d2e7b8a90"],
    ),
]
Month = Annotated[
    str,
    Query(
        pattern=r"^20[0-9]{2}-(0[1-9]|1[0-2])$",
        description="The month, YYYY-MM, in Asia/Shanghai.",
        examples=["2026-11"],
    ),
]
CommunityId = Annotated[
    int | None,
    Query(ge=1, le=ID_MAX, description="Only this community (a town, street or area).", examples=[1]),
]


@router.get("/v1/admin/residents", tags=["admin"])
async def find_residents(
    admin: ScopedReader,
    session: ReadSessionDep,
    log: SessionDep,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=64,
            description="A resident's public id, or the pseudonym the boards show (`handle`).",
            examples=["r-3fa85f6457174562"],
        ),
    ],
) -> ResidentMatches:
    """Find a resident by public id or board pseudonym; the find is logged."""
    return await residents.find(session, log=log, admin=admin, query=q)


@router.get("/v1/admin/residents/{public_id}", tags=["admin"], responses=problems(NotFound))
async def resident_page(
    admin: ScopedReader, public_id: PublicId, session: ReadSessionDep, log: SessionDep, settings: SettingsDep
) -> ResidentAdminRead:
    """A resident's profile, frozen state, balance, credits expiring soon and counts; the read is logged."""
    return await residents.page(
        session, log=log, admin=admin, public_id=public_id, validity_months=settings.credit_validity_months
    )


@router.get("/v1/admin/residents/{public_id}/behaviours", tags=["admin"], responses=problems(NotFound))
async def resident_behaviours(
    admin: ScopedReader,
    public_id: PublicId,
    session: ReadSessionDep,
    log: SessionDep,
    cache: FactorCacheDep,
    limit: Limit = 20,
    cursor: TimeCursor = None,
) -> BehaviourPage:
    """A resident's behaviours, most recent first, each with its calculation; the read is logged."""
    return await residents.behaviours(
        session, log=log, admin=admin, cache=cache, public_id=public_id, cursor=cursor, limit=limit
    )


@router.get("/v1/admin/residents/{public_id}/ledger", tags=["admin"], responses=problems(NotFound))
async def resident_ledger(
    admin: ScopedReader,
    public_id: PublicId,
    session: ReadSessionDep,
    log: SessionDep,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> AccountEntryPage:
    """A resident's ledger entries, newest first; the read is logged."""
    return await residents.entries(session, log=log, admin=admin, public_id=public_id, cursor=cursor, limit=limit)


@router.get("/v1/admin/residents/{public_id}/flags", tags=["admin"], responses=problems(NotFound))
async def resident_flags(
    admin: ScopedReader,
    public_id: PublicId,
    session: ReadSessionDep,
    log: SessionDep,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> FlagPage:
    """The fraud flags raised about a resident, newest first; the read is logged."""
    return await residents.resident_flags(
        session, log=log, admin=admin, public_id=public_id, cursor=cursor, limit=limit
    )


@router.get("/v1/admin/reports/monthly", tags=["admin"], responses=problems(UnknownCommunity, OutsideScope))
async def monthly_report(
    reader: ScopedReader, session: ReadSessionDep, month: Month, community_id: CommunityId = None
) -> MonthlyReport:
    """The month's figures per town or community and for the district: residents active, credits and CO₂e
    by behaviour type and plan action, redemptions, retirements, reviews and flags; an officer's, of its
    own community."""
    return await reports.monthly(session, month=month, community_id=scope.community_of(reader, community_id))


@router.get(
    "/v1/admin/reports/monthly.csv",
    tags=["admin"],
    response_class=Response,
    responses={
        **problems(UnknownCommunity, OutsideScope),
        200: {"content": {"text/csv": {}}, "description": "The report as one CSV table."},
    },
)
async def monthly_report_csv(
    reader: ScopedReader, session: ReadSessionDep, month: Month, community_id: CommunityId = None
) -> Response:
    """The monthly report as one CSV table, safe to open in a spreadsheet."""
    community_id = scope.community_of(reader, community_id)
    body = await reports.monthly_csv(session, month=month, community_id=community_id)
    name = f"tanpuhui-report-{month}" + (f"-community-{community_id}" if community_id else "") + ".csv"
    return Response(
        body, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
