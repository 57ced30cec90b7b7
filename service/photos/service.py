"""Photos for the rest of the service: a resident's photo claimed in a report, links for the operators who
review it, and what an operator's browser opens."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.config import Settings
from service.db import ReadSession
from service.photos import links, repository
from service.photos.errors import PhotoNotFound, PhotoUnknown
from service.photos.models import Photo, PhotoType
from service.photos.schemas import PhotoAdminRead
from service.photos.storage import PhotoStorage, key_for


@dataclass(frozen=True, slots=True)
class PhotoRef:
    """A resident's photo as a report refers to it."""

    photo_id: uuid.UUID
    sha256: str
    content_type: str


@dataclass(frozen=True, slots=True)
class PhotoLink:
    url: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class PhotoContent:
    data: bytes
    content_type: str


async def photo_for_report(session: AsyncSession, *, resident_id: int, photo_id: uuid.UUID) -> PhotoRef:
    """The resident's own photo; PhotoUnknown for an unknown id, another resident's photo, or a deleted one."""
    photo = await repository.resident_photo(session, resident_id=resident_id, public_id=photo_id)
    if photo is None:
        raise PhotoUnknown(
            "Upload the photo first (POST /v1/me/photos) and send the photo_id it answered.",
            "请先上传照片（POST /v1/me/photos），再提交返回的 photo_id。",
        )
    return PhotoRef(photo_id=photo.public_id, sha256=photo.sha256.hex(), content_type=photo.content_type)


async def link_for_photo(*, storage: PhotoStorage, settings: Settings, photo: Photo) -> PhotoLink:
    """A URL that shows the photo for the next `photo_link_ttl_s` seconds: the store's own presigned URL
    where it makes one (S3), else the service's signed link."""
    ttl_s = settings.photo_link_ttl_s
    expires = int(time.time()) + ttl_s
    url = await storage.link(key_for(photo.sha256), ttl_s) or links.signed_url(
        settings, photo.public_id, expires=expires
    )
    return PhotoLink(url=url, expires_at=datetime.fromtimestamp(expires, UTC))


async def review_link(
    session: AsyncSession | ReadSession, *, storage: PhotoStorage, settings: Settings, photo_id: uuid.UUID
) -> str | None:
    """A link to the photo for the review queue; None when the photo is gone (retention, or its resident
    deleted the account)."""
    found = await repository.servable_photo(session, photo_id)
    if found is None:
        return None
    return (await link_for_photo(storage=storage, settings=settings, photo=found[0])).url


async def photo_for_operator(
    session: ReadSession, *, storage: PhotoStorage, settings: Settings, photo_id: uuid.UUID, community_id: int | None
) -> PhotoAdminRead:
    """A photo's details and a fresh link to it; with `community_id` (an officer's), only a photo of a
    resident of that community, any other being as absent."""
    found = await repository.servable_photo(session, photo_id, community_id=community_id)
    if found is None:
        raise PhotoNotFound
    photo, resident_id = found
    link = await link_for_photo(storage=storage, settings=settings, photo=photo)
    return PhotoAdminRead(
        photo_id=photo.public_id,
        sha256=photo.sha256.hex(),
        content_type=PhotoType(photo.content_type),
        size_bytes=photo.size_bytes,
        width=photo.width,
        height=photo.height,
        created_at=photo.created_at,
        resident_id=resident_id,
        link=link.url,
        link_expires_at=link.expires_at,
    )


async def photo_content(
    session: ReadSession,
    *,
    storage: PhotoStorage,
    settings: Settings,
    photo_id: uuid.UUID,
    expires: int,
    signature: str,
) -> PhotoContent:
    """The photo's bytes, for a link the service signed that has not expired."""
    links.check(settings, photo_id, expires=expires, given=signature, now=time.time())
    found = await repository.servable_photo(session, photo_id)
    data = None if found is None else await storage.get(key_for(found[0].sha256))
    if found is None or data is None:
        raise PhotoNotFound
    return PhotoContent(data=data, content_type=found[0].content_type)
