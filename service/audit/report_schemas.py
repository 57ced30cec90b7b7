"""The monthly report's shapes: per community and in total, credits and CO₂e by behaviour type and by the
district plan's action, residents active, redemptions and retirements, reviews and flags."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import Field

from service.kit.schemas import Schema

_BEHAVIOUR: dict[str, Any] = {
    "behaviour_type": "metro_ride",
    "plan_action": "transport",
    "credited_g": 31_877_200,
    "co2e_kg": "31877.200",
    "co2e_t": "31.877200",
    "behaviours": 21_950,
    "active_residents": 4_412,
}
_ACTION: dict[str, Any] = {
    "code": "transport",
    "name_zh": "交通运输绿色低碳行动",
    "name_en": "Green, low-carbon transport action",
    "credited_g": 39_118_600,
    "co2e_kg": "39118.600",
    "co2e_t": "39.118600",
}
_FIGURES: dict[str, Any] = {
    "community_id": 1,
    "name_zh": "咸水沽镇",
    "name_en": "Xianshuigu Town",
    "active_residents": 903,
    "behaviours": 5_120,
    "credited_g": 7_305_120,
    "co2e_kg": "7305.120",
    "co2e_t": "7.305120",
    "redeemed_g": 1_200_000,
    "retired_g": None,
    "reviews_approved": 41,
    "reviews_rejected": 6,
    "flags_raised": 3,
    "flags_confirmed": 1,
    "by_behaviour": [_BEHAVIOUR],
    "by_plan_action": [_ACTION],
}


class ReportBehaviour(Schema):
    behaviour_type: str = Field(description="Behaviour type.", examples=["metro_ride"])
    plan_action: str = Field(description="The carbon-peaking plan action it counts towards.", examples=["transport"])
    credited_g: int = Field(description="Grams credited, net of reversals.", examples=[31_877_200])
    co2e_kg: str = Field(description="Kilograms of CO₂e, as a decimal string.", examples=["31877.200"])
    co2e_t: str = Field(description="Tonnes of CO₂e, as a decimal string.", examples=["31.877200"])
    behaviours: int = Field(description="Behaviours credited.", examples=[21_950])
    active_residents: int = Field(description="Residents credited for this type.", examples=[4_412])


class ReportPlanAction(Schema):
    code: str = Field(description="transport, circular_economy or all_people.", examples=["transport"])
    name_zh: str = Field(description="The action's name in the district's plan.", examples=["交通运输绿色低碳行动"])
    name_en: str = Field(description="The action's name in English.", examples=["Green, low-carbon transport action"])
    credited_g: int = Field(description="Grams credited to behaviours serving it.", examples=[39_118_600])
    co2e_kg: str = Field(description="Kilograms of CO₂e, as a decimal string.", examples=["39118.600"])
    co2e_t: str = Field(description="Tonnes of CO₂e, as a decimal string.", examples=["39.118600"])


class ReportFigures(Schema):
    community_id: int | None = Field(
        description="The community; null on the total, and on the row of residents with no community.",
        examples=[1],
    )
    name_zh: str | None = Field(description="The community's name; null as community_id is.", examples=["咸水沽镇"])
    name_en: str | None = Field(description="Its English name.", examples=["Xianshuigu Town"])
    active_residents: int = Field(description="Residents credited at least once.", examples=[903])
    behaviours: int = Field(description="Behaviours credited.", examples=[5_120])
    credited_g: int = Field(
        description="Grams credited, net of reversals: grams of CO₂e reduced.", examples=[7_305_120]
    )
    co2e_kg: str = Field(description="Kilograms of CO₂e, as a decimal string.", examples=["7305.120"])
    co2e_t: str = Field(description="Tonnes of CO₂e, as a decimal string.", examples=["7.305120"])
    redeemed_g: int = Field(
        description="Grams residents redeemed for rewards, less those refunded for cancelled vouchers.",
        examples=[1_200_000],
    )
    retired_g: int | None = Field(
        description="Grams enterprises retired: on the district's total only (a retirement names no resident).",
        examples=[None],
    )
    reviews_approved: int = Field(description="Held reports an operator approved.", examples=[41])
    reviews_rejected: int = Field(description="Held reports an operator rejected.", examples=[6])
    flags_raised: int = Field(description="Fraud flags raised.", examples=[3])
    flags_confirmed: int = Field(description="Fraud flags confirmed as fraud.", examples=[1])
    by_behaviour: list[ReportBehaviour] = Field(description="Per behaviour type.", examples=[[_BEHAVIOUR]])
    by_plan_action: list[ReportPlanAction] = Field(
        description="Per action of the district's plan.", examples=[[_ACTION]]
    )


class MonthlyReport(Schema):
    month: str = Field(description="The month, YYYY-MM (Asia/Shanghai).", examples=["2026-11"])
    start: date = Field(description="Its first local day.", examples=["2026-11-01"])
    end: date = Field(description="The day after its last.", examples=["2026-12-01"])
    community_id: int | None = Field(description="The community asked for; null for every one.", examples=[None])
    total: ReportFigures = Field(
        description="The district's total, or the community's when one was asked for.",
        examples=[{**_FIGURES, "community_id": None, "name_zh": None, "name_en": None, "retired_g": 500_000}],
    )
    communities: list[ReportFigures] = Field(
        description="Every community (the one asked for), then residents with no community if any were active.",
        examples=[[_FIGURES]],
    )
