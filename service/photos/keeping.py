"""An upload made clean (images.py) and stored once per content, for a photo or a reward's picture."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.photos import images, repository
from service.photos.storage import PhotoStorage, key_for


async def keep_clean(
    session: AsyncSession, *, storage: PhotoStorage, data: bytes, max_pixels: int
) -> tuple[images.CleanPhoto, dict[str, Any]]:
    """Clean the upload and store it under its hash unless it already is; answers it and the columns a row
    recording it holds. The content's lock, held until the request commits, keeps the retention pass from
    deleting the object between that look and the new row."""
    picture = await asyncio.to_thread(images.clean, data, max_pixels=max_pixels)
    await repository.lock_content(session, picture.sha256)
    key = key_for(picture.sha256)
    if not await storage.exists(key):
        await storage.put(key, picture.data, picture.content_type)
    columns = {
        "sha256": picture.sha256,
        "content_type": picture.content_type.value,
        "size_bytes": len(picture.data),
        "width": picture.width,
        "height": picture.height,
    }
    return picture, columns
