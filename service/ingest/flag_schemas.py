"""What operators read and send about fraud flags (flags.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from service.kit.schemas import InputSchema, Schema

_FLAG_EXAMPLE: dict[str, object] = {
    "id": 311,
    "kind": "implausible_speed",
    "subject": "behaviour:48213",
    "resident_id": "d7c0a0e2-6f1f-4f7e-9a51-3f0d6b1c2e44",
    "behaviour_id": 48213,
    "details": {"speed_kmh": "187.5", "limit_kmh": "100"},
    "raised_at": "2026-11-23T08:33:06+08:00",
    "resolution": None,
    "resolved_at": None,
    "resolved_by": None,
    "resolution_reason": None,
}


class FlagRead(Schema):
    id: int = Field(description="Flag id.", examples=[311])
    kind: str = Field(
        description="implausible_speed, burst, two_sources, shared_device or refused_evidence.",
        examples=["implausible_speed"],
    )
    subject: str = Field(
        description="What it is about, e.g. `behaviour:123` or `device:…`.", examples=["behaviour:48213"]
    )
    resident_id: uuid.UUID | None = Field(
        description="The resident's public id, when it is about one.",
        examples=["d7c0a0e2-6f1f-4f7e-9a51-3f0d6b1c2e44"],
    )
    behaviour_id: int | None = Field(description="The behaviour, when it is about one.", examples=[48213])
    details: dict[str, Any] = Field(
        description="The figures behind the flag.", examples=[{"speed_kmh": "187.5", "limit_kmh": "100"}]
    )
    raised_at: datetime = Field(description="When the scan raised it.", examples=["2026-11-23T08:33:06+08:00"])
    resolution: str | None = Field(description="confirmed or dismissed; null while open.", examples=[None, "dismissed"])
    resolved_at: datetime | None = Field(
        description="When an operator resolved it; null while open.", examples=[None, "2026-11-23T10:12:45+08:00"]
    )
    resolved_by: str | None = Field(
        description="Who resolved it, as `user:ID`; null while open.", examples=[None, "user:3"]
    )
    resolution_reason: str | None = Field(
        description="Why it was resolved so; null while open.",
        examples=[None, "Gate records confirm the ride; the phone clock was off."],
    )


class FlagPage(Schema):
    items: list[FlagRead] = Field(
        description="Oldest first on the queue; newest first on a resident's page.", examples=[[_FLAG_EXAMPLE]]
    )
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last.", examples=["eyJwIjogMzExfQ"]
    )


class FlagStatus(StrEnum):
    open = "open"
    resolved = "resolved"
    all = "all"


class FlagKind(StrEnum):
    implausible_speed = "implausible_speed"
    burst = "burst"
    two_sources = "two_sources"
    shared_device = "shared_device"
    refused_evidence = "refused_evidence"


class FlagResolution(StrEnum):
    confirmed = "confirmed"
    dismissed = "dismissed"


class FlagResolve(InputSchema):
    resolution: FlagResolution = Field(
        description="confirmed (it was fraud) or dismissed (it was not).", examples=["dismissed"]
    )
    reason: str = Field(
        min_length=1,
        max_length=500,
        description="Why; kept with the flag and in the action log.",
        examples=["Gate records confirm the ride; the phone clock was off."],
    )
