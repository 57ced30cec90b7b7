"""What administrators read of one resident: who they are (nickname masked, never a WeChat id), where
they belong, whether they are frozen, their balance and what expires soon, and how much there is to read."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from service.accounts.schemas import CommunityRead, OrganisationRead
from service.kit.schemas import Schema
from service.ledger.schemas import BalanceRead, ExpiringRead

_PUBLIC_ID = "5b0e8f3c-2a6d-4c1e-9f47-8d3b2a1c0e95"
_COMMUNITY: dict[str, Any] = {
    "id": 1,
    "code": "xianshuigu",
    "name_zh": "咸水沽镇",
    "name_en": "Xianshuigu Town",
    "kind": "town",
}
_FOUND: dict[str, Any] = {
    "id": _PUBLIC_ID,
    "handle": "r-3fa85f6457174562",
    "nickname": "张*丰",
    "community": _COMMUNITY,
    "frozen": False,
    "deleted": False,
}


class ResidentFound(Schema):
    id: uuid.UUID = Field(description="The resident's public id.", examples=[_PUBLIC_ID])
    handle: str = Field(description="The pseudonym the boards show.", examples=["r-3fa85f6457174562"])
    nickname: str = Field(description="The nickname, masked as the boards mask it.", examples=["张*丰"])
    community: CommunityRead | None = Field(description="The resident's community, if chosen.", examples=[_COMMUNITY])
    frozen: bool = Field(description="Whether the resident is frozen.", examples=[False])
    deleted: bool = Field(description="Whether the resident erased their account.", examples=[False])


class ResidentMatches(Schema):
    items: list[ResidentFound] = Field(
        description="The resident the query names; empty when none does.", examples=[[_FOUND]]
    )


class ResidentCounts(Schema):
    behaviours: int = Field(description="Behaviours recorded, whatever their status.", examples=[214])
    pending_review: int = Field(description="Reports held for an operator's review.", examples=[1])
    flags: int = Field(description="Fraud flags raised about the resident.", examples=[2])
    open_flags: int = Field(description="Of those, flags not yet resolved.", examples=[1])


class ResidentAdminRead(Schema):
    id: uuid.UUID = Field(description="The resident's public id.", examples=[_PUBLIC_ID])
    handle: str = Field(description="The pseudonym the boards show.", examples=["r-3fa85f6457174562"])
    nickname: str = Field(description="The nickname, masked as the boards mask it.", examples=["张*丰"])
    community: CommunityRead | None = Field(description="The resident's community, if chosen.", examples=[_COMMUNITY])
    organisation: OrganisationRead | None = Field(
        description="The resident's organisation, if chosen.", examples=[None]
    )
    leaderboard_visible: bool = Field(description="Whether they appear on public boards.", examples=[True])
    created_at: datetime = Field(description="When they first signed in.", examples=["2026-11-23T08:15:00+08:00"])
    deleted_at: datetime | None = Field(
        description="When they erased their account; amounts stay under the pseudonym.", examples=[None]
    )
    frozen: bool = Field(description="Whether recording and redemption are refused.", examples=[True])
    frozen_at: datetime | None = Field(description="Since when.", examples=["2026-11-24T11:30:00+08:00"])
    frozen_reason: str | None = Field(
        description="The reason given when frozen.", examples=["同一设备一小时内注册 30 个账号，疑似刷分。"]
    )
    balance: BalanceRead = Field(
        description="Credits held and ever credited.", examples=[{"balance_g": 12840, "credited_total_g": 15230}]
    )
    expiring: ExpiringRead = Field(
        description="Credits that expire within the next 30 days, by day.",
        examples=[{"validity_months": 24, "within_days": 30, "total_g": 0, "days": []}],
    )
    counts: ResidentCounts = Field(
        description="How many behaviours and flags there are.",
        examples=[{"behaviours": 214, "pending_review": 1, "flags": 2, "open_flags": 1}],
    )
