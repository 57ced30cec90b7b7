"""The factors' API shapes: versions and their entries, the factor in force for each type, drafts and their
differences from the factors in force."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import Field

from service.factors.model import BehaviourType
from service.kit.schemas import InputSchema, Schema

_VERSION_EXAMPLE = {
    "version_id": 1,
    "set": "tianjin",
    "version": "2026.1",
    "valid_from": "2026-01-01T00:00:00+08:00",
    "valid_to": None,
    "region": "Tianjin, Jinnan district",
    "methodology": "ER = BE − PE; DB11/T 3043-2024, average-mode-mix baseline",
}


class FactorVersionRead(Schema):
    version_id: int = Field(description="Stored version id.", examples=[1])
    set: str = Field(description="Factor set.", examples=["tianjin"])
    version: str = Field(description="Version.", examples=["2026.1"])
    valid_from: datetime = Field(description="In force from.", examples=["2026-01-01T00:00:00+08:00"])
    valid_to: datetime | None = Field(description="In force until, if bounded.", examples=[None])
    region: str = Field(description="Region.", examples=["Tianjin, Jinnan district"])
    methodology: str = Field(
        description="Methodology of the set.",
        examples=[
            "ER = BE − PE; DB11/T 3043-2024 (Beijing–Tianjin–Hebei regional standard), average-mode-mix baseline"
        ],
    )


class FactorInForce(Schema):
    behaviour: BehaviourType = Field(description="Behaviour type.", examples=["metro_ride"])
    version: FactorVersionRead = Field(
        description="The version in force now for this type.", examples=[_VERSION_EXAMPLE]
    )
    factor: dict[str, Any] = Field(
        description="Every figure and its provenance, as published.",
        examples=[{"unit": "km", "reduction_g_per_unit": "46.8", "tier": "partner"}],
    )


class PublishedRead(Schema):
    version: FactorVersionRead = Field(description="The stored version.", examples=[_VERSION_EXAMPLE])
    created: bool = Field(description="False when the same content was already published.", examples=[True])


class FactorEntry(Schema):
    """One figure of a version: a behaviour type, or one of its categories or hydrogen sources."""

    behaviour: BehaviourType = Field(description="Behaviour type.", examples=["waste_sorting"])
    parameter: str | None = Field(
        description="The category (waste sorting) or hydrogen source (hydrogen bus) the figure is for; null when "
        "the type has one figure.",
        examples=["recyclables"],
    )
    unit: str = Field(description="The unit of the quantity.", examples=["kg"])
    baseline_g_per_unit: Decimal = Field(description="Baseline emission per unit (BE), g CO₂e.", examples=["686"])
    project_g_per_unit: Decimal = Field(description="Project emission per unit (PE), g CO₂e.", examples=["485"])
    reduction_g_per_unit: Decimal = Field(
        description="Reduction per unit, BE − PE: what is credited.", examples=["201"]
    )
    source: str = Field(description="Where the figures come from.", examples=["环境科学 2023 44(5)…"])
    valid_from: datetime = Field(description="In force from.", examples=["2026-11-01T00:00:00+08:00"])
    valid_to: datetime | None = Field(description="In force until, if bounded.", examples=[None])
    daily_cap_g: int = Field(description="Per resident and day (Asia/Shanghai), grams.", examples=[3000])
    yearly_cap_g: int = Field(description="Per resident and year, grams.", examples=[200000])
    weights: dict[str, str] = Field(
        description="Each trust tier's weight, or `review` when a report of the tier waits for an operator.",
        examples=[{"partner": "1", "evidence": "0.5", "self": "review"}],
    )


class FactorVersionDetail(Schema):
    version: FactorVersionRead = Field(description="The version.", examples=[_VERSION_EXAMPLE])
    published_at: datetime = Field(description="When it was stored.", examples=["2026-12-06T10:00:00+08:00"])
    published_by: str = Field(description="Who published it: `user:<id>`, `cli` or `startup`.", examples=["user:3"])
    entries: list[FactorEntry] = Field(description="Every figure, by type and parameter.", examples=[[]])
    source: str = Field(description="The file as published (TOML).", examples=['set = "tianjin"\n…'])


class FactorDraftCreate(InputSchema):
    source: str = Field(
        min_length=1,
        max_length=200_000,
        description="The factor file (TOML), as in emission_factors/: checked now, published once a second "
        "administrator approves it.",
        examples=['set = "tianjin"\nversion = "2026.3"\n…'],
    )


class FactorDraftDecision(InputSchema):
    reason: str = Field(
        min_length=1,
        max_length=500,
        description="Why; kept with the draft and in the admin action log.",
        examples=["步行系数来源未核实，请补充出处后重新上传。"],
    )


class DraftStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    withdrawn = "withdrawn"


class FactorDraftRead(Schema):
    draft_id: int = Field(description="The draft's id.", examples=[7])
    set: str = Field(description="Factor set.", examples=["tianjin"])
    version: str = Field(description="The version it would publish.", examples=["2026.3"])
    valid_from: datetime = Field(description="In force from, once published.", examples=["2027-01-01T00:00:00+08:00"])
    status: DraftStatus = Field(
        description="pending; approved (then published as `version_id`); rejected by another administrator; "
        "withdrawn by its uploader.",
        examples=["pending"],
    )
    uploaded_by: str = Field(description="Who uploaded it, `user:<id>`.", examples=["user:3"])
    uploaded_at: datetime = Field(description="When.", examples=["2026-12-06T10:00:00+08:00"])
    decided_by: str | None = Field(description="Who approved, rejected or withdrew it.", examples=["user:4"])
    decided_at: datetime | None = Field(description="When.", examples=["2026-12-06T11:00:00+08:00"])
    reason: str | None = Field(description="Why it was rejected or withdrawn.", examples=[None])
    version_id: int | None = Field(description="The published version, once approved.", examples=[None])
    stale: bool = Field(
        description="A version with this set and version was published since: it can no longer be approved.",
        examples=[False],
    )


class FactorDraftPage(Schema):
    items: list[FactorDraftRead] = Field(description="Newest first.", examples=[[]])
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last.", examples=["eyJwIjogN30", None]
    )


class EntryChange(StrEnum):
    added = "added"
    removed = "removed"
    changed = "changed"
    unchanged = "unchanged"


class FactorDiffRow(Schema):
    behaviour: BehaviourType = Field(description="Behaviour type.", examples=["metro_ride"])
    parameter: str | None = Field(description="Category or hydrogen source; null for none.", examples=[None])
    change: EntryChange = Field(description="What the draft does to the figure.", examples=["changed"])
    changed_fields: list[str] = Field(
        description="The fields whose value differs.", examples=[["reduction_g_per_unit", "source"]]
    )
    before: FactorEntry | None = Field(description="The figure in force now; null when added.", examples=[None])
    after: FactorEntry | None = Field(description="The draft's figure; null when removed.", examples=[None])


class FactorDraftDetail(Schema):
    draft: FactorDraftRead = Field(description="The draft.", examples=[None])
    source: str = Field(description="The file as uploaded (TOML).", examples=['set = "tianjin"\n…'])
    in_force: list[FactorVersionRead] = Field(
        description="The versions in force now that the draft is compared with.", examples=[[_VERSION_EXAMPLE]]
    )
    diff: list[FactorDiffRow] = Field(description="By type and parameter, in the order of the types.", examples=[[]])
