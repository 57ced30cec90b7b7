"""The accounts domain's background loop: every process prunes what has outlived its use."""

from __future__ import annotations

import logging
from datetime import timedelta

from service.accounts import repository
from service.accounts.repository.revocations import prune as prune_revocations
from service.accounts.revocations import Revocations, follow
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
    # every worker reads the revocations of the last token lifetime; keep twice that
    revocations_kept = timedelta(seconds=2 * (settings.access_token_ttl_s + 60))

    async def step() -> float:
        await ratelimit.prune(db.engine)
        async with db.sessionmaker.begin() as session:
            await repository.prune_signatures(session, older_than=window)
            await repository.prune_signin_addresses(session, older_than=known_for)
            await prune_revocations(session, older_than=revocations_kept)
        return MAINTENANCE_INTERVAL_S

    await repeat(step, name="maintenance pass", logger=logger, interval_s=MAINTENANCE_INTERVAL_S)


async def follow_revocations(db: Database, revocations: Revocations) -> None:
    """Keep this worker's access revocations current (service/accounts/revocations.py)."""
    await follow(db, revocations)
