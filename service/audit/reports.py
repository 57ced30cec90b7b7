"""The monthly report per town: for each community and for the district, in one Asia/Shanghai month,
residents active, behaviours credited and the grams (CO₂e in kg and t) they earned, by behaviour type and
by the district plan's action as the dashboard groups them; grams redeemed and retired; held reports
decided; flags raised and confirmed. As JSON, and as one CSV table for a spreadsheet.

Credits count towards the month the behaviour happened in (its local day), as on the dashboard;
redemptions, retirements, reviews and flags towards the month they were made in."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from service.accounts import residents as accounts
from service.accounts.errors import UnknownCommunity
from service.audit.dashboard import PLAN_ACTION_OF
from service.audit.report_schemas import MonthlyReport, ReportBehaviour, ReportFigures, ReportPlanAction
from service.audit.repository import reports as repository
from service.audit.repository import tally
from service.db import ReadSession
from service.factors.model import BehaviourType
from service.kit import csvfile
from service.kit.clock import SHANGHAI
from service.leaderboard.boards import CATEGORY_OF

CSV_COLUMNS = (
    "community",
    "section",
    "key",
    "active_residents",
    "behaviours",
    "credited_g",
    "co2e_kg",
    "co2e_t",
    "redeemed_g",
    "retired_g",
    "reviews_approved",
    "reviews_rejected",
    "flags_raised",
    "flags_confirmed",
)
# the columns a behaviour's or a plan action's row leaves empty: redemptions, retirements, reviews, flags
_BLANK_TAIL = ("",) * 6
TOTAL_ZH = "全区合计"
NO_COMMUNITY_ZH = "未选择社区"


def month_bounds(month: str) -> tuple[date, date]:
    """The first local day of `month` (YYYY-MM) and the first of the next."""
    year, number = (int(part) for part in month.split("-"))
    start = date(year, number, 1)
    return start, date(year + number // 12, number % 12 + 1, 1)


def _kg(grams: int) -> str:
    return str((Decimal(grams) / 1_000).quantize(Decimal("0.001")))


def _t(grams: int) -> str:
    return str((Decimal(grams) / 1_000_000).quantize(Decimal("0.000001")))


async def monthly(session: ReadSession, *, month: str, community_id: int | None) -> MonthlyReport:
    """The month's figures for every community and the district, or for one community."""
    start, end = month_bounds(month)
    names = {c.id: c for c in await accounts.communities(session)}
    if community_id is not None and community_id not in names:
        raise UnknownCommunity(
            errors=[{"field": "community_id", "in": "query", "code": "UNKNOWN", "message": "no such community"}]
        )
    scope: Sequence[int] | None = None if community_id is None else [community_id]
    since = datetime.combine(start, time(), SHANGHAI)
    until = datetime.combine(end, time(), SHANGHAI)
    credits = await tally.by_community_and_type(session, start=start, end=end, community_id=community_id)
    redeemed = {
        (r.whole, r.community_id): r.redeemed_g
        for r in await repository.redeemed(session, since=since, until=until, communities=scope)
    }
    reviews = {
        (r.whole, r.community_id): r
        for r in await repository.reviews(session, since=since, until=until, communities=scope)
    }
    flags = {
        (r.whole, r.community_id): r
        for r in await repository.flags(session, since=since, until=until, communities=scope)
    }

    def figures(whole: bool, key: int | None) -> ReportFigures:
        rows = [r for r in credits if r.whole == whole and (whole or r.community_id == key)]
        total = next((r for r in rows if r.all_types), None)
        by_type = [r for r in rows if not r.all_types]
        review, flag = reviews.get((whole, key)), flags.get((whole, key))
        named = names.get(key) if key is not None and not whole else None
        credited = int(total.credited_g) if total else 0
        return ReportFigures(
            community_id=named.id if named else None,
            name_zh=named.name_zh if named else None,
            name_en=named.name_en if named else None,
            active_residents=int(total.active_residents) if total else 0,
            behaviours=int(total.behaviours) if total else 0,
            credited_g=credited,
            co2e_kg=_kg(credited),
            co2e_t=_t(credited),
            redeemed_g=int(redeemed.get((whole, key)) or 0),
            retired_g=None,
            reviews_approved=int(review.approved) if review else 0,
            reviews_rejected=int(review.rejected) if review else 0,
            flags_raised=int(flag.raised) if flag else 0,
            flags_confirmed=int(flag.confirmed) if flag else 0,
            by_behaviour=_by_behaviour(by_type),
            by_plan_action=_by_plan_action(by_type),
        )

    total = figures(True, None)
    if community_id is None:
        total.retired_g = await repository.retired(session, since=since, until=until)
    wanted = [community_id] if community_id is not None else list(names)
    communities = [figures(False, key) for key in wanted]
    if community_id is None and (
        any(not r.whole and r.community_id is None for r in credits)
        or any(not whole and key is None for whole, key in [*redeemed, *reviews, *flags])
    ):
        communities.append(figures(False, None))
    return MonthlyReport(
        month=month, start=start, end=end, community_id=community_id, total=total, communities=communities
    )


