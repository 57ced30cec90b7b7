from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request, status
from pydantic import Field

from service.accounts.deps import AdminOperator
from service.audit import actions
from service.db import SessionDep, database_of
from service.factors import service
from service.factors.errors import FactorFileInvalid, FactorVersionExists
from service.factors.model import BehaviourType
from service.ingest.deps import IngestDep
from service.kit.openapi import problems
from service.kit.schemas import InputSchema, Schema

router = APIRouter()


_VERSION_EXAMPLE = {
    "version_id": 1,
    "set": "tianjin",
    "version": "2026.1",
    "valid_from": "2026-01-01T00:00:00+08:00",
    "valid_to": None,
    "region": "Tianjin, Jinnan district",
    "methodology": "ER = BE − PE; DB11/T 3043-2024, average-mode-mix baseline",
}


class FactorVersionRead(Schema):
    version_id: int = Field(description="Stored version id.", examples=[1])
    set: str = Field(description="Factor set.", examples=["tianjin"])
    version: str = Field(description="Version.", examples=["2026.1"])
    valid_from: datetime = Field(description="In force from.", examples=["2026-01-01T00:00:00+08:00"])
    valid_to: datetime | None = Field(description="In force until, if bounded.", examples=[None])
    region: str = Field(description="Region.", examples=["Tianjin, Jinnan district"])
    methodology: str = Field(
        description="Methodology of the set.",
        examples=[
            "ER = BE − PE; DB11/T 3043-2024 (Beijing–Tianjin–Hebei regional standard), average-mode-mix baseline"
        ],
    )


class FactorInForce(Schema):
    behaviour: BehaviourType = Field(description="Behaviour type.", examples=["metro_ride"])
    version: FactorVersionRead = Field(
        description="The version in force now for this type.", examples=[_VERSION_EXAMPLE]
    )
    factor: dict[str, Any] = Field(
        description="Every figure and its provenance, as published.",
        examples=[{"unit": "km", "reduction_g_per_unit": "46.8", "tier": "partner"}],
    )


class FactorVersionCreate(InputSchema):
    source: str = Field(
        min_length=1,
        max_length=200_000,
        description="The factor file (TOML), as in emission_factors/.",
        examples=['set = "tianjin"\nversion = "2026.2"\n…'],
    )


class PublishedRead(Schema):
    version: FactorVersionRead = Field(description="The stored version.", examples=[_VERSION_EXAMPLE])
    created: bool = Field(description="False when the same content was already published.", examples=[True])


def _version_read(version_id: int, fs: Any) -> FactorVersionRead:
    return FactorVersionRead(
        version_id=version_id,
        set=fs.set,
        version=fs.version,
        valid_from=fs.valid_from,
        valid_to=fs.valid_to,
        region=fs.region,
        methodology=fs.methodology,
    )


@router.get("/v1/factors", tags=["factors"])
async def factors_in_force(ingest: IngestDep) -> list[FactorInForce]:
    """The emission factors in force now, one per behaviour type, with their sources."""
    now = datetime.now(UTC)
    found = []
    for behaviour in BehaviourType:
        resolved = ingest.cache.resolve(behaviour, now)
        if resolved is not None:
            stored = ingest.cache.get(resolved.version_id)
            assert stored is not None
            found.append(
                FactorInForce(
                    behaviour=behaviour,
                    version=_version_read(stored.id, stored.factor_set),
                    factor=resolved.factor.model_dump(mode="json", by_alias=True, exclude_none=True),
                )
            )
    return found


@router.get("/v1/factors/versions", tags=["factors"])
async def factor_versions(ingest: IngestDep) -> list[FactorVersionRead]:
    """Every published factor version."""
    return [_version_read(s.id, s.factor_set) for s in ingest.cache.versions]


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
    ingest: IngestDep,
    request: Request,
    background: BackgroundTasks,
) -> PublishedRead:
    """Publish a factor version; it applies to behaviours in its validity and never changes issued credits."""
    published = await service.publish(session, source_text=body.source, published_by=f"user:{operator.subject_id}")
    fs = published.stored.factor_set
    await actions.record(
        session,
        operator,
        "factor.publish",
        f"factor_version:{published.stored.id}",
        set=fs.set,
        version=fs.version,
        created=published.created,
    )
    # Runs after the commit: every cache learns of a version only once it is stored for good.
    background.add_task(ingest.cache.refresh, database_of(request).sessionmaker)
    return PublishedRead(
        version=_version_read(published.stored.id, published.stored.factor_set), created=published.created
    )
