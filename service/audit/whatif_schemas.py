"""The what-if of a factor draft: what the credited behaviours of the last 30 days would have earned under it."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from service.factors.model import BehaviourType
from service.kit.schemas import Schema


class WhatIfFigures(Schema):
    behaviours: int = Field(description="Credited behaviours counted.", examples=[1240])
    issued_g: int = Field(description="What was credited for them, after caps.", examples=[58210])
    before_g: int = Field(
        description="What they computed to under the versions they used, before caps.", examples=[60115]
    )
    after_g: int = Field(
        description="What they compute to under the draft, before caps, floored per behaviour.", examples=[64220]
    )
    difference_g: int = Field(description="after_g − before_g.", examples=[4105])
    unmatched: int = Field(
        description="Behaviours of a category or hydrogen source the draft has no figure for: counted at 0 g.",
        examples=[0],
    )


class WhatIfByType(WhatIfFigures):
    behaviour: BehaviourType = Field(description="Behaviour type.", examples=["metro_ride"])


class WhatIfRead(Schema):
    draft_id: int = Field(description="The draft.", examples=[7])
    start_date: date = Field(description="First local day (Asia/Shanghai) counted.", examples=["2026-11-07"])
    end_date: date = Field(description="Last local day counted.", examples=["2026-12-06"])
    caps_applied: bool = Field(
        description="Always false: the daily, yearly and budget caps are not applied again; compare after_g "
        "with before_g, and see issued_g for what the caps let through.",
        examples=[False],
    )
    groups: int = Field(
        description="Distinct (type, category, tier, factor, quantity) groups the figures were computed over.",
        examples=[5120],
    )
    total: WhatIfFigures = Field(description="Every type together.", examples=[None])
    by_type: list[WhatIfByType] = Field(description="One row per behaviour type with credits.", examples=[[]])
