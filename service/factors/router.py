"""The factors' endpoints: the versions and the factors in force for anyone; drafts for administrators, which
a second administrator approves to publish."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path, Query, Request, status

from service.accounts.deps import AdminOperator, AdminReader
from service.db import ReadSessionDep, SessionDep, database_of
from service.factors import drafts, service
from service.factors.deps import FactorCacheDep
from service.factors.errors import (
    FactorDraftDecided,
    FactorDraftNotFound,
    FactorDraftOwnApproval,
    FactorDraftStale,
    FactorFileInvalid,
    FactorVersionExists,
    FactorVersionNotFound,
)
from service.factors.schemas import (
    DraftStatus,
    FactorDraftCreate,
    FactorDraftDecision,
    FactorDraftDetail,
    FactorDraftPage,
    FactorDraftRead,
    FactorInForce,
    FactorVersionDetail,
    FactorVersionRead,
)
from service.kit.openapi import problems
from service.kit.pagination import Cursor, Limit
from service.kit.schemas import ID_MAX

router = APIRouter()

DraftId = Annotated[int, Path(ge=1, le=ID_MAX, description="The draft's id.", examples=[7])]


@router.get("/v1/factors", tags=["factors"])
async def factors_in_force(cache: FactorCacheDep) -> list[FactorInForce]:
    """The emission factors in force now, one per behaviour type, with their sources."""
    return service.in_force(cache)


@router.get("/v1/factors/versions", tags=["factors"])
async def factor_versions(cache: FactorCacheDep) -> list[FactorVersionRead]:
    """Every published factor version."""
    return service.versions(cache)


@router.get("/v1/factors/versions/{version_id}", tags=["factors"], responses=problems(FactorVersionNotFound))
async def factor_version(
    version_id: Annotated[int, Path(ge=1, le=ID_MAX, description="The version's id.", examples=[2])],
    session: ReadSessionDep,
) -> FactorVersionDetail:
    """One published version with every figure, its provenance and the file as published."""
    return await service.version_detail(session, version_id=version_id)


@router.post(
    "/v1/admin/factor-drafts",
    tags=["admin"],
    status_code=status.HTTP_201_CREATED,
    responses=problems(FactorFileInvalid, FactorVersionExists),
)
async def upload_factor_draft(operator: AdminOperator, body: FactorDraftCreate, session: SessionDep) -> FactorDraftRead:
    """Upload a factor version as a draft; it is published only when another administrator approves it."""
    return await drafts.upload(session, user=operator, source_text=body.source)


@router.get("/v1/admin/factor-drafts", tags=["admin"])
async def list_factor_drafts(
    _: AdminReader,
    session: ReadSessionDep,
    status: Annotated[DraftStatus | None, Query(description="Only drafts in this state.", examples=["pending"])] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> FactorDraftPage:
    """Factor drafts, newest first."""
    return await drafts.drafts_page(session, status=status, cursor=cursor, limit=limit)


@router.get("/v1/admin/factor-drafts/{draft_id}", tags=["admin"], responses=problems(FactorDraftNotFound))
async def factor_draft(
    _: AdminReader, draft_id: DraftId, session: ReadSessionDep, cache: FactorCacheDep
) -> FactorDraftDetail:
    """A draft, its file and its differences from the factors in force now, figure by figure."""
    return await drafts.draft_detail(session, cache=cache, draft_id=draft_id)


@router.post(
    "/v1/admin/factor-drafts/{draft_id}/approve",
    tags=["admin"],
    responses=problems(FactorDraftNotFound, FactorDraftOwnApproval, FactorDraftDecided, FactorDraftStale),
)
async def approve_factor_draft(
    operator: AdminOperator,
    draft_id: DraftId,
    session: SessionDep,
    cache: FactorCacheDep,
    request: Request,
    background: BackgroundTasks,
) -> FactorDraftRead:
    """Approve another administrator's draft, publishing it; it applies to behaviours in its validity and never
    changes issued credits."""
    approved = await drafts.approve(session, user=operator, draft_id=draft_id)
    # Runs after the commit: every cache learns of a version only once it is stored for good.
    background.add_task(cache.refresh, database_of(request).sessionmaker)
    return approved


@router.post(
    "/v1/admin/factor-drafts/{draft_id}/reject",
    tags=["admin"],
    responses=problems(FactorDraftNotFound, FactorDraftDecided),
)
async def reject_factor_draft(
    operator: AdminOperator, draft_id: DraftId, body: FactorDraftDecision, session: SessionDep
) -> FactorDraftRead:
    """Set a pending draft aside with a reason: the uploader withdraws it, another administrator rejects it."""
    return await drafts.reject(session, user=operator, draft_id=draft_id, reason=body.reason)
