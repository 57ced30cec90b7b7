"""Rewards' pictures: an enterprise uploads one, a reward names it, anyone is served it.

The upload is made clean as a resident's photo is (images.py: decoded, turned upright, re-encoded from the
pixels alone) and stored in the same content-addressed store. A picture never changes under its id, so
it is served with a long public cache lifetime and its SHA-256 as the ETag.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from service.db import ReadSession
from service.photos import repository
from service.photos.errors import RewardImageNotFound, RewardImageUnknown
from service.photos.keeping import keep_clean
from service.photos.models import PhotoType
from service.photos.schemas import RewardImageRead
from service.photos.storage import PhotoStorage, key_for

PATH = "/v1/reward-images/{image_id}"


def url_of(image_id: uuid.UUID, *, base_url: str) -> str:
    """Where anyone is served the picture: after `base_url` (the service's public origin) when one is set,
    else a path on the API's own origin."""
    return base_url.rstrip("/") + PATH.format(image_id=image_id)


@dataclass(frozen=True, slots=True)
class RewardImageContent:
    data: bytes
    content_type: str
    etag: str


async def upload(
    session: AsyncSession, *, storage: PhotoStorage, enterprise_id: int, data: bytes, max_pixels: int, base_url: str
) -> RewardImageRead:
    """Keep the picture without its metadata (keeping.py) and answer what was kept."""
    _, columns = await keep_clean(session, storage=storage, data=data, max_pixels=max_pixels)
    row = await repository.insert_reward_image(session, {"enterprise_id": enterprise_id, **columns})
    return RewardImageRead(
        image_id=row.public_id,
        url=url_of(row.public_id, base_url=base_url),
        content_type=PhotoType(row.content_type),
        size_bytes=row.size_bytes,
        width=row.width,
        height=row.height,
        created_at=row.created_at,
    )


async def of_enterprise(session: AsyncSession, *, enterprise_id: int, image_id: uuid.UUID) -> uuid.UUID:
    """The id of a picture the enterprise uploaded, for a reward to name; RewardImageUnknown otherwise."""
    if await repository.reward_image(session, public_id=image_id, enterprise_id=enterprise_id) is None:
        raise RewardImageUnknown(
            "Upload the picture first (POST /v1/enterprise/reward-images) and send the image_id it answered.",
            "请先上传图片（POST /v1/enterprise/reward-images），再提交返回的 image_id。",
            errors=[{"field": "image_id", "in": "body", "code": "UNKNOWN", "message": "no such picture of yours"}],
        )
    return image_id


async def content(session: ReadSession, *, storage: PhotoStorage, image_id: uuid.UUID) -> RewardImageContent:
    """The picture's bytes, its type and its ETag."""
    row = await repository.reward_image(session, public_id=image_id)
    data = None if row is None else await storage.get(key_for(row.sha256))
    if row is None or data is None:
        raise RewardImageNotFound
    return RewardImageContent(data=data, content_type=row.content_type, etag=f'"{row.sha256.hex()}"')
