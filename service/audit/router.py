"""The audit domain's endpoints: receipts for residents; checkpoints, consistency proofs and the signing key
for anyone; the action log, transfer search and exports, the dashboard and verification for administrators."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal, cast

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import StreamingResponse

from service.accounts import scope
from service.accounts.deps import AdminReader, CurrentResident, ScopedReader
from service.accounts.errors import OutsideScope
from service.audit import dashboard, receipts, search, verify, whatif
from service.audit.consent_schemas import ConsentReceiptRead
from service.audit.errors import CheckpointNotFound, ConsentEventNotFound, EntryNotFound, ReceiptNotReady
from service.audit.schemas import (
    ActionPage,
    CheckpointRead,
    ConsistencyRead,
    DashboardRead,
    DashboardUnit,
    ExportFormat,
    PublicKeyRead,
    ReceiptRead,
    TransferFilter,
    TransferKind,
    TransferPage,
    VerifyLine,
    VerifyRead,
)
from service.audit.signing import CheckpointSigner
from service.audit.whatif_schemas import WhatIfRead
from service.db import ReadSessionDep, database_of
from service.errors import DatabaseUnavailable, ValidationFailed
from service.factors.deps import FactorCacheDep
from service.factors.errors import FactorDraftNotFound
from service.factors.model import BehaviourType
from service.kit.openapi import problems
from service.kit.pagination import Cursor
from service.kit.schemas import ID_MAX, IsoDate, IsoDateTime

router = APIRouter()

ReceiptBehaviourId = Annotated[
    int, Path(ge=1, le=ID_MAX, description="The behaviour whose credit the receipt proves.", examples=[1042])
]
TreeSize = Annotated[
    int, Path(ge=1, le=ID_MAX, description="The checkpoint's size: how many entries the log held.", examples=[4096])
]


async def get_signer(request: Request) -> CheckpointSigner:
    return cast(CheckpointSigner, request.app.state.checkpoint_signer)


SignerDep = Annotated[CheckpointSigner, Depends(get_signer)]


@router.get(
    "/v1/me/behaviours/{behaviour_id}/receipt", tags=["receipts"], responses=problems(EntryNotFound, ReceiptNotReady)
)
async def behaviour_receipt(
    resident: CurrentResident,
    behaviour_id: ReceiptBehaviourId,
    session: ReadSessionDep,
    signer: SignerDep,
    response: Response,
) -> ReceiptRead:
    """Proof that the credit for this behaviour is in the ledger's append-only log: check it offline.
    409 RECEIPT_NOT_READY for about a second after the credit, until the entry is sealed."""
    response.headers["Cache-Control"] = "no-store"
    return await receipts.receipt(session, signer=signer, resident_id=resident.subject_id, behaviour_id=behaviour_id)


@router.get("/v1/me/receipts/{entry_id}", tags=["receipts"], responses=problems(EntryNotFound, ReceiptNotReady))
async def entry_receipt(
    resident: CurrentResident,
    entry_id: Annotated[
        int,
        Path(
            ge=1,
            le=ID_MAX,
            description="The ledger entry's id: `entry.id` of a receipt.",
            examples=[2087],
        ),
    ],
    session: ReadSessionDep,
    signer: SignerDep,
    response: Response,
) -> ReceiptRead:
    """Proof that one of your ledger entries (a credit, a redemption, a refund, an expiry) is in the log."""
    response.headers["Cache-Control"] = "no-store"
    return await receipts.receipt(session, signer=signer, resident_id=resident.subject_id, entry_id=entry_id)


@router.get(
    "/v1/me/links/{link_id}/receipts/{kind}",
    tags=["receipts"],
    responses=problems(ConsentEventNotFound, ReceiptNotReady),
)
async def consent_receipt(
    resident: CurrentResident,
    link_id: Annotated[
        uuid.UUID, Path(description="The link's id.", examples=["0f8e5c1a-93b2-4d6e-a7f0-2c4b8d9e1f35"])
    ],
    kind: Annotated[
        Literal["granted", "revoked"],
        Path(description="The consent's grant, or its revocation.", examples=["granted"]),
    ],
    session: ReadSessionDep,
    signer: SignerDep,
    response: Response,
) -> ConsentReceiptRead:
    """Proof that you granted (or withdrew) consent to this link, and when: check it offline like any receipt."""
    response.headers["Cache-Control"] = "no-store"
    return await receipts.consent_receipt(
        session, signer=signer, resident_id=resident.subject_id, link_id=link_id, kind=kind
    )


@router.get("/v1/transparency/checkpoint", tags=["receipts"], responses=problems(CheckpointNotFound))
async def latest_checkpoint(session: ReadSessionDep) -> CheckpointRead:
    """The latest signed checkpoint of the log."""
    return await receipts.latest_checkpoint(session)


@router.get("/v1/transparency/checkpoints/{tree_size}", tags=["receipts"], responses=problems(CheckpointNotFound))
async def checkpoint(tree_size: TreeSize, session: ReadSessionDep) -> CheckpointRead:
    """The signed checkpoint of this size."""
    return await receipts.checkpoint(session, tree_size=tree_size)


@router.get("/v1/transparency/consistency", tags=["receipts"], responses=problems(CheckpointNotFound))
async def consistency(
    session: ReadSessionDep,
    first: Annotated[int, Query(ge=1, le=ID_MAX, description="Size of the earlier checkpoint.", examples=[1024])],
    second: Annotated[int, Query(ge=1, le=ID_MAX, description="Size of the later checkpoint.", examples=[4096])],
) -> ConsistencyRead:
    """Proof that the later checkpoint extends the earlier one: nothing sealed was changed or removed."""
    return await receipts.consistency(session, first=first, second=second)


CommunityFilter = Annotated[
    int | None,
    Query(
        ge=1,
        le=ID_MAX,
        description="Only residents of this community (from /v1/communities); an officer's own, if given.",
        examples=[1],
    ),
]


@router.get("/v1/admin/audit/actions", tags=["admin"], responses=problems(OutsideScope))
async def admin_actions(
    reader: ScopedReader,
    session: ReadSessionDep,
    actor: Annotated[
        str | None, Query(max_length=64, description="Only this actor, e.g. `user:3`.", examples=["user:3"])
    ] = None,
    action: Annotated[
        str | None, Query(max_length=64, description="Only this action.", examples=["enterprise.review"])
    ] = None,
    since: Annotated[
        IsoDateTime | None, Query(description="At or after this time.", examples=["2026-11-01T00:00:00+08:00"])
    ] = None,
    until: Annotated[
        IsoDateTime | None, Query(description="Before this time.", examples=["2026-12-01T00:00:00+08:00"])
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size.", examples=[20])] = 100,
    cursor: Cursor = None,
) -> ActionPage:
    """The admin action log, newest first: factor publishes, reversals, reviews, approvals, freezes… An
    officer kept to one community reads its own actions only."""
    return await search.action_log(
        session,
        actor=search.actor_in_scope(reader, actor),
        action=action,
        since=since,
        until=until,
        cursor=cursor,
        limit=limit,
    )


def _transfer_filter(
    reader: ScopedReader,
    account_id: Annotated[
        int | None, Query(ge=1, le=ID_MAX, description="Transfers into or out of this account.", examples=[42])
    ] = None,
    kind: Annotated[
        TransferKind | None, Query(description="Only this kind of transfer.", examples=["issuance"])
    ] = None,
    behaviour_type: Annotated[
        BehaviourType | None, Query(description="Only credits for this behaviour type.", examples=["metro_ride"])
    ] = None,
    factor_version_id: Annotated[
        int | None, Query(ge=1, le=ID_MAX, description="Only this factor version.", examples=[1])
    ] = None,
    partner_id: Annotated[
        int | None, Query(ge=1, le=ID_MAX, description="Only behaviours this partner reported.", examples=[2])
    ] = None,
    since: Annotated[
        IsoDateTime | None, Query(description="Written at or after.", examples=["2026-11-01T00:00:00+08:00"])
    ] = None,
    until: Annotated[
        IsoDateTime | None, Query(description="Written before.", examples=["2026-12-01T00:00:00+08:00"])
    ] = None,
    community_id: CommunityFilter = None,
) -> TransferFilter:
    return search.transfer_filter(
        community_id=scope.community_of(reader, community_id),
        account_id=account_id,
        kind=kind,
        behaviour_type=behaviour_type,
        factor_version_id=factor_version_id,
        partner_id=partner_id,
        since=since,
        until=until,
    )


FilterDep = Annotated[TransferFilter, Depends(_transfer_filter)]


@router.get("/v1/admin/audit/transfers", tags=["admin"], responses=problems(OutsideScope))
async def search_transfers(
    _: ScopedReader,
    session: ReadSessionDep,
    filters: FilterDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="Page size.", examples=[20])] = 100,
    cursor: Cursor = None,
) -> TransferPage:
    """Search the ledger's transfers, oldest first; an officer's, only those into or out of its community's
    residents' accounts."""
    return await search.transfers_page(session, filters=filters, cursor=cursor, limit=limit)


