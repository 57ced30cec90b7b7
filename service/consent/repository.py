"""The statements of links, link codes and consent events."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import Partner
from service.consent.models import ConsentEvent, Link, LinkCode
from service.db import ReadSession

# The resident's ledger account, locked as ingest_record_batch() locks it before it reads the link: a
# revocation taken under this lock is seen by every batch that has not yet locked the account, and waits
# for every batch that has.
_LOCK_ACCOUNT = text("SELECT 1 FROM ledger_account WHERE resident_id = :resident_id FOR UPDATE")


async def linkable_partners(session: ReadSession) -> Sequence[Partner]:
    statement = select(Partner).where(Partner.disabled_at.is_(None)).order_by(Partner.kind, Partner.code)
    return (await session.scalars(statement)).all()


async def linkable_partner(session: AsyncSession | ReadSession, code: str) -> Partner | None:
    return await session.scalar(select(Partner).where(Partner.code == code, Partner.disabled_at.is_(None)))


async def insert_code(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(insert(LinkCode).values(**values))


async def lock_code(session: AsyncSession, code_hash: bytes) -> LinkCode | None:
    statement = select(LinkCode).where(LinkCode.code_hash == code_hash).with_for_update()
    return await session.scalar(statement, execution_options={"populate_existing": True})


async def use_code(session: AsyncSession, code_hash: bytes, *, link_id: int | None) -> None:
    await session.execute(
        update(LinkCode).where(LinkCode.code_hash == code_hash).values(used_at=func.now(), link_id=link_id)
    )


async def lock_account(session: AsyncSession, resident_id: int) -> None:
    await session.execute(_LOCK_ACCOUNT, {"resident_id": resident_id})


async def in_force(session: AsyncSession, *, resident_id: int, partner_id: int) -> Link | None:
    statement = select(Link).where(
        Link.resident_id == resident_id, Link.partner_id == partner_id, Link.revoked_at.is_(None)
    )
    return await session.scalar(statement)


async def insert_link(session: AsyncSession, values: dict[str, Any]) -> Link:
    """A link in force from this moment (the clock's, not the transaction's start: see _LOCK_ACCOUNT)."""
    statement = insert(Link).values(**values, granted_at=func.clock_timestamp()).returning(Link)
    return (await session.scalars(statement)).one()


async def insert_event(session: AsyncSession, link: Link, *, kind: str, at: datetime, reason: str | None) -> None:
    await session.execute(
        insert(ConsentEvent).values(
            link_id=link.id,
            kind=kind,
            partner_id=link.partner_id,
            text_version=link.text_version,
            locale=link.locale,
            text_sha256=link.text_sha256,
            method=link.method,
            reason=reason,
            occurred_at=at,
        )
    )


async def links_of(session: AsyncSession | ReadSession, *, resident_id: int) -> Sequence[tuple[Link, Partner]]:
    statement = (
        select(Link, Partner)
        .join(Partner, Partner.id == Link.partner_id)
        .where(Link.resident_id == resident_id)
        .order_by(Link.id)
    )
    rows: Sequence[Any] = (await session.execute(statement)).all()
    return [(row[0], row[1]) for row in rows]


async def link_of(session: AsyncSession, *, resident_id: int, public_id: uuid.UUID) -> tuple[Link, Partner] | None:
    statement = (
        select(Link, Partner)
        .join(Partner, Partner.id == Link.partner_id)
        .where(Link.resident_id == resident_id, Link.public_id == public_id)
    )
    row = (await session.execute(statement, execution_options={"populate_existing": True})).first()
    return (row[0], row[1]) if row else None


async def revoke(session: AsyncSession, link_id: int, *, by: str) -> Link | None:
    """Revoke a link in force, at this moment; None if it was revoked already."""
    statement = (
        update(Link)
        .where(Link.id == link_id, Link.revoked_at.is_(None))
        .values(revoked_at=func.clock_timestamp(), revoked_by=by)
        .returning(Link)
    )
    return (await session.scalars(statement, execution_options={"populate_existing": True})).one_or_none()


async def partner_links(
    session: ReadSession, *, partner_id: int, after_id: int, limit: int, status: str | None
) -> Sequence[Link]:
    statement = select(Link).where(Link.partner_id == partner_id, Link.id > after_id)
    if status == "active":
        statement = statement.where(Link.revoked_at.is_(None))
    elif status == "revoked":
        statement = statement.where(Link.revoked_at.is_not(None))
    return (await session.scalars(statement.order_by(Link.id).limit(limit))).all()


async def in_force_of(session: AsyncSession, *, resident_id: int) -> Sequence[Link]:
    statement = select(Link).where(Link.resident_id == resident_id, Link.revoked_at.is_(None)).order_by(Link.id)
    return (await session.scalars(statement)).all()


async def forget(session: AsyncSession, *, resident_id: int) -> tuple[int, int]:
    """Clear the resident's pseudonyms and delete their link codes; how many of each."""
    pseudonyms = await session.execute(
        update(Link).where(Link.resident_id == resident_id, Link.pseudonym.is_not(None)).values(pseudonym=None)
    )
    codes = await session.execute(delete(LinkCode).where(LinkCode.resident_id == resident_id))
    return int(pseudonyms.rowcount), int(codes.rowcount)  # type: ignore[attr-defined]


async def delete_codes_expired_before(session: AsyncSession, *, before: datetime, limit: int) -> int:
    """Delete up to `limit` link codes that expired before `before`, used or not; how many."""
    expired = select(LinkCode.code_hash).where(LinkCode.expires_at < before).limit(limit)
    result = await session.execute(delete(LinkCode).where(LinkCode.code_hash.in_(expired)))
    return int(result.rowcount)  # type: ignore[attr-defined]
