"""The factors domain's background loop: every process follows newly published versions."""

from __future__ import annotations

import logging

from service.db import Database
from service.factors.cache import FactorCache
from service.kit.loops import repeat

logger = logging.getLogger(__name__)

# Seconds between looks for a version another process published.
POLL_INTERVAL_S = 2.0


async def follow_versions(db: Database, cache: FactorCache) -> None:
    async def step() -> float:
        await cache.refresh_if_newer(db.sessionmaker)
        return POLL_INTERVAL_S

    await repeat(step, name="factor cache refresh", logger=logger, interval_s=POLL_INTERVAL_S)