@router.get(
    "/v1/admin/audit/transfers/export",
    tags=["admin"],
    response_class=StreamingResponse,
    responses={
        **problems(DatabaseUnavailable, OutsideScope),
        200: {"content": {"text/csv": {}, "application/x-ndjson": {}}, "description": "The transfers."},
    },
)
async def export_transfers(
    _: ScopedReader,
    request: Request,
    filters: FilterDep,
    format: Annotated[ExportFormat, Query(description="csv or jsonl.", examples=["csv"])] = ExportFormat.csv,
) -> StreamingResponse:
    """Every transfer matching the filters, streamed as CSV or JSON Lines, oldest first."""
    export = search.export(database_of(request).read_engine, filters=filters, format=format)
    disposition = f'attachment; filename="{export.filename}"'
    return StreamingResponse(export.body, media_type=export.media_type, headers={"Content-Disposition": disposition})


@router.get("/v1/admin/dashboard", tags=["admin"], responses=problems(ValidationFailed, OutsideScope))
async def dashboard_figures(
    reader: ScopedReader,
    session: ReadSessionDep,
    start: Annotated[IsoDate, Query(description="First local day (Asia/Shanghai).", examples=["2026-11-01"])],
    end: Annotated[IsoDate, Query(description="Day after the last local day.", examples=["2026-12-01"])],
    group_by: Annotated[DashboardUnit, Query(description="day or month.", examples=["day"])] = DashboardUnit.day,
    community_id: CommunityFilter = None,
) -> DashboardRead:
    """Credits issued and CO₂e reduced, by day or month, behaviour type, community and plan action; an
    officer's figures are its own community's."""
    community = scope.community_of(reader, community_id)
    return await dashboard.summary(session, start=start, end=end, unit=group_by, community_id=community)


