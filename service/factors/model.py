"""The factor-set file format (emission_factors/README.md), parsed and checked.

A `FactorSet` is one published version: immutable once stored. Each behaviour type carries its unit,
baseline and project emission factors, the reduction per unit (baseline − project, checked), provenance,
bounds, caps, trust tiers and claim window. The hydrogen bus type states the inputs of its factor and the
reduction is computed here, floored at zero.
"""

from __future__ import annotations

import tomllib
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from service.factors.units import Unit

Positive = Annotated[Decimal, Field(gt=0)]
NonNegative = Annotated[Decimal, Field(ge=0)]


class BehaviourType(StrEnum):
    metro_ride = "metro_ride"
    bus_ride = "bus_ride"
    hydrogen_bus_ride = "hydrogen_bus_ride"
    shared_bike = "shared_bike"
    walking = "walking"
    waste_sorting = "waste_sorting"
    low_carbon_visit = "low_carbon_visit"


class HydrogenSource(StrEnum):
    coal = "coal"
    natural_gas = "natural_gas"
    by_product = "by_product"
    renewable = "renewable"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Emission(_Strict):
    baseline_g_per_unit: NonNegative
    project_g_per_unit: NonNegative
    reduction_g_per_unit: NonNegative

    @model_validator(mode="after")
    def _reduction_is_baseline_minus_project(self) -> Self:
        if self.baseline_g_per_unit - self.project_g_per_unit != self.reduction_g_per_unit:
            raise ValueError(
                f"reduction_g_per_unit {self.reduction_g_per_unit} must equal baseline_g_per_unit "
                f"{self.baseline_g_per_unit} − project_g_per_unit {self.project_g_per_unit}"
            )
        return self


class Category(Emission):
    title_zh: str
    title_en: str


class Bounds(_Strict):
    min_quantity: Positive
    max_quantity: Positive
    max_speed_kmh: Positive | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min_quantity > self.max_quantity:
            raise ValueError("min_quantity must not exceed max_quantity")
        return self


class Caps(_Strict):
    daily_g: int = Field(gt=0)
    yearly_g: int = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.daily_g > self.yearly_g:
            raise ValueError("daily_g must not exceed yearly_g")
        return self


Weight = Annotated[Decimal, Field(gt=0, le=1)]


class Trust(_Strict):
    """How much of the computed credit each tier earns; "review" holds a self-report for an operator."""

    partner: Weight = Decimal(1)
    evidence: Weight | Literal["review"]
    self_: Weight | Literal["review"] = Field(alias="self")


class SiteKind(StrEnum):
    """The kinds of registered site whose signed codes back a report."""

    metro_station = "metro_station"
    bus_stop = "bus_stop"
    hydrogen_bus_stop = "hydrogen_bus_stop"
    bike_dock = "bike_dock"
    recycling_station = "recycling_station"
    venue_gate = "venue_gate"


class CodeRole(StrEnum):
    """Where a site code is scanned: where the behaviour starts (boarding, a check-in) or where it ends
    (alighting)."""

    start = "start"
    end = "end"


class EvidenceRule(_Strict):
    """What evidence backs a resident's report of the type. `sites`: the kinds of site whose codes fit it;
    `codes`: the codes a report backed by codes must carry; `photo`: whether a photo may back it (then the
    report waits for an operator); `max_detour`: with a start and an end code, the reported distance may be
    at most the straight line between the two sites times this (plus a fixed allowance for the size of a
    station)."""

    sites: list[SiteKind] = Field(default_factory=list)
    codes: list[CodeRole] = Field(default_factory=list)
    photo: bool = False
    max_detour: Annotated[Decimal, Field(ge=1, le=10)] | None = None

    @model_validator(mode="after")
    def _codes_with_sites(self) -> Self:
        if bool(self.sites) != bool(self.codes):
            raise ValueError("sites and codes go together: the kinds of site, and the codes a report needs")
        if len(set(self.codes)) != len(self.codes) or (self.codes and CodeRole.start not in self.codes):
            raise ValueError("codes: start, or start and end, each once")
        if self.max_detour is not None and CodeRole.end not in self.codes:
            raise ValueError("max_detour needs a start and an end code")
        return self


class Hydrogen(_Strict):
    diesel_baseline_g_per_bus_km: Positive
    h2_kg_per_100km: Positive
    passenger_load: Positive
    supplier_source: HydrogenSource
    source_g_per_kg_h2: dict[HydrogenSource, NonNegative]

    @model_validator(mode="after")
    def _supplier_has_a_figure(self) -> Self:
        if self.supplier_source not in self.source_g_per_kg_h2:
            raise ValueError(f"source_g_per_kg_h2 has no figure for {self.supplier_source}")
        return self

    def emission(self, source: HydrogenSource | None = None) -> Emission:
        """Per passenger-km: diesel baseline against the supplier's hydrogen; never a negative reduction."""
        per_kg = self.source_g_per_kg_h2[source or self.supplier_source]
        baseline = self.diesel_baseline_g_per_bus_km / self.passenger_load
        project = self.h2_kg_per_100km / 100 * per_kg / self.passenger_load
        q = Decimal("0.0001")
        baseline, project = baseline.quantize(q), project.quantize(q)
        if project >= baseline:
            return Emission(baseline_g_per_unit=baseline, project_g_per_unit=baseline, reduction_g_per_unit=Decimal(0))
        return Emission(
            baseline_g_per_unit=baseline, project_g_per_unit=project, reduction_g_per_unit=baseline - project
        )


