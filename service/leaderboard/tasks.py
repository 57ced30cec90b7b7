"""The leaderboard's background loop: the roll-up (one per deployment, leader-elected in rollup.py)."""

from __future__ import annotations

import asyncio
import logging

from service.config import Settings
from service.db import Database
from service.kit.loops import repeat
from service.leaderboard import rollup

logger = logging.getLogger(__name__)


async def roll_up(db: Database, settings: Settings) -> None:
    """A roll-up step, then the pause `rollup.pause_after` gives it."""
    interval_s = settings.leaderboard_rollup_interval_s
    clock = asyncio.get_running_loop().time

    async def step() -> float:
        began = clock()
        rolled = await rollup.run_once(db)
        return rollup.pause_after(rolled, clock() - began, interval_s)

    await repeat(step, name="leaderboard roll-up", logger=logger, interval_s=interval_s)
