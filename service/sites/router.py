"""What operators do to the site registry: register sites, change them, rotate and revoke their keys.

Reads are open to every administrator, writes to operators. A write refreshes this process's cache once it
has committed; other processes follow within a couple of seconds (tasks.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path, Query, Request, status

from service.accounts.deps import AdminOperator, AdminReader
from service.db import ReadSessionDep, SessionDep, database_of
from service.factors.model import SiteKind
from service.kit.openapi import problems
from service.kit.pagination import Cursor, Limit
from service.kit.schemas import ID_MAX
from service.sites import service
from service.sites.deps import SiteCacheDep
from service.sites.errors import (
    SiteCodeTaken,
    SiteKeyNotFound,
    SiteKeyRevoked,
    SiteKeysExhausted,
    SiteNotFound,
    SiteOwnerUnknown,
    SiteValidityInvalid,
)
from service.sites.models import MAX_KEY_NUMBER, UINT32_MAX
from service.sites.schemas import (
    SiteCreate,
    SiteDetail,
    SiteKeyCreate,
    SiteKeyIssued,
    SiteKeyRead,
    SiteKeyRevoke,
    SitePage,
    SiteUpdate,
)

router = APIRouter()

SiteId = Annotated[int, Path(ge=1, le=UINT32_MAX, description="The site's id.", examples=[1042])]
KeyNumber = Annotated[int, Path(ge=1, le=MAX_KEY_NUMBER, description="The key's number at its site.", examples=[1])]


@router.post(
    "/v1/admin/sites",
    tags=["admin"],
    status_code=status.HTTP_201_CREATED,
    responses=problems(SiteCodeTaken, SiteOwnerUnknown, SiteValidityInvalid),
)
async def register_site(
    operator: AdminOperator,
    body: SiteCreate,
    session: SessionDep,
    cache: SiteCacheDep,
    request: Request,
    background: BackgroundTasks,
) -> SiteKeyIssued:
    """Register a site with its first signing key; a key pair made here has its private key shown only in this reply."""
    registered = await service.register(session, operator=operator, data=body)
    # Runs after the commit: every cache learns of a change only once it is stored for good.
    background.add_task(cache.refresh, database_of(request).sessionmaker)
    return registered


@router.get("/v1/admin/sites", tags=["admin"])
async def list_sites(
    _: AdminReader,
    session: ReadSessionDep,
    kind: Annotated[SiteKind | None, Query(description="Only sites of this kind.", examples=["venue_gate"])] = None,
    owner_partner_id: Annotated[
        int | None, Query(ge=1, le=ID_MAX, description="Only sites this data partner runs.", examples=[3])
    ] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> SitePage:
    """Registered sites, by id."""
    return await service.sites(session, kind=kind, owner_partner_id=owner_partner_id, cursor=cursor, limit=limit)


@router.get("/v1/admin/sites/{site_id}", tags=["admin"], responses=problems(SiteNotFound))
async def get_site(_: AdminReader, site_id: SiteId, session: ReadSessionDep) -> SiteDetail:
    """A site with every key it was issued."""
    return await service.site(session, site_id=site_id)


@router.patch(
    "/v1/admin/sites/{site_id}",
    tags=["admin"],
    responses=problems(SiteNotFound, SiteOwnerUnknown, SiteValidityInvalid),
)
async def update_site(
    operator: AdminOperator,
    site_id: SiteId,
    body: SiteUpdate,
    session: SessionDep,
    cache: SiteCacheDep,
    request: Request,
    background: BackgroundTasks,
) -> SiteDetail:
    """Change a site's names, owner, validity or code window; its kind and position never change."""
    updated = await service.update(session, operator=operator, site_id=site_id, data=body)
    background.add_task(cache.refresh, database_of(request).sessionmaker)
    return updated


@router.post(
    "/v1/admin/sites/{site_id}/keys",
    tags=["admin"],
    status_code=status.HTTP_201_CREATED,
    responses=problems(SiteNotFound, SiteKeysExhausted),
)
async def rotate_site_key(
    operator: AdminOperator,
    site_id: SiteId,
    session: SessionDep,
    cache: SiteCacheDep,
    request: Request,
    background: BackgroundTasks,
    body: SiteKeyCreate | None = None,
) -> SiteKeyIssued:
    """Issue the site's next key and retire the active one: codes it signed for earlier windows still count."""
    issued = await service.rotate_key(
        session, operator=operator, site_id=site_id, public_key=body.public_key if body else None
    )
    background.add_task(cache.refresh, database_of(request).sessionmaker)
    return issued


@router.post(
    "/v1/admin/sites/{site_id}/keys/{key_number}/revoke",
    tags=["admin"],
    responses=problems(SiteNotFound, SiteKeyNotFound, SiteKeyRevoked),
)
async def revoke_site_key(
    operator: AdminOperator,
    site_id: SiteId,
    key_number: KeyNumber,
    body: SiteKeyRevoke,
    session: SessionDep,
    cache: SiteCacheDep,
    request: Request,
    background: BackgroundTasks,
) -> SiteKeyRead:
    """Revoke a compromised key: every code it signed is refused from now on, whatever its window."""
    revoked = await service.revoke_key(
        session, operator=operator, site_id=site_id, key_number=key_number, reason=body.reason
    )
    background.add_task(cache.refresh, database_of(request).sessionmaker)
    return revoked
