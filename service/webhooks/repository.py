"""The webhook domain's SQL: endpoints kept to their owner, the outbox written with an event, the
dispatcher's claims and the outcomes it records."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import ReadSession
from service.webhooks.models import Attempt, Delivery, DeliveryStatus, Endpoint, Event

_QUEUE_EVENT = text(
    """
    WITH targets AS (
        SELECT id FROM webhooks_endpoint
         WHERE (partner_id = :partner_id OR enterprise_id = :enterprise_id)
           AND enabled AND CAST(:event_type AS text) = ANY(event_types)
    ), event AS (
        INSERT INTO webhooks_event (public_id, partner_id, enterprise_id, event_type, body)
        SELECT :public_id, :partner_id, :enterprise_id, :event_type, :body
         WHERE EXISTS (SELECT FROM targets)
        RETURNING id
    )
    INSERT INTO webhooks_delivery (event_id, endpoint_id)
    SELECT event.id, targets.id FROM event, targets
    RETURNING id
    """
)

# Due, enabled and not held by a live lease; a lease past its time is taken over. SKIP LOCKED: two
# dispatchers never wait for each other, nor claim the same row.
_CLAIM = text(
    """
    WITH due AS (
        SELECT d.id FROM webhooks_delivery d
          JOIN webhooks_endpoint e ON e.id = d.endpoint_id
         WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND e.enabled
           AND (d.leased_until IS NULL OR d.leased_until <= now())
         ORDER BY d.next_attempt_at
         LIMIT :limit
           FOR UPDATE OF d SKIP LOCKED
    )
    UPDATE webhooks_delivery d
       SET lease_id = :lease_id, leased_until = now() + make_interval(secs => :lease_s)
      FROM due, webhooks_endpoint e, webhooks_event ev
     WHERE d.id = due.id AND e.id = d.endpoint_id AND ev.id = d.event_id
    RETURNING d.id, d.attempts, e.url, e.partner_id, e.enterprise_id, e.secret_sealed, e.previous_secret_sealed,
              e.previous_secret_until > now() AS previous_in_force, ev.public_id, ev.body
    """
)

_RECORD_ATTEMPT = text(
    """
    INSERT INTO webhooks_attempt (delivery_id, attempted_at, duration_ms, status_code, error, response_excerpt)
    SELECT id, :attempted_at, :duration_ms, :status_code, :error, :response_excerpt
      FROM webhooks_delivery WHERE id = :delivery_id
    """
)


def _owned(owner_partner_id: int | None, owner_enterprise_id: int | None) -> Any:
    if owner_partner_id is not None:
        return Endpoint.partner_id == owner_partner_id
    return Endpoint.enterprise_id == owner_enterprise_id


async def queue_event(
    session: AsyncSession,
    *,
    public_id: str,
    partner_id: int | None,
    enterprise_id: int | None,
    event_type: str,
    body: str,
) -> bool:
    """The event and its deliveries, if any endpoint subscribed; whether one did."""
    result = await session.execute(
        _QUEUE_EVENT,
        {
            "public_id": public_id,
            "partner_id": partner_id,
            "enterprise_id": enterprise_id,
            "event_type": event_type,
            "body": body,
        },
    )
    return bool(result.fetchall())


# ---------------------------------------------------------------------------------------------- endpoints


async def count_endpoints(session: AsyncSession, *, partner_id: int | None, enterprise_id: int | None) -> int:
    statement = select(func.count()).select_from(Endpoint).where(_owned(partner_id, enterprise_id))
    return int(await session.scalar(statement) or 0)


async def insert_endpoint(session: AsyncSession, values: dict[str, Any]) -> Endpoint:
    endpoint = Endpoint(**values)
    session.add(endpoint)
    await session.flush()
    await session.refresh(endpoint)
    return endpoint


async def list_endpoints(
    session: ReadSession | AsyncSession, *, partner_id: int | None, enterprise_id: int | None, after_id: int, limit: int
) -> Sequence[Endpoint]:
    statement = (
        select(Endpoint)
        .where(_owned(partner_id, enterprise_id), Endpoint.id > after_id)
        .order_by(Endpoint.id)
        .limit(limit)
    )
    return (await session.scalars(statement)).all()


async def get_endpoint(
    session: ReadSession | AsyncSession,
    *,
    partner_id: int | None,
    enterprise_id: int | None,
    endpoint_id: int,
    lock: bool = False,
) -> Endpoint | None:
    statement = select(Endpoint).where(_owned(partner_id, enterprise_id), Endpoint.id == endpoint_id)
    if lock:
        statement = statement.with_for_update()
    endpoint: Endpoint | None = await session.scalar(statement)
    return endpoint


async def update_endpoint(session: AsyncSession, *, endpoint_id: int, values: dict[str, Any]) -> Endpoint:
    statement = (
        update(Endpoint)
        .where(Endpoint.id == endpoint_id)
        .values(**values, updated_at=func.now())
        .returning(Endpoint)
        .execution_options(populate_existing=True)
    )
    endpoint: Endpoint = (await session.scalars(statement)).one()
    return endpoint


async def delete_endpoint(
    session: AsyncSession, *, partner_id: int | None, enterprise_id: int | None, endpoint_id: int
) -> bool:
    statement = delete(Endpoint).where(_owned(partner_id, enterprise_id), Endpoint.id == endpoint_id)
    return bool((await session.execute(statement.returning(Endpoint.id))).first())


# ---------------------------------------------------------------------------------------------- deliveries


async def list_deliveries(
    session: ReadSession | AsyncSession,
    *,
    endpoint_id: int,
    status: str | None,
    before_id: int | None,
    limit: int,
    delivery_id: int | None = None,
) -> Sequence[tuple[Delivery, Event]]:
    statement = (
        select(Delivery, Event)
        .join(Event, Event.id == Delivery.event_id)
        .where(Delivery.endpoint_id == endpoint_id)
        .order_by(Delivery.id.desc())
        .limit(limit)
    )
    if status is not None:
        statement = statement.where(Delivery.status == status)
    if before_id is not None:
        statement = statement.where(Delivery.id < before_id)
    if delivery_id is not None:
        statement = statement.where(Delivery.id == delivery_id)
    rows: Sequence[Any] = (await session.execute(statement)).all()
    return [(row[0], row[1]) for row in rows]


async def attempts_of(
    session: ReadSession | AsyncSession, *, delivery_ids: Sequence[int], per_delivery: int
) -> dict[int, list[Attempt]]:
    """The newest `per_delivery` attempts of each delivery, newest first."""
    ranked = (
        select(
            Attempt.id, func.row_number().over(partition_by=Attempt.delivery_id, order_by=Attempt.id.desc()).label("n")
        )
        .where(Attempt.delivery_id.in_(delivery_ids))
        .subquery()
    )
    statement = (
        select(Attempt)
        .join(ranked, ranked.c.id == Attempt.id)
        .where(ranked.c.n <= per_delivery)
        .order_by(Attempt.delivery_id, Attempt.id.desc())
    )
    found: dict[int, list[Attempt]] = defaultdict(list)
    for attempt in (await session.scalars(statement)).all():
        found[attempt.delivery_id].append(attempt)
    return found


async def redeliver(session: AsyncSession, *, endpoint_id: int, delivery_id: int) -> bool:
    """Pending again, due now, with its retries afresh; a claim in flight no longer counts."""
    statement = (
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.endpoint_id == endpoint_id)
        .values(
            status=DeliveryStatus.pending.value,
            attempts=0,
            next_attempt_at=func.now(),
            delivered_at=None,
            lease_id=None,
            leased_until=None,
        )
        .returning(Delivery.id)
    )
    return bool((await session.execute(statement)).first())


# ---------------------------------------------------------------------------------------------- dispatcher


async def claim(session: AsyncSession, *, lease_id: uuid.UUID, lease_s: float, limit: int) -> Sequence[Row[Any]]:
    result = await session.execute(_CLAIM, {"lease_id": lease_id, "lease_s": lease_s, "limit": limit})
    return result.fetchall()


async def record(
    session: AsyncSession,
    *,
    delivery_id: int,
    lease_id: uuid.UUID,
    attempt: dict[str, Any],
    status: DeliveryStatus,
    next_attempt_at: datetime | None,
) -> None:
    """Keep the attempt; then, if this process still holds the claim, the delivery's new state."""
    await session.execute(_RECORD_ATTEMPT, {"delivery_id": delivery_id, **attempt})
    values: dict[str, Any] = {
        "status": status.value,
        "attempts": Delivery.attempts + 1,
        "lease_id": None,
        "leased_until": None,
    }
    if status is DeliveryStatus.delivered:
        values["delivered_at"] = attempt["attempted_at"]
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    await session.execute(
        update(Delivery).where(Delivery.id == delivery_id, Delivery.lease_id == lease_id).values(**values)
    )
