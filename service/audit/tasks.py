"""The audit domain's background loops, one per deployment each: the receipt sealer (leader-elected in
sealer.py) and the dashboard's roll-up (tally.py)."""

from __future__ import annotations

import logging

from service.audit import sealer, tally
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


async def tally_dashboard(db: Database, settings: Settings) -> None:
    """Roll new transfers into the dashboard's tallies every `dashboard_tally_interval_s`; while behind,
    again at once."""
    interval_s = settings.dashboard_tally_interval_s

    async def step() -> float:
        rolled = await tally.run_once(db)
        return 0.0 if rolled.behind else interval_s

    await repeat(step, name="dashboard tally", logger=logger, interval_s=interval_s)
