"""The events an owner can subscribe to, and `emit`, which other domains call inside their transaction.

`emit` writes the event and one outbox row (a delivery) per enabled endpoint of its owner subscribed to
its type, in one statement of the caller's transaction: an event that rolls back leaves nothing to send,
and one that commits is sent by whichever process's dispatcher claims it first. An event nobody
subscribed to is not stored.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from service.webhooks import repository


class EventType(StrEnum):
    link_created = "link.created"  # a resident linked their account at the partner
    link_revoked = "link.revoked"  # a resident withdrew that link
    behaviour_reviewed = "behaviour.reviewed"  # an operator decided a partner's record held for review
    voucher_accepted = "voucher.accepted"  # a voucher of the enterprise's reward was taken at its counter
    voucher_cancelled = "voucher.cancelled"  # a resident cancelled one
    retirement_certified = "retirement.certified"  # the enterprise retired credits and got a certificate


PARTNER_EVENTS = (EventType.link_created, EventType.link_revoked, EventType.behaviour_reviewed)
ENTERPRISE_EVENTS = (EventType.voucher_accepted, EventType.voucher_cancelled, EventType.retirement_certified)

# A payload names a resident by nothing: no WeChat openid, no nickname, no platform id; nor by what erasing
# the account clears (a link's pseudonym, a partner's record id), as an event is kept and can be redelivered.
_PERSONAL_KEYS = frozenset(
    {"openid", "unionid", "nickname", "public_id", "resident_id", "phone", "pseudonym", "external_id"}
)


@dataclass(frozen=True)
class Owner:
    """Whose endpoints these are: a partner's or an enterprise's."""

    kind: Literal["partner", "enterprise"]
    id: int

    @property
    def partner_id(self) -> int | None:
        return self.id if self.kind == "partner" else None

    @property
    def enterprise_id(self) -> int | None:
        return self.id if self.kind == "enterprise" else None

    @property
    def events(self) -> tuple[EventType, ...]:
        return PARTNER_EVENTS if self.kind == "partner" else ENTERPRISE_EVENTS


def _check_payload(data: Mapping[str, Any]) -> None:
    for key, value in data.items():
        if key in _PERSONAL_KEYS:
            raise ValueError(f"a webhook payload carries no resident's personal data: {key!r}")
        if isinstance(value, Mapping):
            _check_payload(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


async def emit(
    session: AsyncSession,
    *,
    event_type: EventType,
    data: Mapping[str, Any],
    partner_id: int | None = None,
    enterprise_id: int | None = None,
) -> str | None:
    """Queue `event_type` with `data` for the enabled endpoints of the partner or the enterprise (exactly
    one of them) that subscribed to it, in the caller's transaction; answers the event's id (the
    webhook-id its deliveries carry), or None when no endpoint subscribed."""
    owner = (
        Owner("partner", partner_id)
        if partner_id is not None and enterprise_id is None
        else Owner("enterprise", enterprise_id)
        if enterprise_id is not None and partner_id is None
        else None
    )
    if owner is None:
        raise ValueError("emit names exactly one owner: partner_id or enterprise_id")
    if event_type not in owner.events:
        raise ValueError(f"{event_type.value} is not an event a {owner.kind} receives")
    _check_payload(data)
    public_id = f"msg_{uuid.uuid4().hex}"
    body = json.dumps(
        {"type": event_type.value, "timestamp": datetime.now(UTC), "data": dict(data)},
        default=_json_default,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    queued = await repository.queue_event(
        session,
        public_id=public_id,
        partner_id=owner.partner_id,
        enterprise_id=owner.enterprise_id,
        event_type=event_type.value,
        body=body,
    )
    return public_id if queued else None
