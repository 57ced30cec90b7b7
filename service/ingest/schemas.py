from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field, StringConstraints

from service.factors.model import BehaviourType, HydrogenSource
from service.factors.units import Unit
from service.kit.schemas import InputSchema, Schema

Hex64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$")]


class Evidence(InputSchema):
    station_qr: str | None = Field(
        default=None, min_length=1, max_length=512, description="The payload of a station or venue QR code scanned."
    )
    photo_sha256: Hex64 | None = Field(default=None, description="SHA-256 (hex) of a receipt or scale photo.")


class BehaviourFields(InputSchema):
    type: BehaviourType = Field(description="The behaviour type; see GET /v1/factors.")
    occurred_at: AwareDatetime = Field(description="When it started, with a UTC offset.")
    ended_at: AwareDatetime | None = Field(
        default=None, description="When it ended; needed for the speed check of rides, else estimated."
    )
    quantity: Decimal = Field(gt=0, max_digits=12, decimal_places=4, description="How much, in `unit`.")
    unit: Unit | None = Field(default=None, description="The quantity's unit; the factor's unit when omitted.")
    category: str | None = Field(
        default=None, max_length=32, description="Waste category, for waste_sorting (recyclables, kitchen_waste, …)."
    )


class BehaviourCreate(BehaviourFields):
    client_id: uuid.UUID = Field(
        description="A UUID the app makes once per behaviour and reuses on every retry: the idempotency key."
    )
    evidence: Evidence | None = Field(default=None, description="Optional proof; raises the trust tier.")


class PartnerRecord(BehaviourFields):
    external_id: str = Field(
        min_length=1, max_length=128, description="The partner's own record id: the idempotency key."
    )
    resident_id: uuid.UUID = Field(description="The resident's public id.")
    hydrogen_source: HydrogenSource | None = Field(
        default=None, description="For hydrogen_bus_ride: the source of this bus's hydrogen, if not the supplier's."
    )


class PartnerBatch(InputSchema):
    records: list[dict[str, object]] = Field(
        min_length=1, max_length=1000, description="Up to 1,000 records; each is checked on its own."
    )


class Calculation(Schema):
    quantity: Decimal = Field(description="The quantity in the factor's unit.")
    unit: Unit = Field(description="The factor's unit.")
    reported_quantity: Decimal = Field(description="The quantity as reported.")
    reported_unit: Unit = Field(description="The unit as reported.")
    baseline_g_per_unit: Decimal = Field(description="Baseline emission per unit (BE).")
    project_g_per_unit: Decimal = Field(description="Project emission per unit (PE).")
    reduction_g_per_unit: Decimal = Field(description="BE − PE.")
    tier: Literal["partner", "evidence", "self"] = Field(description="Who vouches for the record.")
    weight: Decimal = Field(description="The share of the reduction this tier earns.")
    exact_g: Decimal = Field(description="quantity × reduction × weight, unrounded.")
    grams: int = Field(description="exact_g rounded down to whole grams.")
    remainder_g: Decimal = Field(description="exact_g − grams: the part not credited by rounding.")
    formula: str = Field(description="The calculation written out.")


class FactorRef(Schema):
    version_id: int = Field(description="The stored factor version.")
    set: str = Field(description="Factor set, e.g. tianjin.")
    version: str = Field(description="Version, e.g. 2026.1.")
    methodology: str = Field(description="How the factor is derived.")
    source: str = Field(description="Where its figures come from.")
    verified: bool = Field(description="False where a figure is a secondary quote or our allocation.")


