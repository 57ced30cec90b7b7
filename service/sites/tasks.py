"""The sites domain's background loop: every process follows changes to the registry."""

from __future__ import annotations

import logging

from service.db import Database
from service.kit.loops import repeat
from service.sites.cache import SiteCache

logger = logging.getLogger(__name__)

# Seconds between looks for a change another process made.
POLL_INTERVAL_S = 2.0


async def follow_registry(db: Database, cache: SiteCache) -> None:
    async def step() -> float:
        await cache.refresh_if_newer(db.sessionmaker)
        return POLL_INTERVAL_S

    await repeat(step, name="site cache refresh", logger=logger, interval_s=POLL_INTERVAL_S)
