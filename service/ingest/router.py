from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from service.accounts import scope
from service.accounts.deps import CurrentPartner, CurrentResident, ScopedOperator, ScopedReader, SettingsDep
from service.accounts.errors import AccountFrozen, OutsideScope
from service.db import ReadSessionDep, SessionDep, StatementConnectionDep
from service.errors import DuplicateConflict, NotFound, RateLimited
from service.factors.deps import FactorCacheDep
from service.factors.model import BehaviourType
from service.ingest import batches, flags, reading, reports, review
from service.ingest.deps import RecordingDep
from service.ingest.errors import (
    BehaviourNotPending,
    CategoryInvalid,
    EvidenceAlreadyUsed,
    EvidenceNotAccepted,
    InvalidInterval,
    NoFactorInForce,
    OutsideClaimWindow,
    QuantityOutOfRange,
    SiteCodeExpired,
    SiteCodeMissing,
    SiteCodeWindow,
    SiteDistanceImplausible,
    SiteKindMismatch,
    SpeedImplausible,
    TimeInFuture,
    TripAlreadyRecorded,
    UnitNotAccepted,
    UnknownResident,
)
from service.ingest.evidence import SITE_CODE_REFUSALS
from service.ingest.flag_schemas import FlagKind, FlagPage, FlagRead, FlagResolve, FlagStatus
from service.ingest.schemas import (
    BatchResult,
    BehaviourCreate,
    BehaviourPage,
    BehaviourRead,
    PartnerBatch,
    RecordedBehaviour,
    ReviewDecision,
    ReviewResult,
)
from service.kit.openapi import problems
from service.kit.pagination import Cursor, Limit, TimeCursor
from service.kit.schemas import ID_MAX
from service.ledger.deps import RecorderDep
from service.photos.deps import PhotoStorageDep
from service.photos.errors import PhotoUnknown

router = APIRouter()

BehaviourId = Annotated[
    int,
    Path(ge=1, le=ID_MAX, description="The behaviour's id, from the recording reply or the history.", examples=[1042]),
]
FlagId = Annotated[int, Path(ge=1, le=ID_MAX, description="The flag's id.", examples=[7])]
CommunityFilter = Annotated[
    int | None,
    Query(
        ge=1,
        le=ID_MAX,
        description="Only residents of this community (from /v1/communities); an officer's own, if given.",
        examples=[1],
    ),
]


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
            EvidenceAlreadyUsed,
            EvidenceNotAccepted,
            SiteCodeMissing,
            *SITE_CODE_REFUSALS,
            SiteKindMismatch,
            SiteCodeWindow,
            SiteCodeExpired,
            SiteDistanceImplausible,
            PhotoUnknown,
            RateLimited,
        ),
        200: {"model": RecordedBehaviour, "description": "This client_id was recorded before: the original result."},
    },
)
async def record_behaviour(
    resident: CurrentResident, body: BehaviourCreate, recording: RecordingDep, response: Response
) -> RecordedBehaviour:
    """Record a low-carbon behaviour; answers the credit, its calculation, the evidence verified, the
    issuance transfer and the new balance."""
    recorded = await reports.report(
        sessions=recording.db.sessionmaker,
        cache=recording.cache,
        sites=recording.sites,
        recorder=recording.recorder,
        resident_id=resident.subject_id,
        body=body,
    )
    if recorded.replayed:
        response.status_code = status.HTTP_200_OK
    return recorded


@router.get("/v1/me/behaviours", tags=["behaviours"])
async def my_behaviours(
    resident: CurrentResident,
    session: ReadSessionDep,
    cache: FactorCacheDep,
    limit: Limit = 20,
    cursor: TimeCursor = None,
) -> BehaviourPage:
    """The signed-in resident's behaviours, most recent first.

    By when they happened; of records of one moment, the later recorded comes first."""
    return await reading.history(session, cache=cache, resident_id=resident.subject_id, cursor=cursor, limit=limit)


