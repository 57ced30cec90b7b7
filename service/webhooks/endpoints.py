"""An owner's webhook endpoints: registering, reading, changing, deleting, and rotating the secret.

Every function is kept to the owner it is given: another owner's endpoint is answered as no endpoint.
The secret leaves the service only in the reply that creates it; at rest it is sealed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.config import Settings
from service.db import ReadSession
from service.kit.pagination import decode_cursor, encode_cursor
from service.kit.secrets import SecretBox
from service.webhooks import repository, signing, urls
from service.webhooks.errors import WebhookEndpointLimit, WebhookEndpointNotFound, WebhookEventUnknown
from service.webhooks.events import Owner
from service.webhooks.models import Endpoint
from service.webhooks.schemas import (
    WebhookEndpointCreate,
    WebhookEndpointCreated,
    WebhookEndpointPage,
    WebhookEndpointRead,
    WebhookEndpointUpdate,
    WebhookSecret,
)

MAX_ENDPOINTS = 20
# How long the secret a rotation replaced keeps signing deliveries beside the new one.
ROTATION_OVERLAP = timedelta(hours=24)


def endpoint_read(endpoint: Endpoint) -> WebhookEndpointRead:
    return WebhookEndpointRead.model_validate(endpoint)


def _event_types(owner: Owner, asked: Sequence[str]) -> list[str]:
    known = {event.value for event in owner.events}
    unknown = [name for name in asked if name not in known]
    if unknown:
        listed = ", ".join(sorted(known))
        raise WebhookEventUnknown(
            f"A {owner.kind} can subscribe to: {listed}.",
            f"可订阅的事件类型为：{listed}。",
            errors=[
                {"field": "event_types", "in": "body", "code": WebhookEventUnknown.code, "message": name}
                for name in unknown
            ],
        )
    return list(dict.fromkeys(asked))


def _seal(box: SecretBox, owner: Owner, secret: str) -> bytes:
    context = signing.sealing_context(partner_id=owner.partner_id, enterprise_id=owner.enterprise_id)
    return box.seal(secret, context=context)


async def _owned(
    session: AsyncSession | ReadSession, owner: Owner, endpoint_id: int, *, lock: bool = False
) -> Endpoint:
    endpoint = await repository.get_endpoint(
        session, partner_id=owner.partner_id, enterprise_id=owner.enterprise_id, endpoint_id=endpoint_id, lock=lock
    )
    if endpoint is None:
        raise WebhookEndpointNotFound
    return endpoint


async def create(
    session: AsyncSession, *, owner: Owner, box: SecretBox, settings: Settings, data: WebhookEndpointCreate
) -> WebhookEndpointCreated:
    """Register an endpoint for the owner's chosen events; the reply carries its secret, once."""
    event_types = _event_types(owner, data.event_types)
    await urls.check(data.url, settings)
    if await repository.count_endpoints(session, partner_id=owner.partner_id, enterprise_id=owner.enterprise_id) >= (
        MAX_ENDPOINTS
    ):
        raise WebhookEndpointLimit(
            f"Up to {MAX_ENDPOINTS} endpoints; delete one you no longer use.",
            f"最多 {MAX_ENDPOINTS} 个端点；请先删除不再使用的端点。",
        )
    secret = signing.new_secret()
    endpoint = await repository.insert_endpoint(
        session,
        {
            "partner_id": owner.partner_id,
            "enterprise_id": owner.enterprise_id,
            "url": data.url,
            "description": data.description,
            "event_types": event_types,
            "secret_sealed": _seal(box, owner, secret),
        },
    )
    return WebhookEndpointCreated(**endpoint_read(endpoint).model_dump(), secret=secret)


async def page(
    session: ReadSession | AsyncSession, *, owner: Owner, cursor: str | None, limit: int
) -> WebhookEndpointPage:
    """The owner's endpoints, oldest first."""
    rows = await repository.list_endpoints(
        session,
        partner_id=owner.partner_id,
        enterprise_id=owner.enterprise_id,
        after_id=decode_cursor(cursor) or 0,
        limit=limit + 1,
    )
    items = [endpoint_read(e) for e in rows[:limit]]
    return WebhookEndpointPage(items=items, next_cursor=encode_cursor(items[-1].id) if len(rows) > limit else None)


async def get(session: ReadSession | AsyncSession, *, owner: Owner, endpoint_id: int) -> WebhookEndpointRead:
    """One of the owner's endpoints."""
    return endpoint_read(await _owned(session, owner, endpoint_id))


async def change(
    session: AsyncSession, *, owner: Owner, settings: Settings, endpoint_id: int, changes: WebhookEndpointUpdate
) -> WebhookEndpointRead:
    """Change the address, the events, the note, or switch deliveries off and on."""
    endpoint = await _owned(session, owner, endpoint_id, lock=True)
    values: dict[str, Any] = {}
    if changes.event_types is not None:
        values["event_types"] = _event_types(owner, changes.event_types)
    if changes.url is not None:
        await urls.check(changes.url, settings)
        values["url"] = changes.url
    if changes.description is not None:
        values["description"] = changes.description
    if changes.enabled is not None:
        values["enabled"] = changes.enabled
    if not values:
        return endpoint_read(endpoint)
    return endpoint_read(await repository.update_endpoint(session, endpoint_id=endpoint.id, values=values))


async def remove(session: AsyncSession, *, owner: Owner, endpoint_id: int) -> None:
    """Delete an endpoint with its deliveries; nothing more is sent to it."""
    deleted = await repository.delete_endpoint(
        session, partner_id=owner.partner_id, enterprise_id=owner.enterprise_id, endpoint_id=endpoint_id
    )
    if not deleted:
        raise WebhookEndpointNotFound


async def rotate_secret(session: AsyncSession, *, owner: Owner, box: SecretBox, endpoint_id: int) -> WebhookSecret:
    """A new secret, shown once; the one it replaces keeps signing beside it for a day."""
    endpoint = await _owned(session, owner, endpoint_id, lock=True)
    secret = signing.new_secret()
    until = datetime.now(UTC) + ROTATION_OVERLAP
    await repository.update_endpoint(
        session,
        endpoint_id=endpoint.id,
        values={
            "secret_sealed": _seal(box, owner, secret),
            "previous_secret_sealed": endpoint.secret_sealed,
            "previous_secret_until": until,
        },
    )
    return WebhookSecret(endpoint_id=endpoint.id, secret=secret, previous_valid_until=until)
