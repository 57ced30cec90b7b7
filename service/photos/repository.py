"""All SQL of the photos domain."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import Resident
from service.db import ReadSession
from service.photos.models import Photo

# The first of the two keys of the advisory locks on photo contents: "tpph".
_CONTENT_LOCK_CLASS = 0x7470_7068


async def lock_content(session: AsyncSession, sha256: bytes) -> None:
    """Hold, until the transaction ends, the lock on one content: an upload storing it and the retention
    pass deciding to delete it take turns. Contents whose hashes share their first four bytes share a lock."""
    statement = select(func.pg_advisory_xact_lock(_CONTENT_LOCK_CLASS, int.from_bytes(sha256[:4], "big", signed=True)))
    await session.execute(statement)


async def insert_photo(session: AsyncSession, values: dict[str, Any]) -> Photo:
    return (await session.scalars(insert(Photo).values(**values).returning(Photo))).one()


async def resident_photo(
    session: AsyncSession | ReadSession, *, resident_id: int, public_id: uuid.UUID
) -> Photo | None:
    """The photo if it is this resident's and the resident's account still exists."""
    statement = (
        select(Photo)
        .join(Resident, Resident.id == Photo.resident_id)
        .where(Photo.public_id == public_id, Photo.resident_id == resident_id, Resident.deleted_at.is_(None))
    )
    return await session.scalar(statement)


async def servable_photo(session: AsyncSession | ReadSession, public_id: uuid.UUID) -> tuple[Photo, uuid.UUID] | None:
    """The photo and its resident's public id, unless the resident has deleted their account."""
    statement = (
        select(Photo, Resident.public_id.label("resident_public_id"))
        .join(Resident, Resident.id == Photo.resident_id)
        .where(Photo.public_id == public_id, Resident.deleted_at.is_(None))
    )
    row = (await session.execute(statement)).one_or_none()
    return None if row is None else (row.Photo, row.resident_public_id)