@router.get("/v1/me/behaviours/{behaviour_id}", tags=["behaviours"], responses=problems(NotFound))
async def my_behaviour(
    resident: CurrentResident, behaviour_id: BehaviourId, session: ReadSessionDep, cache: FactorCacheDep
) -> BehaviourRead:
    """One behaviour with the full calculation and the factor version behind its credit."""
    return await reading.get_for_resident(
        session, cache=cache, resident_id=resident.subject_id, behaviour_id=behaviour_id
    )


@router.post("/v1/partner/behaviours", tags=["partner"], response_model=BatchResult)
async def partner_batch(
    caller: CurrentPartner,
    body: PartnerBatch,
    connection: StatementConnectionDep,
    recording: RecordingDep,
) -> Response:
    """Push up to 1,000 verified records; each gets its own outcome."""
    reply = await batches.submit(
        connection,
        sessions=recording.db.sessionmaker,
        cache=recording.cache,
        recorder=recording.recorder,
        partner_id=caller.partner.id,
        records=body.records,
    )
    return Response(reply, media_type="application/json")


@router.get("/v1/admin/behaviours/pending", tags=["admin"], responses=problems(OutsideScope))
async def pending_behaviours(
    reader: ScopedReader,
    session: ReadSessionDep,
    cache: FactorCacheDep,
    storage: PhotoStorageDep,
    settings: SettingsDep,
    limit: Limit = 50,
    cursor: Cursor = None,
    type: Annotated[
        BehaviourType | None, Query(description="Only reports of this behaviour type.", examples=["waste_sorting"])
    ] = None,
    community_id: CommunityFilter = None,
) -> BehaviourPage:
    """Reports waiting for an operator's decision, oldest first; one backed by a photo carries a link to
    it that works for a few minutes (`photo_url`). An officer sees its own community's only."""
    return await reading.pending(
        session,
        cache=cache,
        storage=storage,
        settings=settings,
        behaviour_type=type,
        community_id=scope.community_of(reader, community_id),
        cursor=cursor,
        limit=limit,
    )


@router.post(
    "/v1/admin/behaviours/{behaviour_id}/review", tags=["admin"], responses=problems(NotFound, BehaviourNotPending)
)
async def review_behaviour(
    operator: ScopedOperator,
    behaviour_id: BehaviourId,
    body: ReviewDecision,
    session: SessionDep,
    recorder: RecorderDep,
) -> ReviewResult:
    """Approve (credit, under the caps of its day) or reject a self-report held for review."""
    return await review.decide(session, recorder=recorder, operator=operator, behaviour_id=behaviour_id, decision=body)


@router.get("/v1/admin/flags", tags=["admin"], responses=problems(OutsideScope))
async def review_queue(
    reader: ScopedReader,
    session: ReadSessionDep,
    status: Annotated[
        FlagStatus, Query(description="open (the queue), resolved or all.", examples=["open"])
    ] = FlagStatus.open,
    kind: Annotated[FlagKind | None, Query(description="Only this kind.", examples=["burst"])] = None,
    community_id: CommunityFilter = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> FlagPage:
    """Fraud flags for review, oldest first. An officer sees those about its own community's residents
    only (a shared device, about several residents, is for district-wide administrators)."""
    return await flags.page(
        session,
        status=status,
        kind=kind,
        community_id=scope.community_of(reader, community_id),
        cursor=cursor,
        limit=limit,
    )


@router.post("/v1/admin/flags/{flag_id}/resolve", tags=["admin"], responses=problems(NotFound))
async def resolve_flag(operator: ScopedOperator, flag_id: FlagId, body: FlagResolve, session: SessionDep) -> FlagRead:
    """Confirm or dismiss an open flag. Freezing, reversing or approving are separate actions."""
    return await flags.resolve(session, operator=operator, flag_id=flag_id, decision=body)
