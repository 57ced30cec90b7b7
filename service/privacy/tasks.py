"""The privacy domain's background loop: the retention pass (retention.py)."""

from __future__ import annotations

import logging

from service.config import Settings
from service.db import Database
from service.kit.loops import repeat
from service.photos.storage import PhotoStorage
from service.privacy import retention
from service.redemption.codes import VoucherCodes

logger = logging.getLogger(__name__)


async def apply_retention(db: Database, settings: Settings, storage: PhotoStorage, codes: VoucherCodes) -> None:
    schedule = retention.Schedule.of(settings)

    async def step() -> float:
        run = await retention.run_once(db, storage, codes=codes, schedule=schedule)
        if run is not None and any(run.counts.values()):
            logger.info("retention applied", extra={"run": run.id, **run.counts})
        return settings.retention_interval_s

    await repeat(step, name="retention", logger=logger, interval_s=settings.retention_interval_s)