@router.get(
    "/v1/admin/dashboard.csv",
    tags=["admin"],
    response_class=Response,
    responses=problems(ValidationFailed, OutsideScope),
)
async def dashboard_csv(
    reader: ScopedReader,
    session: ReadSessionDep,
    start: Annotated[IsoDate, Query(description="First local day (Asia/Shanghai).", examples=["2026-11-01"])],
    end: Annotated[IsoDate, Query(description="Day after the last local day.", examples=["2026-12-01"])],
    group_by: Annotated[DashboardUnit, Query(description="day or month.", examples=["day"])] = DashboardUnit.day,
    community_id: CommunityFilter = None,
) -> Response:
    """The dashboard's figures as one CSV table."""
    community = scope.community_of(reader, community_id)
    return Response(
        await dashboard.summary_csv(session, start=start, end=end, unit=group_by, community_id=community),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="tanpuhui-dashboard.csv"'},
    )


NDJSON = "application/x-ndjson"
# The shape of each streamed line; the schemas it refers to are the reply's own.
_VERIFY_LINE = {
    key: value
    for key, value in VerifyLine.model_json_schema(ref_template="#/components/schemas/{model}").items()
    if key != "$defs"
}


@router.post(
    "/v1/admin/audit/verify",
    tags=["admin"],
    response_model=VerifyRead,
    responses=problems(DatabaseUnavailable),
    response_description="The findings; with `Accept: application/x-ndjson`, progress lines and then the findings.",
    openapi_extra={"responses": {"200": {"content": {NDJSON: {"schema": _VERIFY_LINE}}}}},
)
async def verify_ledger(
    _: AdminReader,
    request: Request,
    signer: SignerDep,
    accept: Annotated[
        str | None,
        Header(
            description="`application/x-ndjson` streams one JSON line per step (a VerifyLine: progress with "
            "done and total per check, then the result); anything else answers once, when every check is done.",
            examples=[NDJSON],
        ),
    ] = None,
) -> Response | VerifyRead:
    """Recompute the ledger's invariants, every issuance and the sealed log; read-only. Takes a while on a
    large ledger: ask for JSON lines to follow its progress."""
    db = database_of(request)
    if accept is not None and NDJSON in accept:
        lines = await verify.verification_lines(db, public_key=signer.public_key)
        return StreamingResponse(lines, media_type=NDJSON, headers={"Cache-Control": "no-store"})
    return await verify.verification(db, public_key=signer.public_key)


@router.get("/v1/transparency/key", tags=["receipts"])
async def public_key(signer: SignerDep) -> PublicKeyRead:
    """The Ed25519 key that signs checkpoints."""
    return receipts.public_key(signer=signer)


@router.get("/v1/admin/factor-drafts/{draft_id}/what-if", tags=["admin"], responses=problems(FactorDraftNotFound))
async def factor_draft_what_if(
    _: AdminReader,
    draft_id: Annotated[int, Path(ge=1, le=ID_MAX, description="The draft's id.", examples=[7])],
    session: ReadSessionDep,
    cache: FactorCacheDep,
) -> WhatIfRead:
    """What the credited behaviours of the last 30 days would have earned under the draft, by type, against
    what they earned; the caps are not applied again."""
    return await whatif.what_if(session, cache=cache, draft_id=draft_id)