class BehaviourRead(Schema):
    id: int = Field(description="Behaviour id.")
    client_id: uuid.UUID | None = Field(description="The resident's idempotency key, for self-reports.")
    type: BehaviourType = Field(description="Behaviour type.")
    category: str | None = Field(description="Waste category, if any.")
    status: Literal["credited", "capped", "pending_review", "rejected", "duplicate", "superseded"] = Field(
        description="credited; capped (part or all cut by a cap); pending_review; rejected; duplicate; superseded."
    )
    occurred_at: datetime = Field(description="When it started.")
    ended_at: datetime = Field(description="When it ended (reported or estimated).")
    credited_g: int = Field(description="Grams credited to the resident.")
    capped_g: int = Field(description="Grams computed but not credited because of a cap.")
    cap_reason: str | None = Field(description="daily_cap, yearly_cap or platform_budget.")
    calculation: Calculation = Field(description="The calculation behind the credit.")
    factor: FactorRef = Field(description="The factor version used.")
    balance_g: int | None = Field(description="The resident's balance right after this record.")
    recorded_at: datetime = Field(description="When the platform recorded it.")
    transfer_id: int | None = Field(default=None, description="The issuance transfer, on reads of a credited record.")
    reversed_g: int = Field(default=0, description="Grams of this credit since reversed by an operator, on reads.")


class RecordedBehaviour(BehaviourRead):
    replayed: bool = Field(description="True when this key was recorded before and the original result is returned.")


class RecordOutcome(Schema):
    index: int = Field(description="The record's position in the batch.")
    external_id: str | None = Field(description="The partner's record id, as sent.")
    outcome: Literal["accepted", "duplicate", "capped", "rejected"] = Field(description="What became of the record.")
    reason: str | None = Field(description="Why, for duplicate, capped and rejected records: a stable code.")
    behaviour_id: int | None = Field(default=None, description="The stored behaviour, if any.")
    credited_g: int = Field(default=0, description="Grams credited.")
    capped_g: int = Field(default=0, description="Grams cut by a cap.")
    errors: list[dict[str, object]] | None = Field(default=None, description="Field errors of a rejected record.")


class BatchResult(Schema):
    accepted: int = Field(description="Records credited (or held for review).")
    duplicate: int = Field(description="Records already received, or trips already credited.")
    capped: int = Field(description="Records cut, in part or whole, by a cap.")
    rejected: int = Field(description="Records refused; see each reason.")
    results: list[RecordOutcome] = Field(description="One outcome per record, in the order sent.")


class BehaviourPage(Schema):
    items: list[BehaviourRead] = Field(description="Newest first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")


class BalanceRead(Schema):
    balance_g: int = Field(description="Grams of CO₂e credit the resident holds.")
    credited_total_g: int = Field(description="Grams ever credited to the resident.")


class ReviewDecision(InputSchema):
    approve: bool = Field(description="True to credit the report, false to reject it.")
    reason: str = Field(min_length=1, max_length=500, description="Why; kept with the decision.")


class ReviewResult(Schema):
    behaviour_id: int = Field(description="The behaviour decided on.")
    status: str = Field(description="credited, capped or rejected.")
    credited_g: int = Field(description="Grams credited.")
    capped_g: int = Field(description="Grams cut by a cap.")


class FlagRead(Schema):
    id: int = Field(description="Flag id.")
    kind: str = Field(description="implausible_speed, burst, two_sources or shared_device.")
    subject: str = Field(description="What it is about, e.g. `behaviour:123` or `device:…`.")
    resident_id: uuid.UUID | None = Field(description="The resident's public id, when it is about one.")
    behaviour_id: int | None = Field(description="The behaviour, when it is about one.")
    details: dict[str, Any] = Field(description="The figures behind the flag.")
    raised_at: datetime = Field(description="When the scan raised it.")
    resolution: str | None = Field(description="confirmed or dismissed; null while open.")
    resolved_at: datetime | None = Field(description="When.")
    resolved_by: str | None = Field(description="Who.")
    resolution_reason: str | None = Field(description="Why.")


class FlagPage(Schema):
    items: list[FlagRead] = Field(description="Oldest first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")


class FlagResolution(StrEnum):
    confirmed = "confirmed"
    dismissed = "dismissed"


class FlagResolve(InputSchema):
    resolution: FlagResolution = Field(description="confirmed (it was fraud) or dismissed (it was not).")
    reason: str = Field(min_length=1, max_length=500, description="Why; kept with the flag and in the action log.")
