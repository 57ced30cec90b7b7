"""What the webhook endpoints take and answer; the field descriptions and examples become the docs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from service.kit.schemas import InputSchema, Schema, refuse_null
from service.webhooks.models import DeliveryStatus

_URL = "https://hooks.example.com/tanpuhui"
_EVENTS_DOC = (
    "Event types to receive. A partner: `link.created`, `link.revoked`, `behaviour.reviewed`; an enterprise: "
    "`voucher.accepted`, `voucher.cancelled`, `retirement.certified`."
)
_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw6nRzD0mG3pE="  # noqa: S105  (an example)

Url = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
EventName = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Description = Annotated[str, StringConstraints(max_length=200)]


class WebhookEndpointCreate(InputSchema):
    url: Url = Field(
        description="Where events are POSTed: https (plain http only on a development or test service).",
        examples=[_URL],
    )
    event_types: list[EventName] = Field(
        min_length=1, max_length=10, description=_EVENTS_DOC, examples=[["voucher.accepted", "retirement.certified"]]
    )
    description: Description = Field(
        default="", description="A note for your own people, up to 200 characters.", examples=["收银系统"]
    )


class WebhookEndpointUpdate(InputSchema):
    url: Url | None = Field(default=None, description="A new address; left out: unchanged.", examples=[_URL])
    event_types: list[EventName] | None = Field(
        default=None, min_length=1, max_length=10, description=_EVENTS_DOC, examples=[["voucher.accepted"]]
    )
    description: Description | None = Field(default=None, description="A new note.", examples=["收银系统（新）"])
    enabled: bool | None = Field(
        default=None,
        description="false: nothing is sent to it, and what happens meanwhile is not queued for it; "
        "deliveries already queued wait until it is true again.",
        examples=[False],
    )

    _not_null = refuse_null("url", "event_types", "description", "enabled")


_ENDPOINT_EXAMPLE: dict[str, Any] = {
    "id": 3,
    "url": _URL,
    "event_types": ["voucher.accepted", "retirement.certified"],
    "description": "收银系统",
    "enabled": True,
    "created_at": "2026-12-07T10:00:00+08:00",
    "updated_at": "2026-12-07T10:00:00+08:00",
}


class WebhookEndpointRead(Schema):
    id: int = Field(description="The endpoint's id.", examples=[3])
    url: str = Field(description="Where events are POSTed.", examples=[_URL])
    event_types: list[str] = Field(description="The event types it receives.", examples=[["voucher.accepted"]])
    description: str = Field(description="Your note.", examples=["收银系统"])
    enabled: bool = Field(description="Whether deliveries are sent.", examples=[True])
    created_at: datetime = Field(description="Registered at.", examples=["2026-12-07T10:00:00+08:00"])
    updated_at: datetime = Field(description="Last changed at.", examples=["2026-12-07T10:00:00+08:00"])


class WebhookEndpointCreated(WebhookEndpointRead):
    secret: str = Field(
        description="The signing secret, shown only in this reply: keep it to verify `webhook-signature`.",
        examples=[_SECRET],
    )


class WebhookSecret(Schema):
    endpoint_id: int = Field(description="The endpoint's id.", examples=[3])
    secret: str = Field(description="The new signing secret, shown only in this reply.", examples=[_SECRET])
    previous_valid_until: datetime = Field(
        description="Until then deliveries are signed with the old secret as well, so a receiver can switch.",
        examples=["2026-12-08T10:00:00+08:00"],
    )


class WebhookEndpointPage(Schema):
    items: list[WebhookEndpointRead] = Field(description="Oldest first.", examples=[[_ENDPOINT_EXAMPLE]])
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last.", examples=["eyJwIjogM30"]
    )


class WebhookAttemptRead(Schema):
    attempted_at: datetime = Field(description="When the POST began.", examples=["2026-12-07T10:05:01+08:00"])
    duration_ms: int = Field(description="How long it took, in milliseconds.", examples=[84])
    status_code: int | None = Field(
        description="The HTTP status your endpoint answered; null on an error.", examples=[500]
    )
    error: str | None = Field(
        description="Why no status came back (timeout, connection refused, …); null when one did.", examples=[None]
    )
    response_excerpt: str | None = Field(
        description="The first 200 characters of your endpoint's reply.", examples=["internal error"]
    )


_EVENT_BODY = {
    "type": "voucher.accepted",
    "timestamp": "2026-12-07T02:05:00.120000Z",
    "data": {"voucher_id": 5120, "reward_id": 27, "price_g": 2000, "used_at": "2026-12-07T02:05:00.118000Z"},
}


class WebhookDeliveryRead(Schema):
    id: int = Field(description="The delivery's id.", examples=[811])
    event_id: str = Field(
        description="The event's id, sent as `webhook-id` by every attempt, redeliveries too.",
        examples=["msg_4f0b3f6c2a8e4c1bb1d2f3e4a5b6c7d8"],
    )
    event_type: str = Field(description="The event type.", examples=["voucher.accepted"])
    payload: dict[str, Any] = Field(description="The JSON body every attempt sends.", examples=[_EVENT_BODY])
    status: DeliveryStatus = Field(
        description="pending (to be sent, or retried at next_attempt_at), delivered (a 2xx came back) or "
        "failed (every retry failed).",
        examples=["delivered"],
    )
    attempts: int = Field(description="Attempts since it was queued or last redelivered.", examples=[2])
    next_attempt_at: datetime | None = Field(description="When it is sent next; null unless pending.", examples=[None])
    delivered_at: datetime | None = Field(description="When a 2xx came back.", examples=["2026-12-07T10:05:06+08:00"])
    created_at: datetime = Field(description="When the event happened.", examples=["2026-12-07T10:05:00+08:00"])
    recent_attempts: list[WebhookAttemptRead] = Field(
        description="Its attempts, newest first (at most 20).",
        examples=[
            [
                {
                    "attempted_at": "2026-12-07T10:05:06+08:00",
                    "duration_ms": 41,
                    "status_code": 200,
                    "error": None,
                    "response_excerpt": "ok",
                }
            ]
        ],
    )


_DELIVERY_EXAMPLE: dict[str, Any] = {
    "id": 811,
    "event_id": "msg_4f0b3f6c2a8e4c1bb1d2f3e4a5b6c7d8",
    "event_type": "voucher.accepted",
    "payload": _EVENT_BODY,
    "status": "delivered",
    "attempts": 1,
    "next_attempt_at": None,
    "delivered_at": "2026-12-07T10:05:01+08:00",
    "created_at": "2026-12-07T10:05:00+08:00",
    "recent_attempts": [
        {
            "attempted_at": "2026-12-07T10:05:01+08:00",
            "duration_ms": 41,
            "status_code": 200,
            "error": None,
            "response_excerpt": "ok",
        }
    ],
}


class WebhookDeliveryPage(Schema):
    items: list[WebhookDeliveryRead] = Field(description="Newest first.", examples=[[_DELIVERY_EXAMPLE]])
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last.", examples=["eyJwIjogODExfQ"]
    )
