"""A resident uploads a photo: made clean (images.py), stored once per content, recorded as theirs."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.residents import get_active_resident
from service.photos import images, repository
from service.photos.schemas import PhotoRead
from service.photos.storage import PhotoStorage, key_for


async def upload_photo(
    session: AsyncSession, *, storage: PhotoStorage, resident_id: int, data: bytes, max_pixels: int
) -> PhotoRead:
    """Keep the photo without its metadata and answer what was kept.

    The content is stored under its hash unless it already is; the content's lock, held until the request
    commits, keeps the retention pass from deleting the object between that look and the new row.
    """
    photo = await asyncio.to_thread(images.clean, data, max_pixels=max_pixels)
    await get_active_resident(session, resident_id=resident_id)
    await repository.lock_content(session, photo.sha256)
    key = key_for(photo.sha256)
    if not await storage.exists(key):
        await storage.put(key, photo.data, photo.content_type)
    row = await repository.insert_photo(
        session,
        {
            "resident_id": resident_id,
            "sha256": photo.sha256,
            "content_type": photo.content_type.value,
            "size_bytes": len(photo.data),
            "width": photo.width,
            "height": photo.height,
        },
    )
    return PhotoRead(
        photo_id=row.public_id,
        sha256=row.sha256.hex(),
        content_type=photo.content_type,
        size_bytes=row.size_bytes,
        width=row.width,
        height=row.height,
        created_at=row.created_at,
    )
