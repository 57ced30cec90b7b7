from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request, status

from service.accounts.deps import AdminOperator
from service.db import SessionDep, database_of
from service.factors import service
from service.factors.deps import FactorCacheDep
from service.factors.errors import FactorFileInvalid, FactorVersionExists
from service.factors.schemas import FactorInForce, FactorVersionCreate, FactorVersionRead, PublishedRead
from service.kit.openapi import problems

router = APIRouter()


@router.get("/v1/factors", tags=["factors"])
async def factors_in_force(cache: FactorCacheDep) -> list[FactorInForce]:
    """The emission factors in force now, one per behaviour type, with their sources."""
    return service.in_force(cache)


@router.get("/v1/factors/versions", tags=["factors"])
async def factor_versions(cache: FactorCacheDep) -> list[FactorVersionRead]:
    """Every published factor version."""
    return service.versions(cache)


@router.post(
    "/v1/admin/factor-versions",
    tags=["admin"],
    status_code=status.HTTP_201_CREATED,
    responses=problems(FactorFileInvalid, FactorVersionExists),
)
async def publish_version(
    operator: AdminOperator,
    body: FactorVersionCreate,
    session: SessionDep,
    cache: FactorCacheDep,
    request: Request,
    background: BackgroundTasks,
) -> PublishedRead:
    """Publish a factor version; it applies to behaviours in its validity and never changes issued credits."""
    published = await service.publish_by_operator(session, operator=operator, source_text=body.source)
    # Runs after the commit: every cache learns of a version only once it is stored for good.
    background.add_task(cache.refresh, database_of(request).sessionmaker)
    return published
