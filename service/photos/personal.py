"""A resident's photos as personal data, for the privacy domain: `erase` (deleting an account: the rows
and every stored object no other photo or reward's picture holds) and `export_photos` (their metadata).

As in the retention pass, an object goes before the commit, under its content's lock: if the commit then
fails, the account is not deleted and its photos' rows stay, pointing at bytes that are gone (the resident
asked for them to go); no object ever outlives the rows that held it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from service.db import ReadSession
from service.photos import repository
from service.photos.schemas import PhotoRead
from service.photos.storage import PhotoStorage, key_for


async def erase(session: AsyncSession, *, storage: PhotoStorage, resident_id: int) -> dict[str, int]:
    contents = await repository.delete_of_resident(session, resident_id)
    objects = 0
    for sha256 in sorted(set(contents)):
        await repository.lock_content(session, sha256)
        if not await repository.content_in_use(session, sha256):
            await storage.delete(key_for(sha256))
            objects += 1
    return {"photos": len(contents), "photo_objects": objects}


async def export_photos(session: AsyncSession | ReadSession, *, resident_id: int) -> list[PhotoRead]:
    """What is kept about each of the resident's photos (the bytes themselves are not in the export)."""
    return [
        PhotoRead(
            photo_id=photo.public_id,
            sha256=photo.sha256.hex(),
            content_type=photo.content_type,  # type: ignore[arg-type]
            size_bytes=photo.size_bytes,
            width=photo.width,
            height=photo.height,
            created_at=photo.created_at,
        )
        for photo in await repository.photos_of(session, resident_id)
    ]