class BehaviourFactor(_Strict):
    title_zh: str
    title_en: str
    group: str = Field(description="records of one group whose times overlap are the same trip; '' for none")
    unit: Unit
    unit_conversions: dict[Unit, Positive] = Field(default_factory=dict)
    baseline_g_per_unit: NonNegative | None = None
    project_g_per_unit: NonNegative | None = None
    reduction_g_per_unit: NonNegative | None = None
    categories: dict[str, Category] | None = None
    hydrogen: Hydrogen | None = None
    methodology: str = Field(min_length=1)
    source: str = Field(min_length=1)
    source_year: int = Field(ge=1990, le=2100)
    source_region: str = Field(min_length=1)
    verified: bool
    conservativeness: str = Field(min_length=1)
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    claim_window_days: int = Field(ge=1, le=90)
    bounds: Bounds
    caps: Caps
    trust: Trust
    # A version may state no rule (2026.1): it takes no evidence, and every report of it is a self-report.
    # An absent rule is left out of the stored content, so that such a version's digest stays its own.
    evidence: EvidenceRule | None = Field(default=None, exclude_if=lambda rule: rule is None)

    @model_validator(mode="after")
    def _one_way_to_a_reduction(self) -> Self:
        flat = (self.baseline_g_per_unit, self.project_g_per_unit, self.reduction_g_per_unit)
        ways = sum([all(v is not None for v in flat), self.categories is not None, self.hydrogen is not None])
        if ways != 1 or (any(v is not None for v in flat) and not all(v is not None for v in flat)):
            raise ValueError("give baseline/project/reduction, or categories, or hydrogen — exactly one")
        if all(v is not None for v in flat):
            Emission(
                baseline_g_per_unit=flat[0],  # type: ignore[arg-type]
                project_g_per_unit=flat[1],  # type: ignore[arg-type]
                reduction_g_per_unit=flat[2],  # type: ignore[arg-type]
            )
        if self.unit in self.unit_conversions:
            raise ValueError("unit_conversions must not convert the unit to itself")
        for when in (self.valid_from, self.valid_to):
            if when is not None and when.tzinfo is None:
                raise ValueError("valid_from and valid_to need a UTC offset")
        return self

    def emission(self, *, category: str | None = None, hydrogen_source: HydrogenSource | None = None) -> Emission:
        """The factor's emission, for a category (waste sorting) or a hydrogen source (hydrogen bus; the
        supplier's when None). KeyError for a category or source the factor does not have."""
        if self.hydrogen is not None:
            return self._emissions[hydrogen_source]
        return self._emissions[category if self.categories is not None else None]

    @cached_property
    def _emissions(self) -> dict[str | None, Emission]:
        """Every emission the factor can give, computed once: the version is immutable and recording asks
        for one per event."""
        if self.hydrogen is not None:
            hydrogen = self.hydrogen
            return {
                None: hydrogen.emission(),
                **{source: hydrogen.emission(source) for source in hydrogen.source_g_per_kg_h2},
            }
        if self.categories is not None:
            return {
                name: Emission(
                    baseline_g_per_unit=found.baseline_g_per_unit,
                    project_g_per_unit=found.project_g_per_unit,
                    reduction_g_per_unit=found.reduction_g_per_unit,
                )
                for name, found in self.categories.items()
            }
        assert self.baseline_g_per_unit is not None
        assert self.project_g_per_unit is not None
        assert self.reduction_g_per_unit is not None
        return {
            None: Emission(
                baseline_g_per_unit=self.baseline_g_per_unit,
                project_g_per_unit=self.project_g_per_unit,
                reduction_g_per_unit=self.reduction_g_per_unit,
            )
        }

    def weight(self, tier: str) -> tuple[Decimal, bool]:
        """The tier's weight, and whether a record of that tier waits for review (then it is weighed at full
        value)."""
        return self._weights[tier]

    @cached_property
    def _weights(self) -> dict[str, tuple[Decimal, bool]]:
        tiers = {"partner": self.trust.partner, "evidence": self.trust.evidence, "self": self.trust.self_}
        return {
            tier: (Decimal(1), True) if value == "review" else (Decimal(value), False) for tier, value in tiers.items()
        }


class FactorSet(_Strict):
    format: Literal[1]
    set: str = Field(pattern=r"^[a-z][a-z0-9_-]{1,31}$")
    version: str = Field(pattern=r"^[0-9]{4}\.[0-9]{1,3}$")
    region: str = Field(min_length=1)
    published_on: date
    valid_from: datetime
    valid_to: datetime | None = None
    timezone: Literal["Asia/Shanghai"]
    methodology: str = Field(min_length=1)
    notes: str = ""
    behaviour: dict[BehaviourType, BehaviourFactor]

    @field_validator("valid_from", "valid_to")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("needs a UTC offset, e.g. 2026-01-01T00:00:00+08:00")
        return value

    @model_validator(mode="after")
    def _complete(self) -> Self:
        missing = set(BehaviourType) - set(self.behaviour)
        if missing:
            raise ValueError(f"no factor for: {', '.join(sorted(missing))}")
        if self.valid_to is not None and self.valid_to <= self.valid_from:
            raise ValueError("valid_to must come after valid_from")
        for behaviour in self.behaviour:
            start, end = self.validity(behaviour)
            if start < self.valid_from or (self.valid_to is not None and end is not None and end > self.valid_to):
                raise ValueError(f"behaviour.{behaviour}: valid_from/valid_to may only narrow the set's validity")
            if end is not None and end <= start:
                raise ValueError(f"behaviour.{behaviour}: valid_to must come after valid_from")
        return self

    def validity(self, behaviour: BehaviourType) -> tuple[datetime, datetime | None]:
        factor = self.behaviour[behaviour]
        return factor.valid_from or self.valid_from, factor.valid_to or self.valid_to

    @classmethod
    def parse_toml(cls, text: str) -> FactorSet:
        return cls.model_validate(tomllib.loads(text))
