"""The ledger's background loop: credit expiry (one job per deployment, leader-elected in expiry.py)."""

from __future__ import annotations

import logging

from service.config import Settings
from service.db import Database
from service.kit.loops import repeat
from service.ledger import expiry

logger = logging.getLogger(__name__)


async def expire_credits(db: Database, settings: Settings) -> None:
    """Expire lapsed credits every `credit_expiry_interval_s`."""
    interval_s = settings.credit_expiry_interval_s

    async def step() -> float:
        await expiry.run_once(db, months=settings.credit_validity_months)
        return interval_s

    await repeat(step, name="credit expiry", logger=logger, interval_s=interval_s)
