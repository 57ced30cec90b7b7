"""An endpoint's deliveries as its owner reads them, each with its attempts, and redelivery."""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from service.db import ReadSession
from service.kit.pagination import decode_cursor, encode_cursor
from service.webhooks import repository
from service.webhooks.endpoints import get as get_endpoint
from service.webhooks.errors import WebhookDeliveryNotFound
from service.webhooks.events import Owner
from service.webhooks.models import Attempt, Delivery, DeliveryStatus, Event
from service.webhooks.schemas import WebhookAttemptRead, WebhookDeliveryPage, WebhookDeliveryRead

ATTEMPTS_SHOWN = 20


def _read(delivery: Delivery, event: Event, attempts: Sequence[Attempt]) -> WebhookDeliveryRead:
    return WebhookDeliveryRead(
        id=delivery.id,
        event_id=event.public_id,
        event_type=event.event_type,
        payload=json.loads(event.body),
        status=DeliveryStatus(delivery.status),
        attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at if delivery.status == DeliveryStatus.pending.value else None,
        delivered_at=delivery.delivered_at,
        created_at=event.created_at,
        recent_attempts=[WebhookAttemptRead.model_validate(a, from_attributes=True) for a in attempts],
    )


async def _with_attempts(
    session: ReadSession | AsyncSession, rows: Sequence[tuple[Delivery, Event]]
) -> list[WebhookDeliveryRead]:
    attempts = await repository.attempts_of(
        session, delivery_ids=[delivery.id for delivery, _ in rows], per_delivery=ATTEMPTS_SHOWN
    )
    return [_read(delivery, event, attempts.get(delivery.id, [])) for delivery, event in rows]


async def page(
    session: ReadSession | AsyncSession,
    *,
    owner: Owner,
    endpoint_id: int,
    status: DeliveryStatus | None,
    cursor: str | None,
    limit: int,
) -> WebhookDeliveryPage:
    """The endpoint's deliveries, newest first, of one status if asked."""
    await get_endpoint(session, owner=owner, endpoint_id=endpoint_id)
    rows = await repository.list_deliveries(
        session,
        endpoint_id=endpoint_id,
        status=status.value if status else None,
        before_id=decode_cursor(cursor),
        limit=limit + 1,
    )
    items = await _with_attempts(session, rows[:limit])
    return WebhookDeliveryPage(items=items, next_cursor=encode_cursor(items[-1].id) if len(rows) > limit else None)


async def get(
    session: ReadSession | AsyncSession, *, owner: Owner, endpoint_id: int, delivery_id: int
) -> WebhookDeliveryRead:
    """One delivery of the owner's endpoint."""
    await get_endpoint(session, owner=owner, endpoint_id=endpoint_id)
    rows = await repository.list_deliveries(
        session, endpoint_id=endpoint_id, status=None, before_id=None, limit=1, delivery_id=delivery_id
    )
    if not rows:
        raise WebhookDeliveryNotFound
    (read,) = await _with_attempts(session, rows)
    return read


async def redeliver(session: AsyncSession, *, owner: Owner, endpoint_id: int, delivery_id: int) -> WebhookDeliveryRead:
    """Send a delivery again soon, whatever its status, with the same webhook-id and body."""
    await get_endpoint(session, owner=owner, endpoint_id=endpoint_id)
    if not await repository.redeliver(session, endpoint_id=endpoint_id, delivery_id=delivery_id):
        raise WebhookDeliveryNotFound
    return await get(session, owner=owner, endpoint_id=endpoint_id, delivery_id=delivery_id)
