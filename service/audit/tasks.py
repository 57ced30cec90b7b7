"""The audit domain's background loop: the receipt sealer (one per deployment, leader-elected in sealer.py)."""

from __future__ import annotations

import logging

from service.audit import sealer
from service.audit.signing import CheckpointSigner
from service.config import Settings
from service.db import Database
from service.kit.loops import repeat

logger = logging.getLogger(__name__)


async def seal_receipts(db: Database, settings: Settings, signer: CheckpointSigner) -> None:
    """Seal new entries every `receipt_seal_interval_s`; while behind, again at once."""
    interval_s = settings.receipt_seal_interval_s

    async def step() -> float:
        sealed = await sealer.seal_once(db, signer)
        return 0.0 if sealed.behind else interval_s

    await repeat(step, name="sealing", logger=logger, interval_s=interval_s)
