from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from service.kit.schemas import Schema
from service.leaderboard.boards import Category, GroupKind, Period, Scope


class BoardRef(Schema):
    period: Period = Field(description="day, week, month, year or all; periods are in Asia/Shanghai time.")
    period_start: date = Field(description="First day of the period.", examples=["2026-11-23"])
    period_end: date | None = Field(description="First day after the period; null for all time.")
    category: Category = Field(description="Behaviour category the board counts.")
    scope: Scope = Field(description="district, community or organisation.")
    scope_id: int | None = Field(description="Community or organisation id; null for the district.")
    as_of: datetime = Field(description="Public ranks include ledger entries up to this time (they lag seconds).")


class BoardEntry(Schema):
    rank: int = Field(description="Competition rank: 1 + residents with more grams; equal grams share a rank.")
    nickname: str = Field(description="Masked nickname, e.g. 张*丰.", examples=["张*丰"])
    handle: str = Field(description="The resident's public pseudonym, for /v1/leaderboards/residents/{handle}.")
    grams: int = Field(description="Credits in the period, grams of CO₂e.", examples=[1380])
    is_me: bool = Field(description="True on the signed-in resident's own row.")


class Leaderboard(Schema):
    board: BoardRef
    entries: list[BoardEntry] = Field(description="Top residents, best first; ties ordered by registration.")


class Standing(Schema):
    board: BoardRef
    grams: int = Field(description="My credits in the period, including those not yet on public boards.")
    rank: int | None = Field(description="My competition rank; null while I have no credits in the period.")
    visible: bool = Field(description="Whether I appear on public boards (false when opted out).")
    above: list[BoardEntry] = Field(description="The residents just above me, best first.")
    below: list[BoardEntry] = Field(description="The residents just below me, best first.")


class GroupEntry(Schema):
    rank: int = Field(description="Competition rank under the chosen order.")
    id: int = Field(description="Community or organisation id.")
    name_zh: str = Field(description="Name in Chinese.")
    name_en: str = Field(description="Name in English.")
    grams: int = Field(description="Credits of its members in the period.")
    residents: int = Field(description="Registered residents (counted every 5 minutes).")
    grams_per_resident: float = Field(description="grams / residents, two decimals; 0 with no residents.")


class GroupBoard(Schema):
    kind: GroupKind = Field(description="community or organisation.")
    period: Period
    period_start: date
    category: Category
    order: str = Field(description="total or per_resident.")
    as_of: datetime = Field(description="Totals include ledger entries up to this time.")
    entries: list[GroupEntry]
