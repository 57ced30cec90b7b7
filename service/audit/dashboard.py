"""The district dashboard: credits issued (net of reversals) and CO₂e reduced, by day or month, by behaviour
type, by community, and by the action of the district's carbon-peaking plan each behaviour serves, with
participation counts. 1 credit is 1 g of CO₂e reduced, so the two figures are one, in grams and tonnes."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from service.audit.repository import dashboard as repository
from service.audit.repository import tally
from service.audit.schemas import DashboardRead, DashboardUnit
from service.db import ReadSession
from service.errors import ValidationFailed
from service.factors.model import BehaviourType
from service.kit import csvfile
from service.leaderboard.boards import CATEGORY_OF, Category

MAX_RANGE = timedelta(days=3660)  # the longest range asked for: ten years, leap days included


@dataclass(frozen=True, slots=True)
class PlanAction:
    code: str
    name_zh: str
    name_en: str


# Jinnan's carbon-peaking plan: which of its actions each behaviour category counts towards.
PLAN_ACTION_OF = {
    Category.green_travel: PlanAction("transport", "交通运输绿色低碳行动", "Green, low-carbon transport action"),
    Category.waste_sorting: PlanAction("circular_economy", "循环经济助力降碳行动", "Circular economy for carbon cuts"),
    Category.low_carbon_visit: PlanAction("all_people", "绿色低碳全民行动", "Green low-carbon all-people action"),
}


def _tonnes(grams: int) -> str:
    return str((Decimal(grams) / 1_000_000).quantize(Decimal("0.000001")))


async def summary(
    session: ReadSession, *, start: date, end: date, unit: DashboardUnit, community_id: int | None
) -> DashboardRead:
    """The figures for local days in [start, end), by `unit`, of the district or of one community's
    residents (`community_id`, from `scope.community_of`)."""
    _check_range(start, end)
    figures = await _figures(session, start=start, end=end, unit=unit.value, community_id=community_id)
    return DashboardRead.model_validate(figures)


async def summary_csv(
    session: ReadSession, *, start: date, end: date, unit: DashboardUnit, community_id: int | None
) -> str:
    """The same figures as one CSV table."""
    _check_range(start, end)
    return _as_csv(await _figures(session, start=start, end=end, unit=unit.value, community_id=community_id))


def _check_range(start: date, end: date) -> None:
    if not start < end <= start + MAX_RANGE:
        raise ValidationFailed(
            "end must be after start, within ten years.",
            "end 须晚于 start，且跨度不超过十年。",
            errors=[{"field": "end", "in": "query", "code": "RANGE", "message": "after start, within 10 years"}],
        )


async def _figures(
    session: ReadSession, *, start: date, end: date, unit: str, community_id: int | None
) -> dict[str, Any]:
    """The figures in the shape of DashboardRead, which the CSV table is written from too."""
    rows = await tally.figures(session, start=start, end=end, unit=unit, community_id=community_id)
    communities = await repository.communities(session)
    total = next((r for r in rows if r.section == "total"), None)
    by_action: dict[str, dict[str, Any]] = {}
    by_behaviour = []
    for row in (r for r in rows if r.section == "behaviour"):
        category = CATEGORY_OF[BehaviourType(row.behaviour_type)]
        action = PLAN_ACTION_OF[category]
        by_behaviour.append(
            {
                "behaviour_type": row.behaviour_type,
                "category": category.value,
                "plan_action": action.code,
                "credited_g": row.credited_g,
                "co2e_t": _tonnes(row.credited_g),
                "behaviours": row.behaviours,
                "active_residents": row.active_residents,
            }
        )
        entry = by_action.setdefault(
            action.code, {"code": action.code, "name_zh": action.name_zh, "name_en": action.name_en, "credited_g": 0}
        )
        entry["credited_g"] += row.credited_g
    for entry in by_action.values():
        entry["co2e_t"] = _tonnes(entry["credited_g"])
    return {
        "start": start,
        "end": end,
        "group_by": unit,
        "totals": {
            "credited_g": total.credited_g if total else 0,
            "co2e_t": _tonnes(total.credited_g if total else 0),
            "behaviours": total.behaviours if total else 0,
            "active_residents": total.active_residents if total else 0,
            "registered_residents": await repository.registered_residents(session, end=end, community_id=community_id),
        },
        "by_period": [
            {
                "period_start": r.period,
                "credited_g": r.credited_g,
                "co2e_t": _tonnes(r.credited_g),
                "behaviours": r.behaviours,
                "active_residents": r.active_residents,
            }
            for r in rows
            if r.section == "period"
        ],
        "by_behaviour": by_behaviour,
        "by_community": [
            {
                "community_id": r.community_id,
                "name_zh": communities[r.community_id].name_zh if r.community_id in communities else None,
                "credited_g": r.credited_g,
                "co2e_t": _tonnes(r.credited_g),
                "active_residents": r.active_residents,
            }
            for r in rows
            if r.section == "community"
        ],
        "by_plan_action": sorted(by_action.values(), key=lambda a: str(a["code"])),
    }


def _as_csv(data: dict[str, Any]) -> str:
    """One table: section, key, grams, tonnes, behaviours, active residents."""
    buffer = io.StringIO()
    writer = csvfile.Writer(buffer)
    writer.writerow(["section", "key", "credited_g", "co2e_t", "behaviours", "active_residents"])
    totals = data["totals"]
    writer.writerow(
        [
            "total",
            f"{data['start']}..{data['end']}",
            totals["credited_g"],
            totals["co2e_t"],
            totals["behaviours"],
            totals["active_residents"],
        ]
    )
    for row in data["by_period"]:
        writer.writerow(
            [
                "period",
                row["period_start"],
                row["credited_g"],
                row["co2e_t"],
                row["behaviours"],
                row["active_residents"],
            ]
        )
    for row in data["by_behaviour"]:
        writer.writerow(
            [
                "behaviour",
                row["behaviour_type"],
                row["credited_g"],
                row["co2e_t"],
                row["behaviours"],
                row["active_residents"],
            ]
        )
    for row in data["by_community"]:
        writer.writerow(
            ["community", row["name_zh"] or "(none)", row["credited_g"], row["co2e_t"], "", row["active_residents"]]
        )
    for row in data["by_plan_action"]:
        writer.writerow(["plan_action", row["name_zh"], row["credited_g"], row["co2e_t"], "", ""])
    return buffer.getvalue()
