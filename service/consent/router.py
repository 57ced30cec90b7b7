from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, status

from service.accounts.deps import CurrentPartner, CurrentResident, ResidentWriteLimit, SettingsDep
from service.consent import links
from service.consent.errors import (
    AlreadyLinked,
    ConsentTextOutdated,
    LinkCodeExpired,
    LinkCodeUnknown,
    LinkCodeUsed,
    LinkNotFound,
    LinkRevoked,
    PartnerNotLinkable,
)
from service.consent.schemas import (
    ConsentTextRead,
    LinkablePartnerRead,
    LinkCodeRead,
    LinkCreate,
    LinkList,
    LinkRead,
    LinkRedeem,
    PartnerLinkPage,
    PartnerLinkRead,
)
from service.consent.texts import Locale
from service.db import ReadSessionDep, SessionDep
from service.kit.openapi import problems
from service.kit.pagination import Cursor, Limit

router = APIRouter()

PartnerCode = Annotated[
    str,
    Path(pattern=r"^[a-z0-9][a-z0-9_-]{1,31}$", description="The partner's code.", examples=["jinnan-metro-card"]),
]
LinkId = Annotated[uuid.UUID, Path(description="The link's id.", examples=["0f8e5c1a-93b2-4d6e-a7f0-2c4b8d9e1f35"])]
Language = Annotated[Locale, Query(description="The language to show the text in.", examples=["zh-CN"])]
LinkStatus = Annotated[
    Literal["active", "revoked"] | None,
    Query(description="Only links in force (active) or only revoked ones.", examples=["revoked"]),
]


@router.get("/v1/partners", tags=["links"])
async def linkable_partners(_: CurrentResident, session: ReadSessionDep) -> list[LinkablePartnerRead]:
    """The partners a resident can link an account at."""
    return await links.partners(session)


@router.get("/v1/partners/{code}/consent", tags=["links"], responses=problems(PartnerNotLinkable))
async def consent_text(
    _: CurrentResident, code: PartnerCode, session: ReadSessionDep, settings: SettingsDep, lang: Language = "zh-CN"
) -> ConsentTextRead:
    """The consent text to show before linking an account at this partner."""
    return await links.consent_text(
        session, partner_code=code, locale=lang, retention_days=settings.retention_evidence_days
    )


@router.post(
    "/v1/me/links",
    tags=["links"],
    status_code=status.HTTP_201_CREATED,
    dependencies=[ResidentWriteLimit],
    responses=problems(PartnerNotLinkable, ConsentTextOutdated, AlreadyLinked),
)
async def request_link(
    resident: CurrentResident, body: LinkCreate, session: SessionDep, settings: SettingsDep
) -> LinkCodeRead:
    """Agree to the consent text and get the one-time code that links the partner account."""
    return await links.request_code(
        session,
        resident_id=resident.subject_id,
        data=body,
        retention_days=settings.retention_evidence_days,
        ttl=timedelta(seconds=settings.link_code_ttl_s),
    )


@router.get("/v1/me/links", tags=["links"])
async def my_links(resident: CurrentResident, session: ReadSessionDep) -> LinkList:
    """The resident's linked partner accounts, in force and revoked."""
    return await links.links(session, resident_id=resident.subject_id)


@router.delete(
    "/v1/me/links/{link_id}",
    tags=["links"],
    dependencies=[ResidentWriteLimit],
    responses=problems(LinkNotFound, LinkRevoked),
)
async def revoke_link(resident: CurrentResident, link_id: LinkId, session: SessionDep) -> LinkRead:
    """Withdraw consent: the partner's records for this resident are refused from now on."""
    return await links.revoke(session, resident_id=resident.subject_id, link_id=link_id)


@router.post(
    "/v1/partner/links",
    tags=["partner"],
    status_code=status.HTTP_201_CREATED,
    responses=problems(LinkCodeUnknown, LinkCodeUsed, LinkCodeExpired, AlreadyLinked),
)
async def redeem_link_code(caller: CurrentPartner, body: LinkRedeem, session: SessionDep) -> PartnerLinkRead:
    """Redeem a resident's link code: the link comes into force and its pseudonym is returned."""
    return await links.redeem(session, partner_id=caller.partner.id, code=body.code)


@router.get("/v1/partner/links", tags=["partner"])
async def partner_links(
    caller: CurrentPartner,
    session: ReadSessionDep,
    status: LinkStatus = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> PartnerLinkPage:
    """The partner's links, oldest first, with whether each is in force."""
    return await links.partner_links(session, partner_id=caller.partner.id, cursor=cursor, limit=limit, status=status)
