"""What the leaderboard endpoints answer: a top board, a resident's standing, a group board."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import Field

from service.kit.schemas import Schema
from service.leaderboard.boards import Category, GroupKind, Period, Scope

# Example values for the OpenAPI document (the mobile docs); shared where a model nests another.
_AS_OF_EXAMPLE = "2026-11-26T20:15:04+08:00"
_BOARD_EXAMPLE: dict[str, Any] = {
    "period": "week",
    "period_start": "2026-11-23",
    "period_end": "2026-11-30",
    "category": "all",
    "scope": "community",
    "scope_id": 1,
    "as_of": _AS_OF_EXAMPLE,
}
_ABOVE_EXAMPLE: dict[str, Any] = {
    "rank": 36,
    "nickname": "李*",
    "handle": "r-9c41e07a2b5d3f18",
    "grams": 4720,
    "is_me": False,
}
_ME_EXAMPLE: dict[str, Any] = {
    "rank": 37,
    "nickname": "张*丰",
    "handle": "r-3fa85f6457174562",
    "grams": 4680,
    "is_me": True,
}
_BELOW_EXAMPLE: dict[str, Any] = {
    "rank": 38,
    "nickname": "低碳居民",
    "handle": "r-b2d6e1c07f4a9385",
    "grams": 4510,
    "is_me": False,
}
_GROUP_EXAMPLE: dict[str, Any] = {
    "rank": 1,
    "id": 1,
    "name_zh": "咸水沽镇",
    "name_en": "Xianshuigu Town",
    "grams": 12840000,
    "residents": 5210,
    "grams_per_resident": 2464.49,
}


class BoardRef(Schema):
    period: Period = Field(
        description="day, week, month, year or all; periods are in Asia/Shanghai time.", examples=["week"]
    )
    period_start: date = Field(description="First day of the period.", examples=["2026-11-23"])
    period_end: date | None = Field(
        description="First day after the period; null for all time.", examples=["2026-11-30"]
    )
    category: Category = Field(description="Behaviour category the board counts.", examples=["all", "green_travel"])
    scope: Scope = Field(description="district, community or organisation.", examples=["community"])
    scope_id: int | None = Field(description="Community or organisation id; null for the district.", examples=[1])
    as_of: datetime = Field(
        description="Public ranks include ledger entries up to this time (they lag seconds).",
        examples=[_AS_OF_EXAMPLE],
    )


class BoardEntry(Schema):
    rank: int = Field(
        description="Competition rank: 1 + residents with more grams; equal grams share a rank.", examples=[37]
    )
    nickname: str = Field(description="Masked nickname, e.g. 张*丰.", examples=["张*丰"])
    handle: str = Field(
        description="The resident's public pseudonym, for /v1/leaderboards/residents/{handle}.",
        examples=["r-3fa85f6457174562"],
    )
    grams: int = Field(description="Credits in the period, grams of CO₂e.", examples=[4680])
    is_me: bool = Field(description="True on the signed-in resident's own row.", examples=[False])


class Leaderboard(Schema):
    board: BoardRef = Field(description="Which board this is and how fresh it is.", examples=[_BOARD_EXAMPLE])
    entries: list[BoardEntry] = Field(
        description="Top residents, best first; ties ordered by registration.",
        examples=[[_ABOVE_EXAMPLE, _ME_EXAMPLE, _BELOW_EXAMPLE]],
    )


class Standing(Schema):
    board: BoardRef = Field(description="Which board this is and how fresh it is.", examples=[_BOARD_EXAMPLE])
    grams: int = Field(
        description="My credits in the period, including those not yet on public boards.", examples=[4680]
    )
    rank: int | None = Field(
        description="My competition rank; null while I have no credits in the period.", examples=[37]
    )
    visible: bool = Field(description="Whether I appear on public boards (false when opted out).", examples=[True])
    above: list[BoardEntry] = Field(description="The residents just above me, best first.", examples=[[_ABOVE_EXAMPLE]])
    below: list[BoardEntry] = Field(description="The residents just below me, best first.", examples=[[_BELOW_EXAMPLE]])


class GroupEntry(Schema):
    rank: int = Field(description="Competition rank under the chosen order.", examples=[1])
    id: int = Field(description="Community or organisation id.", examples=[1])
    name_zh: str = Field(description="Name in Chinese.", examples=["咸水沽镇"])
    name_en: str = Field(description="Name in English.", examples=["Xianshuigu Town"])
    grams: int = Field(description="Credits of its members in the period.", examples=[12840000])
    residents: int = Field(description="Registered residents (counted every 5 minutes).", examples=[5210])
    grams_per_resident: float = Field(
        description="grams / residents, two decimals; 0 with no residents.", examples=[2464.49]
    )


class GroupBoard(Schema):
    kind: GroupKind = Field(description="community or organisation.", examples=["community"])
    period: Period = Field(
        description="day, week, month, year or all; periods are in Asia/Shanghai time.", examples=["week"]
    )
    period_start: date = Field(description="First day of the period.", examples=["2026-11-23"])
    category: Category = Field(description="Behaviour category the board counts.", examples=["all"])
    order: str = Field(description="total or per_resident.", examples=["total"])
    as_of: datetime = Field(description="Totals include ledger entries up to this time.", examples=[_AS_OF_EXAMPLE])
    entries: list[GroupEntry] = Field(
        description="Communities or organisations, best first under the chosen order.",
        examples=[[_GROUP_EXAMPLE]],
    )
