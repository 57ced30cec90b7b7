"""The leaderboard's endpoints: public top boards, a resident's standing, and group boards."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from service.accounts.deps import CurrentResident, SignedIn
from service.db import DatabaseDep, ReadConnectionDep
from service.errors import NotFound
from service.kit.openapi import problems
from service.kit.schemas import ID_MAX, IsoDate
from service.leaderboard import service
from service.leaderboard.boards import Category, GroupKind, GroupOrder, Period, Scope
from service.leaderboard.deps import TopCacheDep
from service.leaderboard.errors import ScopeRequired, StandingHidden, UnknownScope
from service.leaderboard.schemas import GroupBoard, Leaderboard, Standing

router = APIRouter(tags=["leaderboards"])


PeriodQ = Annotated[Period, Query(description="day, week, month, year or all (Asia/Shanghai).", examples=["week"])]
OnQ = Annotated[
    IsoDate | None,
    Query(description="A date inside the period wanted; default today in Asia/Shanghai.", examples=["2026-11-23"]),
]
CategoryQ = Annotated[
    Category, Query(description="all, green_travel, waste_sorting or low_carbon_visit.", examples=["green_travel"])
]
ScopeQ = Annotated[Scope, Query(description="district, community or organisation.", examples=["community"])]
ScopeIdQ = Annotated[
    int | None,
    Query(ge=1, le=ID_MAX, description="Community or organisation id; default the resident's own.", examples=[3]),
]


@router.get("/v1/leaderboards/residents", response_model=Leaderboard, responses=problems(ScopeRequired, UnknownScope))
async def resident_board(
    principal: SignedIn,
    db: DatabaseDep,
    cache: TopCacheDep,
    period: PeriodQ = Period.week,
    on: OnQ = None,
    category: CategoryQ = Category.all,
    scope: ScopeQ = Scope.district,
    scope_id: ScopeIdQ = None,
    limit: Annotated[int, Query(ge=1, le=100, description="How many from the top, 1–100.", examples=[20])] = 20,
) -> Response:
    """The top residents of a board, with masked nicknames; opted-out residents are left off. Public
    boards are as of the last roll-up (`board.as_of`), a few seconds behind the ledger."""
    reply = await service.top_board(
        db,
        cache=cache,
        viewer=principal,
        period=period,
        on=on,
        category=category,
        scope=scope,
        scope_id=scope_id,
        limit=limit,
    )
    return Response(reply, media_type="application/json")


@router.get("/v1/me/leaderboard", responses=problems(ScopeRequired, UnknownScope))
async def my_standing(
    resident: CurrentResident,
    connection: ReadConnectionDep,
    period: PeriodQ = Period.week,
    on: OnQ = None,
    category: CategoryQ = Category.all,
    scope: ScopeQ = Scope.district,
    scope_id: ScopeIdQ = None,
    neighbours: Annotated[
        int, Query(ge=0, le=10, description="Residents to show above and below, 0–10.", examples=[3])
    ] = 3,
) -> Standing:
    """My grams and rank on a board, up to date with my latest credits, and my neighbours."""
    return await service.my_standing(
        connection,
        resident_id=resident.subject_id,
        period=period,
        on=on,
        category=category,
        scope=scope,
        scope_id=scope_id,
        neighbours=neighbours,
    )


@router.get(
    "/v1/leaderboards/residents/{handle}", responses=problems(NotFound, ScopeRequired, UnknownScope, StandingHidden)
)
async def resident_standing(
    principal: SignedIn,
    connection: ReadConnectionDep,
    handle: Annotated[
        str, Path(min_length=1, max_length=64, description="A `handle` from a board entry.", examples=["r-8f2k3m"])
    ],
    period: PeriodQ = Period.week,
    on: OnQ = None,
    category: CategoryQ = Category.all,
    scope: ScopeQ = Scope.district,
    scope_id: ScopeIdQ = None,
    neighbours: Annotated[
        int, Query(ge=0, le=10, description="Residents to show above and below, 0–10.", examples=[3])
    ] = 0,
) -> Standing:
    """Another resident's standing; 403 STANDING_HIDDEN when they opted out of public boards."""
    return await service.standing_by_handle(
        connection,
        viewer=principal,
        handle=handle,
        period=period,
        on=on,
        category=category,
        scope=scope,
        scope_id=scope_id,
        neighbours=neighbours,
    )


@router.get("/v1/leaderboards/groups")
async def group_board(
    _: SignedIn,
    connection: ReadConnectionDep,
    kind: Annotated[
        GroupKind, Query(description="community or organisation.", examples=["community"])
    ] = GroupKind.community,
    period: PeriodQ = Period.week,
    on: OnQ = None,
    category: CategoryQ = Category.all,
    order: Annotated[
        GroupOrder, Query(description="total credits, or credits per registered resident.", examples=["per_resident"])
    ] = (GroupOrder.total),
    limit: Annotated[int, Query(ge=1, le=100, description="How many from the top, 1–100.", examples=[20])] = 20,
) -> GroupBoard:
    """Communities or organisations ranked by their members' credits, in total or per resident."""
    return await service.group_board(
        connection, kind=kind, period=period, on=on, category=category, order=order, limit=limit
    )
