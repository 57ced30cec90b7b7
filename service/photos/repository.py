"""All SQL of the photos domain."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import Resident
from service.db import ReadSession
from service.photos.models import Photo, RewardImage

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


async def servable_photo(
    session: AsyncSession | ReadSession, public_id: uuid.UUID, *, community_id: int | None = None
) -> tuple[Photo, uuid.UUID] | None:
    """The photo and its resident's public id, unless the resident has deleted their account (or, with
    `community_id`, lives elsewhere)."""
    statement = (
        select(Photo, Resident.public_id.label("resident_public_id"))
        .join(Resident, Resident.id == Photo.resident_id)
        .where(Photo.public_id == public_id, Resident.deleted_at.is_(None))
    )
    if community_id is not None:
        statement = statement.where(Resident.community_id == community_id)
    row = (await session.execute(statement)).one_or_none()
    return None if row is None else (row.Photo, row.resident_public_id)


async def delete_older_than(session: AsyncSession, *, before: datetime, limit: int) -> Sequence[bytes]:
    """Delete up to `limit` photos taken before `before`; the contents they held."""
    due = select(Photo.id).where(Photo.created_at < before).order_by(Photo.created_at).limit(limit)
    statement = delete(Photo).where(Photo.id.in_(due.scalar_subquery())).returning(Photo.sha256)
    return (await session.scalars(statement)).all()


async def delete_of_deleted_residents(session: AsyncSession, *, limit: int) -> Sequence[bytes]:
    """Delete up to `limit` photos of residents who have deleted their account; the contents they held."""
    due = (
        select(Photo.id)
        .join(Resident, Resident.id == Photo.resident_id)
        .where(Resident.deleted_at.is_not(None))
        .limit(limit)
    )
    statement = delete(Photo).where(Photo.id.in_(due.scalar_subquery())).returning(Photo.sha256)
    return (await session.scalars(statement)).all()


async def content_in_use(session: AsyncSession, sha256: bytes) -> bool:
    """Whether a photo or a reward's picture still holds the content."""
    statement = select(exists().where(Photo.sha256 == sha256) | exists().where(RewardImage.sha256 == sha256))
    return bool(await session.scalar(statement))


async def insert_reward_image(session: AsyncSession, values: dict[str, Any]) -> RewardImage:
    return (await session.scalars(insert(RewardImage).values(**values).returning(RewardImage))).one()


async def reward_image(
    session: AsyncSession | ReadSession, *, public_id: uuid.UUID, enterprise_id: int | None = None
) -> RewardImage | None:
    """A reward's picture by its public id; with `enterprise_id`, only that enterprise's."""
    statement = select(RewardImage).where(RewardImage.public_id == public_id)
    if enterprise_id is not None:
        statement = statement.where(RewardImage.enterprise_id == enterprise_id)
    return await session.scalar(statement)


async def delete_of_resident(session: AsyncSession, resident_id: int) -> Sequence[bytes]:
    """Delete every photo of the resident; the contents they held."""
    statement = delete(Photo).where(Photo.resident_id == resident_id).returning(Photo.sha256)
    return (await session.scalars(statement)).all()


async def photos_of(session: AsyncSession | ReadSession, resident_id: int) -> Sequence[Photo]:
    return (await session.scalars(select(Photo).where(Photo.resident_id == resident_id).order_by(Photo.id))).all()
