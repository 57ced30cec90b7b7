"""The photos domain's background loop: the retention pass (retention.py)."""

from __future__ import annotations

import logging

from service.config import Settings
from service.db import Database
from service.kit.loops import repeat
from service.photos import retention
from service.photos.storage import PhotoStorage

logger = logging.getLogger(__name__)


async def purge_photos(db: Database, settings: Settings, storage: PhotoStorage) -> None:
    async def step() -> float:
        purged = await retention.purge_once(db, storage, retention_days=settings.photo_retention_days)
        if purged.photos:
            logger.info("photos purged", extra={"photos": purged.photos, "objects": purged.objects})
        return settings.photo_purge_interval_s

    await repeat(step, name="photo retention", logger=logger, interval_s=settings.photo_purge_interval_s)