def _by_behaviour(rows: Sequence[Any]) -> list[ReportBehaviour]:
    found = []
    for row in sorted(rows, key=lambda r: str(r.behaviour_type)):
        action = PLAN_ACTION_OF[CATEGORY_OF[BehaviourType(row.behaviour_type)]]
        found.append(
            ReportBehaviour(
                behaviour_type=row.behaviour_type,
                plan_action=action.code,
                credited_g=int(row.credited_g),
                co2e_kg=_kg(int(row.credited_g)),
                co2e_t=_t(int(row.credited_g)),
                behaviours=int(row.behaviours),
                active_residents=int(row.active_residents),
            )
        )
    return found


def _by_plan_action(rows: Sequence[Any]) -> list[ReportPlanAction]:
    grams: dict[str, int] = {}
    actions = {}
    for row in rows:
        action = PLAN_ACTION_OF[CATEGORY_OF[BehaviourType(row.behaviour_type)]]
        actions[action.code] = action
        grams[action.code] = grams.get(action.code, 0) + int(row.credited_g)
    return [
        ReportPlanAction(
            code=code,
            name_zh=actions[code].name_zh,
            name_en=actions[code].name_en,
            credited_g=grams[code],
            co2e_kg=_kg(grams[code]),
            co2e_t=_t(grams[code]),
        )
        for code in sorted(grams)
    ]


async def monthly_csv(session: ReadSession, *, month: str, community_id: int | None) -> str:
    """The same report as one CSV table: per community (then the total) a row of its figures, then a row
    per behaviour type and per plan action."""
    report = await monthly(session, month=month, community_id=community_id)
    buffer = io.StringIO()
    writer = csvfile.Writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for figures in [*report.communities, report.total]:
        name = figures.name_zh or (NO_COMMUNITY_ZH if figures is not report.total else TOTAL_ZH)
        if figures is report.total and community_id is not None:
            name = TOTAL_ZH + f"（{report.communities[0].name_zh}）"
        writer.writerow(
            [
                name,
                "total",
                report.month,
                figures.active_residents,
                figures.behaviours,
                figures.credited_g,
                figures.co2e_kg,
                figures.co2e_t,
                figures.redeemed_g,
                "" if figures.retired_g is None else figures.retired_g,
                figures.reviews_approved,
                figures.reviews_rejected,
                figures.flags_raised,
                figures.flags_confirmed,
            ]
        )
        for row in figures.by_behaviour:
            writer.writerow(
                [
                    name,
                    "behaviour",
                    row.behaviour_type,
                    row.active_residents,
                    row.behaviours,
                    row.credited_g,
                    row.co2e_kg,
                    row.co2e_t,
                    *_BLANK_TAIL,
                ]
            )
        for action in figures.by_plan_action:
            writer.writerow(
                [
                    name,
                    "plan_action",
                    action.name_zh,
                    "",
                    "",
                    action.credited_g,
                    action.co2e_kg,
                    action.co2e_t,
                    *_BLANK_TAIL,
                ]
            )
    return buffer.getvalue()
