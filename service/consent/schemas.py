"""What residents and partners send and read about links and the consent behind them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from service.accounts.models import PartnerKind
from service.consent.models import ConsentMethod, RevokedBy
from service.consent.texts import Locale
from service.kit.schemas import InputSchema, Schema

_LINK_ID_EXAMPLE = "0f8e5c1a-93b2-4d6e-a7f0-2c4b8d9e1f35"
_SHA256_EXAMPLE = "1a591a5c590c44e0824303a27e6671cbd86769a7df4f64afff8d389a86466c7f"
_PSEUDONYM_EXAMPLE = "psn_7kq2m9xw4c8rj3tn6v5bh1yd0f"
_PARTNER_EXAMPLE = {"code": "jinnan-metro-card", "name": "津南地铁卡", "kind": "transit_card"}
_LINK_EXAMPLE = {
    "id": _LINK_ID_EXAMPLE,
    "partner": _PARTNER_EXAMPLE,
    "status": "active",
    "text_version": "partner-link/1",
    "locale": "zh-CN",
    "text_sha256": _SHA256_EXAMPLE,
    "method": "wechat_mini_program",
    "agreed_at": "2026-12-07T08:00:00Z",
    "granted_at": "2026-12-07T08:02:11Z",
    "revoked_at": None,
    "revoked_by": None,
}
_PARTNERLINK_EXAMPLE = {
    "link_id": _LINK_ID_EXAMPLE,
    "pseudonym": _PSEUDONYM_EXAMPLE,
    "status": "active",
    "granted_at": "2026-12-07T08:02:11Z",
    "revoked_at": None,
}


class LinkablePartnerRead(Schema):
    code: str = Field(description="The partner's code, which a link request names.", examples=["jinnan-metro-card"])
    name: str = Field(description="The partner's name.", examples=["津南地铁卡"])
    kind: PartnerKind = Field(description="What kind of partner it is.", examples=["transit_card"])


class ConsentTextRead(Schema):
    version: str = Field(description="The consent text's version.", examples=["partner-link/1"])
    locale: Locale = Field(description="The language of this text.", examples=["zh-CN"])
    partner: LinkablePartnerRead = Field(
        description="The partner the resident would link.", examples=[_PARTNER_EXAMPLE]
    )
    title: str = Field(description="The screen's title.", examples=["关联您的津南地铁卡账户"])
    data: list[str] = Field(
        description="What the partner will send, one item each.", examples=[["每次乘车的进站、出站时间"]]
    )
    purpose: str = Field(description="Why.", examples=["为您的地铁、公交出行计算减排量和碳积分。"])
    text: str = Field(
        description="The whole text to show, title first; plain text with '- ' list lines.",
        examples=["关联您的津南地铁卡账户\n\n关联后，……\n"],
    )
    text_sha256: str = Field(
        description="SHA-256 of `text` (UTF-8), in hex: send it back when the resident agrees.",
        examples=[_SHA256_EXAMPLE],
    )


class LinkCreate(InputSchema):
    partner: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{1,31}$",
        description="The partner's code, from GET /v1/partners.",
        examples=["jinnan-metro-card"],
    )
    text_version: str = Field(
        max_length=64, description="The version of the consent text shown.", examples=["partner-link/1"]
    )
    locale: Locale = Field(description="The language the text was shown in.", examples=["zh-CN"])
    text_sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        description="The `text_sha256` of the text shown, as GET /v1/partners/{code}/consent gave it.",
        examples=[_SHA256_EXAMPLE],
    )
    method: ConsentMethod = Field(
        description="Where the resident read it and agreed: wechat_mini_program or h5.",
        examples=["wechat_mini_program"],
    )


class LinkCodeRead(Schema):
    code: str = Field(
        description="The one-time code the resident enters in (or carries by QR to) the partner's app.",
        examples=["7KQ2M-9XW4C"],
    )
    expires_at: datetime = Field(description="After this the code is refused.", examples=["2026-12-07T08:10:00Z"])
    partner: LinkablePartnerRead = Field(
        description="The partner the code is for; no other partner can use it.", examples=[_PARTNER_EXAMPLE]
    )


class LinkRead(Schema):
    id: uuid.UUID = Field(description="The link's id.", examples=[_LINK_ID_EXAMPLE])
    partner: LinkablePartnerRead = Field(description="The partner.", examples=[_PARTNER_EXAMPLE])
    status: Literal["active", "revoked"] = Field(
        description="active: the partner's records are accepted; revoked: they are refused.", examples=["active"]
    )
    text_version: str = Field(description="The consent text agreed to.", examples=["partner-link/1"])
    locale: Locale = Field(description="The language it was read in.", examples=["zh-CN"])
    text_sha256: str = Field(description="SHA-256 of the text agreed to, in hex.", examples=[_SHA256_EXAMPLE])
    method: ConsentMethod = Field(description="Where the resident agreed.", examples=["wechat_mini_program"])
    agreed_at: datetime = Field(description="When the resident agreed.", examples=["2026-12-07T08:00:00Z"])
    granted_at: datetime = Field(
        description="When the partner took the code and the link came into force.", examples=["2026-12-07T08:02:11Z"]
    )
    revoked_at: datetime | None = Field(description="When it was revoked, if it was.", examples=[None])
    revoked_by: RevokedBy | None = Field(
        description="resident (withdrawn) or erasure (account deleted), if revoked.", examples=[None]
    )


class LinkList(Schema):
    items: list[LinkRead] = Field(
        description="The resident's links, in force and revoked, oldest first.", examples=[[_LINK_EXAMPLE]]
    )


class LinkRedeem(InputSchema):
    code: str = Field(
        min_length=10,
        max_length=16,
        description="The code the resident brought, as shown (case, spaces and the dash do not matter).",
        examples=["7KQ2M-9XW4C"],
    )


class PartnerLinkRead(Schema):
    link_id: uuid.UUID = Field(
        description="The link's id: webhook events about it name it so.", examples=[_LINK_ID_EXAMPLE]
    )
    pseudonym: str | None = Field(
        description="How records name this resident; none once the resident deleted their account.",
        examples=[_PSEUDONYM_EXAMPLE],
    )
    status: Literal["active", "revoked"] = Field(
        description="active: records naming the pseudonym are accepted; revoked: they are refused.",
        examples=["active"],
    )
    granted_at: datetime = Field(description="When the link came into force.", examples=["2026-12-07T08:02:11Z"])
    revoked_at: datetime | None = Field(description="When it was revoked, if it was.", examples=[None])


class PartnerLinkPage(Schema):
    items: list[PartnerLinkRead] = Field(description="Links, oldest first.", examples=[[_PARTNERLINK_EXAMPLE]])
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; none at the end.", examples=[None, "eyJwIjogMTAyNH0"]
    )
