"""Retention: photos are kept `photo_retention_days`, and not a moment past their resident's deletion.

One pass (`purge_once`, run by the retention pass, service/privacy/retention.py) deletes, in batches of one transaction each, the photos older
than the retention period and every photo of a resident who has deleted their account; then, in the same
transaction, the stored object of each content that no photo and no reward's picture refers to any more
(rewards' pictures are never due). Objects go before the commit: if the commit then fails, the rows are
deleted again by the next pass, and no object ever outlives the photos that were due. A content's lock (repository.lock_content) keeps an upload of the same
bytes from storing them again unseen in between. One pass per deployment at a time (an advisory lock).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from service.db import Database, try_xact_lock
from service.photos import repository
from service.photos.storage import PhotoStorage, key_for

LOCK_KEY = 0x7470_7072  # "tppr": one pass at a time across all workers and hosts
BATCH = 200


@dataclass(frozen=True, slots=True)
class Purged:
    photos: int
    objects: int


async def purge_once(
    db: Database, storage: PhotoStorage, *, retention_days: int, now: datetime | None = None, batch: int = BATCH
) -> Purged:
    """Delete what is due now; what was deleted. Nothing when another pass holds the lock."""
    before = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    photos = objects = 0
    more = True
    while more:
        async with db.sessionmaker.begin() as session:
            if not await try_xact_lock(session, LOCK_KEY):
                break
            old = await repository.delete_older_than(session, before=before, limit=batch)
            of_deleted = await repository.delete_of_deleted_residents(session, limit=batch)
            for sha256 in sorted(set(old) | set(of_deleted)):
                await repository.lock_content(session, sha256)
                if not await repository.content_in_use(session, sha256):
                    await storage.delete(key_for(sha256))
                    objects += 1
        photos += len(old) + len(of_deleted)
        more = len(old) == batch or len(of_deleted) == batch
    return Purged(photos=photos, objects=objects)
