"""The ingest domain's background loop: the fraud scan (one per deployment, leader-elected in fraud.py)."""

from __future__ import annotations

import logging

from service.config import Settings
from service.db import Database
from service.factors.cache import FactorCache
from service.ingest import fraud
from service.kit.loops import repeat

logger = logging.getLogger(__name__)


async def scan_for_fraud(db: Database, settings: Settings, cache: FactorCache) -> None:
    """A page of the scan every `fraud_scan_interval_s`; while behind, a page every tenth of that, so that
    catching up never takes more than a slice of the CPU that recording needs."""
    interval_s = settings.fraud_scan_interval_s
    thresholds = fraud.Thresholds.of(settings)

    async def step() -> float:
        scanned = await fraud.scan_once(db, cache, thresholds)
        return interval_s / 10 if scanned is not None and scanned.behind else interval_s

    await repeat(step, name="fraud scan", logger=logger, interval_s=interval_s)
