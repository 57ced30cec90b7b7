"""What a board is: a period in Asia/Shanghai time, a scope and a behaviour category; how group boards
are ordered; how a nickname is shown on one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from service.factors.model import BehaviourType

# Every behaviour of all time counts on the all-time board under this start date.
ALL_TIME_START = date(2000, 1, 1)


class Period(StrEnum):
    day = "day"
    week = "week"
    month = "month"
    year = "year"
    all = "all"


class Scope(StrEnum):
    district = "district"
    community = "community"
    organisation = "organisation"


class GroupKind(StrEnum):
    community = "community"
    organisation = "organisation"


class GroupOrder(StrEnum):
    total = "total"
    per_resident = "per_resident"


class Category(StrEnum):
    all = "all"
    green_travel = "green_travel"
    waste_sorting = "waste_sorting"
    low_carbon_visit = "low_carbon_visit"


CATEGORY_OF: dict[BehaviourType, Category] = {
    BehaviourType.metro_ride: Category.green_travel,
    BehaviourType.bus_ride: Category.green_travel,
    BehaviourType.hydrogen_bus_ride: Category.green_travel,
    BehaviourType.shared_bike: Category.green_travel,
    BehaviourType.walking: Category.green_travel,
    BehaviourType.waste_sorting: Category.waste_sorting,
    BehaviourType.low_carbon_visit: Category.low_carbon_visit,
}


def period_bounds(period: Period, on: date) -> tuple[date, date | None]:
    """The first day of the period holding `on` (a date in Asia/Shanghai) and the first day after it."""
    if period is Period.day:
        return on, on + timedelta(days=1)
    if period is Period.week:
        start = on - timedelta(days=on.weekday())
        return start, start + timedelta(days=7)
    if period is Period.month:
        start = on.replace(day=1)
        return start, (start + timedelta(days=32)).replace(day=1)
    if period is Period.year:
        return on.replace(month=1, day=1), date(on.year + 1, 1, 1)
    return ALL_TIME_START, None


@dataclass(frozen=True, slots=True)
class Board:
    period: Period
    period_start: date
    period_end: date | None
    category: Category
    scope: Scope
    scope_id: int  # 0 for the district

    @classmethod
    def of(cls, period: Period, on: date, category: Category, scope: Scope, scope_id: int | None) -> Board:
        start, end = period_bounds(period, on)
        return cls(period, start, end, category, scope, scope_id or 0)


def mask_nickname(nickname: str | None) -> str:
    """张三丰 → 张*丰, 李四 → 李*, 王 → *; no nickname → 低碳居民."""
    if not nickname:
        return "低碳居民"
    if len(nickname) == 1:
        return "*"
    if len(nickname) == 2:
        return nickname[0] + "*"
    return nickname[0] + "*" * min(len(nickname) - 2, 4) + nickname[-1]
