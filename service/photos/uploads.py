"""A resident uploads a photo: made clean (images.py), stored once per content, recorded as theirs."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.residents import get_active_resident
from service.photos import repository
from service.photos.keeping import keep_clean
from service.photos.schemas import PhotoRead
from service.photos.storage import PhotoStorage


async def upload_photo(
    session: AsyncSession, *, storage: PhotoStorage, resident_id: int, data: bytes, max_pixels: int
) -> PhotoRead:
    """Keep the photo without its metadata and answer what was kept.

    The content is stored under its hash unless it already is; the content's lock, held until the request
    commits, keeps the retention pass from deleting the object between that look and the new row.
    """
    await get_active_resident(session, resident_id=resident_id)
    photo, columns = await keep_clean(session, storage=storage, data=data, max_pixels=max_pixels)
    row = await repository.insert_photo(session, {"resident_id": resident_id, **columns})
    return PhotoRead(
        photo_id=row.public_id,
        sha256=row.sha256.hex(),
        content_type=photo.content_type,
        size_bytes=row.size_bytes,
        width=row.width,
        height=row.height,
        created_at=row.created_at,
    )
