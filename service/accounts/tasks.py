"""The accounts domain's background loops: every process prunes what has outlived its use, and keeps its
access revocations current."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Any

import asyncpg

from service.accounts import repository
from service.accounts.repository import revocations as store
from service.accounts.repository import security as security_store
from service.accounts.revocations import POLL_INTERVAL_S, Revocations
from service.config import Settings
from service.db import Database
from service.kit import ratelimit
from service.kit.loops import repeat

logger = logging.getLogger(__name__)

MAINTENANCE_INTERVAL_S = 60.0


async def prune(db: Database, settings: Settings) -> None:
    """Every minute: spent rate-limit buckets, partner signatures past their replay window, staff sign-in
    addresses no longer counted as known, staff sign-in attempts past their keeping, and staff sessions
    unused for longer than a refresh token lives."""
    window = timedelta(seconds=2 * settings.partner_signature_window_s)
    known_for = timedelta(days=settings.signin_known_address_days)
    # every worker reads the revocations of the last token lifetime; keep twice that
    revocations_kept = timedelta(seconds=2 * (settings.access_token_ttl_s + 60))
    signins_kept = timedelta(days=settings.signin_history_days)
    sessions_kept = timedelta(seconds=settings.refresh_token_ttl_s) + timedelta(days=1)

    async def step() -> float:
        await ratelimit.prune(db.engine)
        async with db.sessionmaker.begin() as session:
            await repository.prune_signatures(session, older_than=window)
            await repository.prune_signin_addresses(session, older_than=known_for)
            await store.prune(session, older_than=revocations_kept)
            await security_store.prune_signins(session, older_than=signins_kept)
            await security_store.prune_sessions(session, older_than=sessions_kept)
        return MAINTENANCE_INTERVAL_S

    await repeat(step, name="maintenance pass", logger=logger, interval_s=MAINTENANCE_INTERVAL_S)


async def follow_revocations(db: Database, revocations: Revocations) -> None:
    """Keep this worker's access revocations current: listen for new ones, and read at least every
    POLL_INTERVAL_S (service/accounts/revocations.py)."""
    told = asyncio.Event()
    listener: asyncpg.Connection | None = None
    away = False

    def notified(*_: object) -> None:
        told.set()

    try:
        while True:
            try:
                if listener is None or listener.is_closed():
                    listener = await _listen(db, notified)
                told.clear()
                await revocations.load(db)
                away = False
            except Exception as exc:  # the database is away, or the listener's connection dropped
                if not away:
                    logger.warning("access revocations not read (%s); trying again", type(exc).__name__)
                away = True
                await _close(listener)
                listener = None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(told.wait(), timeout=POLL_INTERVAL_S)
    finally:
        if listener is not None:
            listener.terminate()


async def _listen(db: Database, notified: Any) -> asyncpg.Connection:
    connection = await db.dedicated_connection()
    await connection.add_listener(store.CHANNEL, notified)
    return connection


async def _close(connection: asyncpg.Connection | None) -> None:
    if connection is not None:
        with contextlib.suppress(Exception):
            await connection.close(timeout=2)
