"""The factors' API shapes: versions, the factor in force for each type, publishing."""

from __future__ import annotations

from datetime import datetime
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


class FactorVersionCreate(InputSchema):
    source: str = Field(
        min_length=1,
        max_length=200_000,
        description="The factor file (TOML), as in emission_factors/.",
        examples=['set = "tianjin"\nversion = "2026.2"\n…'],
    )


class PublishedRead(Schema):
    version: FactorVersionRead = Field(description="The stored version.", examples=[_VERSION_EXAMPLE])
    created: bool = Field(description="False when the same content was already published.", examples=[True])
