"""A resident's links as the consent domain holds them.

For the privacy domain: `erase` (deleting an account), `export_links` (the data export), and the retention
schedule's `prune_link_codes`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.consent import repository
from service.consent.links import links, revoke_link
from service.consent.models import RevokedBy
from service.consent.schemas import LinkRead
from service.db import ReadSession


async def erase(session: AsyncSession, *, resident_id: int) -> dict[str, int]:
    """Revoke every link in force (by erasure: each partner is told, by the link's id), then forget the
    pseudonyms and link codes. The links stay without them, for the consent events the log sealed, which
    name no one."""
    revoked = 0
    for link in await repository.in_force_of(session, resident_id=resident_id):
        revoked += await revoke_link(session, link, by=RevokedBy.erasure) is not None
    pseudonyms, codes = await repository.forget(session, resident_id=resident_id)
    return {"links_revoked": revoked, "link_pseudonyms": pseudonyms, "link_codes": codes}


async def export_links(session: ReadSession, *, resident_id: int) -> list[LinkRead]:
    """The resident's links, with the consent behind each (text, version, when, where) and its end."""
    return (await links(session, resident_id=resident_id)).items


async def prune_link_codes(session: AsyncSession, *, before: datetime, limit: int) -> int:
    """Delete up to `limit` link codes that expired before `before`; how many."""
    return await repository.delete_codes_expired_before(session, before=before, limit=limit)
