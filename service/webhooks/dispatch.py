"""The dispatcher's step: claim due deliveries, POST them, record what happened.

A claim is a short transaction that leases up to `webhook_batch` due deliveries (FOR UPDATE SKIP LOCKED,
so any number of processes share the work and none waits for another); the POSTs happen outside any
transaction; each outcome is recorded in a transaction of its own, by the lease's holder only. A process
that dies holding a lease leaves its deliveries pending: once `webhook_lease_s` has passed, the next
claim takes them. Delivery is therefore at least once: an attempt that reached the receiver but whose
outcome was never recorded is sent again, with the same webhook-id, which is what receivers deduplicate on.

A 2xx delivers; anything else (another status, a redirect, which is never followed, a timeout, a refused
connection, an address that is not public in production) schedules the next attempt after the next wait
of `webhook_retry_s`, and once those run out the delivery is failed.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpcore
import httpx
from sqlalchemy import Row

from service.config import Settings
from service.db import Database
from service.kit.secrets import SecretBox
from service.webhooks import repository, signing
from service.webhooks.models import DeliveryStatus
from service.webhooks.urls import AddressNotPublic, PublicOnlyBackend

logger = logging.getLogger(__name__)

EXCERPT_CHARS = 200
_READ_AT_MOST = 4096
USER_AGENT = "tanpuhui-webhooks/1"


@dataclass(frozen=True)
class Outcome:
    attempted_at: datetime
    duration_ms: int
    status_code: int | None = None
    error: str | None = None
    excerpt: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def client_for(settings: Settings) -> httpx.AsyncClient:
    """The dispatcher's client: timeouts, no redirects, no proxies from the environment; in production its
    connections reach public addresses only."""
    transport = httpx.AsyncHTTPTransport(retries=0)
    if settings.is_production:
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl.create_default_context(), network_backend=PublicOnlyBackend()
        )
    return httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(settings.webhook_timeout_s),
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": USER_AGENT},
    )


def _secrets(box: SecretBox, row: Row[Any]) -> list[str]:
    context = signing.sealing_context(partner_id=row.partner_id, enterprise_id=row.enterprise_id)
    found = [box.open(row.secret_sealed, context=context)]
    if row.previous_in_force and row.previous_secret_sealed is not None:
        found.append(box.open(row.previous_secret_sealed, context=context))
    return found


async def send(client: httpx.AsyncClient, box: SecretBox, row: Row[Any], *, timeout_s: float) -> Outcome:
    """One POST of a claimed delivery, signed now, over within `timeout_s` all told; never raises for what
    the receiver or the network does."""
    attempted_at = datetime.now(UTC)
    started = time.perf_counter()
    timestamp = int(attempted_at.timestamp())
    headers = {
        "Content-Type": "application/json",
        **signing.headers(_secrets(box, row), message_id=row.public_id, timestamp=timestamp, body=row.body),
    }

    def took() -> int:
        return round((time.perf_counter() - started) * 1000)

    try:
        async with (
            asyncio.timeout(timeout_s),
            client.stream("POST", row.url, content=row.body.encode(), headers=headers) as response,
        ):
            received = b""
            async for chunk in response.aiter_bytes():
                received += chunk
                if len(received) >= _READ_AT_MOST:
                    break
        excerpt = received.decode("utf-8", "replace")[:EXCERPT_CHARS]
        return Outcome(attempted_at, took(), status_code=response.status_code, excerpt=excerpt)
    except AddressNotPublic:
        return Outcome(attempted_at, took(), error="the host does not resolve to public addresses only")
    except (httpx.TimeoutException, TimeoutError):
        return Outcome(attempted_at, took(), error="timed out")
    except httpx.HTTPError as exc:
        return Outcome(attempted_at, took(), error=f"{type(exc).__name__}: {exc}"[:EXCERPT_CHARS])


def next_state(attempts_before: int, outcome: Outcome, schedule: list[float]) -> tuple[DeliveryStatus, datetime | None]:
    """Delivered; or pending again after the next wait; or failed once the waits are used up."""
    if outcome.delivered:
        return DeliveryStatus.delivered, None
    made = attempts_before + 1
    if made > len(schedule):
        return DeliveryStatus.failed, None
    return DeliveryStatus.pending, datetime.now(UTC) + timedelta(seconds=schedule[made - 1])


async def run_once(db: Database, settings: Settings, box: SecretBox, client: httpx.AsyncClient) -> int:
    """Claim, send and record one batch; answers how many were claimed."""
    lease_id = uuid.uuid4()
    async with db.sessionmaker.begin() as session:
        claimed = await repository.claim(
            session, lease_id=lease_id, lease_s=settings.webhook_lease_s, limit=settings.webhook_batch
        )
    if not claimed:
        return 0
    outcomes = await asyncio.gather(*(send(client, box, row, timeout_s=settings.webhook_timeout_s) for row in claimed))
    for row, outcome in zip(claimed, outcomes, strict=True):
        status, next_attempt_at = next_state(row.attempts, outcome, settings.webhook_retry_s)
        async with db.sessionmaker.begin() as session:
            await repository.record(
                session,
                delivery_id=row.id,
                lease_id=lease_id,
                attempt={
                    "attempted_at": outcome.attempted_at,
                    "duration_ms": outcome.duration_ms,
                    "status_code": outcome.status_code,
                    "error": outcome.error,
                    "response_excerpt": outcome.excerpt,
                },
                status=status,
                next_attempt_at=next_attempt_at,
            )
        if status is DeliveryStatus.failed:
            logger.warning("webhook delivery failed for good", extra={"delivery_id": row.id})
    return len(claimed)
