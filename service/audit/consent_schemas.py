"""A receipt for a consent: the event's leaf fields and its proof of inclusion."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from service.audit.schemas import InclusionRead
from service.kit.schemas import Schema

_EXAMPLE_CONSENT = {
    "id": 12,
    "link_id": "0f8e5c1a-93b2-4d6e-a7f0-2c4b8d9e1f35",
    "partner_id": 3,
    "kind": "granted",
    "text_version": "partner-link/1",
    "locale": "zh-CN",
    "text_sha256": "1a591a5c590c44e0824303a27e6671cbd86769a7df4f64afff8d389a86466c7f",
    "method": "wechat_mini_program",
    "reason": None,
    "occurred_at": "2026-12-07T08:02:11.204518Z",
}


class ConsentLeafRead(Schema):
    id: int = Field(description="The consent event's id.", examples=[12])
    link_id: str = Field(
        description="The link's id, as GET /v1/me/links shows it.", examples=[_EXAMPLE_CONSENT["link_id"]]
    )
    partner_id: int = Field(description="The partner's id.", examples=[3])
    kind: Literal["granted", "revoked"] = Field(description="Consent granted, or withdrawn.", examples=["granted"])
    text_version: str = Field(description="The consent text's version.", examples=["partner-link/1"])
    locale: str = Field(description="The language the text was read in.", examples=["zh-CN"])
    text_sha256: str = Field(
        description="SHA-256 of the exact text agreed to, lower-case hex.", examples=[_EXAMPLE_CONSENT["text_sha256"]]
    )
    method: str = Field(description="Where the resident agreed.", examples=["wechat_mini_program"])
    reason: str | None = Field(
        description="For a revocation: resident (withdrawn) or erasure (account deleted).", examples=[None]
    )
    occurred_at: str = Field(
        description="UTC time, exactly as hashed: when the link came into force, or ended.",
        examples=[_EXAMPLE_CONSENT["occurred_at"]],
    )


class ConsentReceiptRead(InclusionRead):
    consent: ConsentLeafRead = Field(
        description="The consent event, with every field its leaf hash covers.", examples=[_EXAMPLE_CONSENT]
    )
