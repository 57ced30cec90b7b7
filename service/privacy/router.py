from __future__ import annotations

from fastapi import APIRouter, Response, status

from service.accounts.deps import AdminReader, CurrentResident, ResidentWriteLimit, SettingsDep
from service.db import ReadSessionDep, SessionDep
from service.errors import NotFound
from service.factors.deps import FactorCacheDep
from service.kit.openapi import problems
from service.kit.pagination import Cursor, Limit
from service.photos.deps import PhotoStorageDep
from service.privacy import erasure, export, runs
from service.privacy.schemas import ResidentExport, RetentionRunPage
from service.redemption.deps import VoucherCodesDep

router = APIRouter()


@router.get("/v1/me/export", tags=["resident"], responses=problems(NotFound))
async def export_me(
    resident: CurrentResident,
    session: ReadSessionDep,
    cache: FactorCacheDep,
    codes: VoucherCodesDep,
    settings: SettingsDep,
    response: Response,
) -> ResidentExport:
    """Everything the platform holds about the signed-in resident, as one JSON document to download."""
    response.headers["Content-Disposition"] = 'attachment; filename="tanpuhui-my-data.json"'
    response.headers["Cache-Control"] = "no-store"
    return await export.export_account(
        session, cache=cache, codes=codes, settings=settings, resident_id=resident.subject_id
    )


@router.delete(
    "/v1/me",
    tags=["resident"],
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[ResidentWriteLimit],
    responses=problems(NotFound),
)
async def delete_me(
    resident: CurrentResident, session: SessionDep, storage: PhotoStorageDep, codes: VoucherCodesDep
) -> Response:
    """Delete the account: every personal field is erased at once; credit amounts stay in the ledger under a pseudonym."""
    await erasure.erase_account(session, storage=storage, codes=codes, resident_id=resident.subject_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/v1/admin/retention/runs", tags=["admin"])
async def retention_runs(
    _: AdminReader, session: ReadSessionDep, limit: Limit = 20, cursor: Cursor = None
) -> RetentionRunPage:
    """The retention pass's runs, newest first: the schedule each applied and how many rows of each kind it removed or coarsened."""
    return await runs.page(session, cursor=cursor, limit=limit)
