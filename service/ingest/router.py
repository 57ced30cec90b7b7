from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from service.accounts.deps import AdminOperator, AdminReader, CurrentPartner, CurrentResident
from service.audit import actions
from service.db import DatabaseDep, ReadSessionDep, SessionDep, StatementConnectionDep
from service.errors import NotFound, RateLimited
from service.ingest import flags, service
from service.ingest.deps import IngestDep
from service.ingest.errors import (
    AccountFrozen,
    BehaviourNotPending,
    CategoryInvalid,
    DuplicateConflict,
    InvalidInterval,
    NoFactorInForce,
    OutsideClaimWindow,
    QuantityOutOfRange,
    SpeedImplausible,
    TimeInFuture,
    TripAlreadyRecorded,
    UnitNotAccepted,
    UnknownResident,
)
from service.ingest.schemas import (
    BatchResult,
    BehaviourCreate,
    BehaviourPage,
    BehaviourRead,
    FlagPage,
    FlagRead,
    FlagResolve,
    PartnerBatch,
    RecordedBehaviour,
    ReviewDecision,
    ReviewResult,
)
from service.kit.openapi import problems
from service.kit.pagination import Cursor, Limit, decode_cursor, encode_cursor
from service.kit.schemas import BIGINT_MAX

router = APIRouter()

BehaviourId = Annotated[
    int,
    Path(
        ge=1, le=BIGINT_MAX, description="The behaviour's id, from the recording reply or the history.", examples=[1042]
    ),
]
FlagId = Annotated[int, Path(ge=1, le=BIGINT_MAX, description="The flag's id.", examples=[7])]


@router.post(
    "/v1/behaviours",
    tags=["behaviours"],
    status_code=status.HTTP_201_CREATED,
    responses={
        **problems(
            QuantityOutOfRange,
            SpeedImplausible,
            TimeInFuture,
            OutsideClaimWindow,
            InvalidInterval,
            UnitNotAccepted,
            CategoryInvalid,
            NoFactorInForce,
            UnknownResident,
            AccountFrozen,
            DuplicateConflict,
            TripAlreadyRecorded,
            RateLimited,
        ),
        200: {"model": RecordedBehaviour, "description": "This client_id was recorded before: the original result."},
    },
)
async def record_behaviour(
    resident: CurrentResident,
    body: BehaviourCreate,
    db: DatabaseDep,
    ingest: IngestDep,
    response: Response,
) -> RecordedBehaviour:
    """Record a low-carbon behaviour; answers the credit, its calculation and the new balance."""
    recorded = await service.record_for_resident(
        sessions=db.sessionmaker, ingest=ingest, resident_id=resident.subject_id, body=body
    )
    if recorded.replayed:
        response.status_code = status.HTTP_200_OK
    return recorded


@router.get("/v1/me/behaviours", tags=["behaviours"])
async def my_behaviours(
    resident: CurrentResident, session: ReadSessionDep, ingest: IngestDep, limit: Limit = 20, cursor: Cursor = None
) -> BehaviourPage:
    """The signed-in resident's behaviours, most recent first.

    By when they happened; of records of one moment, the later recorded comes first."""
    return await service.history(
        session, cache=ingest.cache, resident_id=resident.subject_id, cursor=cursor, limit=limit
    )


@router.get("/v1/me/behaviours/{behaviour_id}", tags=["behaviours"], responses=problems(NotFound))
async def my_behaviour(
    resident: CurrentResident, behaviour_id: BehaviourId, session: ReadSessionDep, ingest: IngestDep
) -> BehaviourRead:
    """One behaviour with the full calculation and the factor version behind its credit."""
    return await service.get_for_resident(
        session, cache=ingest.cache, resident_id=resident.subject_id, behaviour_id=behaviour_id
    )


@router.post("/v1/partner/behaviours", tags=["partner"], response_model=BatchResult)
async def partner_batch(
    caller: CurrentPartner, body: PartnerBatch, connection: StatementConnectionDep, db: DatabaseDep, ingest: IngestDep
) -> Response:
    """Push up to 1,000 verified records; each gets its own outcome."""
    reply = await service.record_partner_batch(
        connection, sessions=db.sessionmaker, ingest=ingest, partner_id=caller.partner.id, records=body.records
    )
    return Response(reply, media_type="application/json")


@router.get("/v1/admin/behaviours/pending", tags=["admin"])
async def pending_behaviours(
    _: AdminReader, session: ReadSessionDep, ingest: IngestDep, limit: Limit = 50, cursor: Cursor = None
) -> BehaviourPage:
    """Self-reports waiting for an operator's decision, oldest first."""
    return await service.pending(session, cache=ingest.cache, cursor=cursor, limit=limit)


@router.post(
    "/v1/admin/behaviours/{behaviour_id}/review", tags=["admin"], responses=problems(NotFound, BehaviourNotPending)
)
async def review_behaviour(
    operator: AdminOperator,
    behaviour_id: BehaviourId,
    body: ReviewDecision,
    session: SessionDep,
    ingest: IngestDep,
) -> ReviewResult:
    """Approve (credit, under the caps of its day) or reject a self-report held for review."""
    result = await service.review(
        session,
        ingest=ingest,
        behaviour_id=behaviour_id,
        approve=body.approve,
        actor=f"user:{operator.subject_id}",
        reason=body.reason,
    )
    await actions.record(
        session,
        operator,
        "behaviour.review",
        f"behaviour:{behaviour_id}",
        reason=body.reason,
        approve=body.approve,
        credited_g=result.credited_g,
    )
    return result


class FlagStatus(StrEnum):
    open = "open"
    resolved = "resolved"
    all = "all"


class FlagKind(StrEnum):
    implausible_speed = "implausible_speed"
    burst = "burst"
    two_sources = "two_sources"
    shared_device = "shared_device"


@router.get("/v1/admin/flags", tags=["admin"])
async def review_queue(
    _: AdminReader,
    session: ReadSessionDep,
    status: Annotated[
        FlagStatus, Query(description="open (the queue), resolved or all.", examples=["open"])
    ] = FlagStatus.open,
    kind: Annotated[FlagKind | None, Query(description="Only this kind.", examples=["burst"])] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> FlagPage:
    """Fraud flags for review, oldest first."""
    rows = await flags.list_flags(
        session,
        status=status.value,
        kind=kind.value if kind else None,
        after=decode_cursor(cursor) or 0,
        limit=limit + 1,
    )
    items = [FlagRead.model_validate(row) for row in rows[:limit]]
    return FlagPage(items=items, next_cursor=encode_cursor(items[-1].id) if len(rows) > limit else None)


@router.post("/v1/admin/flags/{flag_id}/resolve", tags=["admin"], responses=problems(NotFound))
async def resolve_flag(operator: AdminOperator, flag_id: FlagId, body: FlagResolve, session: SessionDep) -> FlagRead:
    """Confirm or dismiss an open flag. Freezing, reversing or approving are separate actions."""
    if not await flags.resolve(
        session,
        flag_id=flag_id,
        resolution=body.resolution.value,
        actor=f"user:{operator.subject_id}",
        reason=body.reason,
    ):
        raise NotFound("No open flag of that id.", "没有该编号的待处理标记。")
    await actions.record(
        session, operator, "flag.resolve", f"flag:{flag_id}", reason=body.reason, resolution=body.resolution.value
    )
    (row,) = await flags.list_flags(session, status="all", kind=None, after=flag_id - 1, limit=1)
    return FlagRead.model_validate(row)
