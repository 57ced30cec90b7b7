"""The webhook dispatcher's loop: every process runs one, and they share the outbox through leases."""

from __future__ import annotations

import logging

from service.config import Settings
from service.db import Database
from service.kit.loops import repeat
from service.kit.secrets import SecretBox
from service.webhooks import dispatch

logger = logging.getLogger(__name__)


async def dispatch_webhooks(db: Database, settings: Settings, box: SecretBox) -> None:
    async with dispatch.client_for(settings) as client:

        async def step() -> float:
            claimed = await dispatch.run_once(db, settings, box, client)
            # a full batch: more may be due at once
            return 0 if claimed >= settings.webhook_batch else settings.webhook_dispatch_interval_s

        await repeat(step, name="webhook dispatch", logger=logger, interval_s=settings.webhook_dispatch_interval_s)
