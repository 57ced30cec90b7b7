"""The accounts domain's background loop: every process prunes what has outlived its use."""

from __future__ import annotations

import logging
from datetime import timedelta

from service.accounts import repository
from service.config import Settings
from service.db import Database
from service.kit import ratelimit
from service.kit.loops import repeat

logger = logging.getLogger(__name__)

MAINTENANCE_INTERVAL_S = 60.0


async def prune(db: Database, settings: Settings) -> None:
    """Every minute: spent rate-limit buckets, partner signatures past their replay window, and staff
    sign-in addresses no longer counted as known."""
    window = timedelta(seconds=2 * settings.partner_signature_window_s)
    known_for = timedelta(days=settings.signin_known_address_days)

    async def step() -> float:
        await ratelimit.prune(db.engine)
        async with db.sessionmaker.begin() as session:
            await repository.prune_signatures(session, older_than=window)
            await repository.prune_signin_addresses(session, older_than=known_for)
        return MAINTENANCE_INTERVAL_S

    await repeat(step, name="maintenance pass", logger=logger, interval_s=MAINTENANCE_INTERVAL_S)
