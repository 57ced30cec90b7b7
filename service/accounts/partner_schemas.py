"""What data partners and the administrators who manage them send and read: partners, their keys, and a
partner's check of its signing set-up."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from service.accounts.models import PartnerKind
from service.kit.schemas import InputSchema, Schema


class PartnerCreate(InputSchema):
    code: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{1,31}$",
        description="Stable code, e.g. `jinnan-metro-card`.",
        examples=["jinnan-metro-card"],
    )
    name: str = Field(min_length=1, max_length=128, description="Display name.", examples=["天津城市一卡通（津南）"])
    kind: PartnerKind = Field(description="What the partner reports.", examples=["transit_card"])


class PartnerRead(Schema):
    id: int = Field(description="Partner id.", examples=[2])
    code: str = Field(description="Stable code.", examples=["jinnan-metro-card"])
    name: str = Field(description="Display name.", examples=["天津城市一卡通（津南）"])
    kind: PartnerKind = Field(description="What the partner reports.", examples=["transit_card"])
    created_at: datetime = Field(description="Created at.", examples=["2026-11-10T09:00:00+08:00"])
    disabled: bool = Field(description="Whether the partner is disabled.", examples=[False])


class PartnerPage(Schema):
    items: list[PartnerRead] = Field(
        description="By id, oldest first.",
        examples=[
            [
                {
                    "id": 2,
                    "code": "jinnan-metro-card",
                    "name": "天津城市一卡通（津南）",
                    "kind": "transit_card",
                    "created_at": "2026-11-10T09:00:00+08:00",
                    "disabled": False,
                }
            ]
        ],
    )
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last.", examples=["eyJwIjogMn0"]
    )


class PartnerKeyRead(Schema):
    key_id: str = Field(description="Sent in X-Tanpuhui-Key-Id.", examples=["pk_jinnan-metro-card_1a2b3c4d5e6f"])
    created_at: datetime = Field(description="Created at.", examples=["2026-11-10T09:05:00+08:00"])
    revoked_at: datetime | None = Field(
        description="When it was revoked, if it was.", examples=["2026-12-01T00:00:00+08:00"]
    )


class PartnerKeyIssued(Schema):
    partner_id: int = Field(description="Partner id.", examples=[2])
    key_id: str = Field(description="Sent in X-Tanpuhui-Key-Id.", examples=["pk_jinnan-metro-card_1a2b3c4d5e6f"])
    secret: str = Field(
        description="The HMAC secret. Shown once; store it in the partner's secret manager.",
        examples=["FAKE-hmac-secret-for-docs-only-000000000000"],
    )


class PartnerWhoAmI(Schema):
    partner_id: int = Field(description="Partner id.", examples=[2])
    code: str = Field(description="Partner code.", examples=["jinnan-metro-card"])
    key_id: str = Field(description="The key that signed this request.", examples=["pk_jinnan-metro-card_1a2b3c4d5e6f"])
    server_time: datetime = Field(
        description="The server's clock, to check the partner's.", examples=["2026-11-24T10:12:03+08:00"]
    )
