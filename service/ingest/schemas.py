from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field, StringConstraints, WithJsonSchema

from service.factors.model import BehaviourType, HydrogenSource
from service.factors.units import Unit
from service.kit.schemas import InputSchema, Schema

# Examples for the OpenAPI document: one metro ride of 12.5 km, scanned at the station, under tianjin 2026.1.
_PARTNER_RECORD_EXAMPLE: dict[str, object] = {
    "external_id": "tj-metro-20261123-000481",
    "pseudonym": "psn_7kq2m9xw4c8rj3tn6v5bh1yd0f",
    "type": "metro_ride",
    "occurred_at": "2026-11-23T08:05:00+08:00",
    "ended_at": "2026-11-23T08:32:00+08:00",
    "quantity": "12.5",
    "unit": "km",
}
_CALCULATION_EXAMPLE: dict[str, object] = {
    "quantity": "12.5",
    "unit": "km",
    "reported_quantity": "12.5",
    "reported_unit": "km",
    "baseline_g_per_unit": "107.8",
    "project_g_per_unit": "61.0",
    "reduction_g_per_unit": "46.8",
    "tier": "evidence",
    "weight": "1",
    "exact_g": "585.00",
    "grams": 585,
    "remainder_g": "0.00",
    "formula": "12.5 km × 46.8 g/km × 1 = 585 g → 585 g",
}
_FACTOR_EXAMPLE: dict[str, object] = {
    "version_id": 1,
    "set": "tianjin",
    "version": "2026.1",
    "methodology": "DB11/T 3043-2024 rail transit: BE = EF(average motorised mix) × pkm; PE = EF(metro) × pkm",
    "source": "Shenzhen public-transit carbon-inclusion methodology: metro 46.8 g/pkm reduction",
    "verified": True,
}
_BEHAVIOUR_EXAMPLE: dict[str, object] = {
    "id": 48213,
    "client_id": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
    "type": "metro_ride",
    "category": None,
    "status": "credited",
    "occurred_at": "2026-11-23T08:05:00+08:00",
    "ended_at": "2026-11-23T08:32:00+08:00",
    "credited_g": 585,
    "capped_g": 0,
    "cap_reason": None,
    "calculation": _CALCULATION_EXAMPLE,
    "factor": _FACTOR_EXAMPLE,
    "balance_g": 12840,
    "recorded_at": "2026-11-23T08:33:04+08:00",
    "transfer_id": 90517,
    "reversed_g": 0,
}
_OUTCOME_EXAMPLE: dict[str, object] = {
    "index": 0,
    "external_id": "tj-metro-20261123-000481",
    "outcome": "accepted",
    "reason": None,
    "behaviour_id": 48213,
    "related_behaviour_id": None,
    "credited_g": 585,
    "capped_g": 0,
    "errors": None,
}
Hex64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$")]
_CURSOR_EXAMPLE = "eyJwIjogNDgyMTN9"
VerifiedEvidence = Literal["partner", "site_code", "photo", "none"]
# The worked example of mobile_api_docs/en/site-codes.md.
_START_CODE_EXAMPLE = "TPH1:AEAAABASAIA4RYF6AHKYIDTLQEYW4MCVVH377GAODTEL5EMD6JSASXIYX7VA73EZ54LY6HVSVYIH4HO4YPUQP744KLJT4IJ5AVGTUGHLAIG5CZ7C2SRATUQB"


class Evidence(InputSchema):
    start_code: str | None = Field(
        default=None,
        min_length=1,
        max_length=256,
        description="The code a registered site showed where the behaviour started (boarding, a check-in), as "
        "scanned; see site-codes.md.",
        examples=[_START_CODE_EXAMPLE],
    )
    end_code: str | None = Field(
        default=None,
        min_length=1,
        max_length=256,
        description="The code shown where it ended (alighting), for the types that need one.",
        examples=[None],
    )
    photo_id: uuid.UUID | None = Field(
        default=None,
        description="A photo uploaded with POST /v1/me/photos: the report then waits for an operator to look at it.",
        examples=[None],
    )
    station_qr: str | None = Field(
        default=None,
        min_length=1,
        max_length=512,
        deprecated=True,
        description="Unchecked text from an earlier version of the app: verifies nothing, and the report counts as "
        "a self-report. Send start_code instead.",
        examples=[None],
    )
    photo_sha256: Hex64 | None = Field(
        default=None,
        deprecated=True,
        description="Unchecked hash from an earlier version of the app: verifies nothing. Upload the photo and send "
        "photo_id instead.",
        examples=[None],
    )


class BehaviourFields(InputSchema):
    type: BehaviourType = Field(description="The behaviour type; see GET /v1/factors.", examples=["metro_ride"])
    occurred_at: AwareDatetime = Field(
        description="When it started, with a UTC offset.", examples=["2026-11-23T08:05:00+08:00"]
    )
    ended_at: AwareDatetime | None = Field(
        default=None,
        description="When it ended; needed for the speed check of rides, else estimated.",
        examples=["2026-11-23T08:32:00+08:00"],
    )
    quantity: Annotated[
        Decimal,
        # a number, or its decimal text: more than 0, at most 8 digits before the point and 4 after
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "number", "exclusiveMinimum": 0, "maximum": 99999999.9999},
                    {"type": "string", "pattern": r"^(?=.*[1-9])\d{1,8}(\.\d{1,4})?$"},
                ]
            }
        ),
    ] = Field(gt=0, max_digits=12, decimal_places=4, description="How much, in `unit`.", examples=["12.5"])
    unit: Unit | None = Field(
        default=None, description="The quantity's unit; the factor's unit when omitted.", examples=["km"]
    )
    category: str | None = Field(
        default=None,
        max_length=32,
        description="Waste category, for waste_sorting (recyclables, kitchen_waste, …); omit it for other types.",
        examples=[None, "kitchen_waste"],
    )


class BehaviourCreate(BehaviourFields):
    client_id: uuid.UUID = Field(
        description="A UUID the app makes once per behaviour and reuses on every retry: the idempotency key.",
        examples=["1b4e28ba-2fa1-11d2-883f-0016d3cca427"],
    )
    evidence: Evidence | None = Field(
        default=None,
        description="Optional proof, checked: verified site codes earn the evidence tier at once; a photo alone "
        "holds the report for review.",
        examples=[{"start_code": _START_CODE_EXAMPLE}],
    )


class PartnerRecord(BehaviourFields):
    external_id: str = Field(
        min_length=1,
        max_length=128,
        description="The partner's own record id: the idempotency key.",
        examples=["tj-metro-20261123-000481"],
    )
    pseudonym: str = Field(
        min_length=1,
        max_length=64,
        description="The resident, by the pseudonym their link with this partner gave (POST /v1/partner/links).",
        examples=["psn_7kq2m9xw4c8rj3tn6v5bh1yd0f"],
    )
    hydrogen_source: HydrogenSource | None = Field(
        default=None,
        description="For hydrogen_bus_ride: the source of this bus's hydrogen, if not the supplier's.",
        examples=["renewable"],
    )


class PartnerBatch(InputSchema):
    records: list[dict[str, object]] = Field(
        min_length=1,
        max_length=1000,
        description="Up to 1,000 records; each is checked on its own.",
        examples=[[_PARTNER_RECORD_EXAMPLE]],
    )


class Calculation(Schema):
    quantity: Decimal = Field(description="The quantity in the factor's unit.", examples=["12.5"])
    unit: Unit = Field(description="The factor's unit.", examples=["km"])
    reported_quantity: Decimal = Field(description="The quantity as reported.", examples=["12.5"])
    reported_unit: Unit = Field(description="The unit as reported.", examples=["km"])
    baseline_g_per_unit: Decimal = Field(description="Baseline emission per unit (BE).", examples=["107.8"])
    project_g_per_unit: Decimal = Field(description="Project emission per unit (PE).", examples=["61.0"])
    reduction_g_per_unit: Decimal = Field(description="BE − PE.", examples=["46.8"])
    tier: Literal["partner", "evidence", "self"] = Field(
        description="Who vouches for the record.", examples=["evidence"]
    )
    weight: Decimal = Field(description="The share of the reduction this tier earns.", examples=["1"])
    exact_g: Decimal = Field(description="quantity × reduction × weight, unrounded.", examples=["585.00"])
    grams: int = Field(description="exact_g rounded down to whole grams.", examples=[585])
    remainder_g: Decimal = Field(description="exact_g − grams: the part not credited by rounding.", examples=["0.00"])
    formula: str = Field(
        description="The calculation written out.", examples=["12.5 km × 46.8 g/km × 1 = 585 g → 585 g"]
    )


class FactorRef(Schema):
    version_id: int = Field(description="The stored factor version.", examples=[1])
    set: str = Field(description="Factor set, e.g. tianjin.", examples=["tianjin"])
    version: str = Field(description="Version, e.g. 2026.1.", examples=["2026.1"])
    methodology: str = Field(description="How the factor is derived.", examples=[_FACTOR_EXAMPLE["methodology"]])
    source: str = Field(description="Where its figures come from.", examples=[_FACTOR_EXAMPLE["source"]])
    verified: bool = Field(description="False where a figure is a secondary quote or our allocation.", examples=[True])


class BehaviourRead(Schema):
    id: int = Field(description="Behaviour id.", examples=[48213])
    client_id: uuid.UUID | None = Field(
        description="The resident's idempotency key, for self-reports.",
        examples=["1b4e28ba-2fa1-11d2-883f-0016d3cca427"],
    )
    type: BehaviourType = Field(description="Behaviour type.", examples=["metro_ride"])
    category: str | None = Field(description="Waste category, if any.", examples=[None, "kitchen_waste"])
    status: Literal["credited", "capped", "pending_review", "rejected", "duplicate", "superseded"] = Field(
        description="credited; capped (part or all cut by a cap); pending_review; rejected; duplicate; superseded.",
        examples=["credited"],
    )
    occurred_at: datetime = Field(description="When it started.", examples=["2026-11-23T08:05:00+08:00"])
    ended_at: datetime = Field(
        description="When it ended (reported or estimated).", examples=["2026-11-23T08:32:00+08:00"]
    )
    credited_g: int = Field(description="Grams credited to the resident.", examples=[585])
    capped_g: int = Field(description="Grams computed but not credited because of a cap.", examples=[0])
    cap_reason: str | None = Field(
        description="daily_cap, yearly_cap or platform_budget; null when nothing was cut.",
        examples=[None, "daily_cap"],
    )
    calculation: Calculation = Field(description="The calculation behind the credit.", examples=[_CALCULATION_EXAMPLE])
    factor: FactorRef = Field(description="The factor version used.", examples=[_FACTOR_EXAMPLE])
    balance_g: int | None = Field(description="The resident's balance right after this record.", examples=[12840])
    recorded_at: datetime = Field(description="When the platform recorded it.", examples=["2026-11-23T08:33:04+08:00"])
    transfer_id: int | None = Field(
        default=None, description="The issuance transfer of a credited record.", examples=[90517]
    )
    photo_url: str | None = Field(
        default=None,
        description="On the review queue: a link to the report's photo, valid for a few minutes.",
        examples=[None],
    )
    resident_id: uuid.UUID | None = Field(
        default=None,
        description="On the review queue: the public id of the resident who reported it, for their page.",
        examples=[None],
    )
    verified_evidence: VerifiedEvidence = Field(
        default="none",
        description="What was verified: a partner's signed record, a registered site's code, a photo an operator "
        "approved, or nothing (a self-report, or a photo not yet reviewed).",
        examples=["site_code"],
    )
    reversed_g: int = Field(
        default=0, description="Grams of this credit since reversed by an operator, on reads.", examples=[0]
    )


class BehaviourExportRead(BehaviourRead):
    evidence: dict[str, Any] | None = Field(
        description="The evidence as kept: the site codes' sites and when each was shown, or the photo's id and "
        "SHA-256; null when none was given or the retention schedule has removed it.",
        examples=[
            {
                "site_codes": [
                    {
                        "role": "start",
                        "site_id": 3,
                        "site": "jn-metro-xiaozhan",
                        "shown_at": "2026-11-23T00:05:00+00:00",
                    }
                ]
            }
        ],
    )


class RecordedBehaviour(BehaviourRead):
    replayed: bool = Field(
        description="True when this key was recorded before and the original result is returned.", examples=[False]
    )


class RecordOutcome(Schema):
    index: int = Field(description="The record's position in the batch.", examples=[0])
    external_id: str | None = Field(
        description="The partner's record id, as sent.", examples=["tj-metro-20261123-000481"]
    )
    outcome: Literal["accepted", "duplicate", "capped", "rejected"] = Field(
        description="What became of the record.", examples=["accepted"]
    )
    reason: str | None = Field(
        description="Why, for duplicate, capped and rejected records: a stable code.",
        examples=[None, "TRIP_ALREADY_CREDITED"],
    )
    behaviour_id: int | None = Field(default=None, description="The stored behaviour, if any.", examples=[48213])
    related_behaviour_id: int | None = Field(
        default=None,
        description="For TRIP_ALREADY_CREDITED: the behaviour that holds the trip's credit.",
        examples=[None],
    )
    credited_g: int = Field(default=0, description="Grams credited.", examples=[585])
    capped_g: int = Field(default=0, description="Grams cut by a cap.", examples=[0])
    errors: list[dict[str, object]] | None = Field(
        default=None,
        description="Field errors of a rejected record.",
        examples=[[{"field": "quantity", "code": "GREATER_THAN", "message": "Input should be greater than 0"}]],
    )


class BatchResult(Schema):
    accepted: int = Field(description="Records credited (or held for review).", examples=[1])
    duplicate: int = Field(description="Records already received, or trips already credited.", examples=[0])
    capped: int = Field(description="Records cut, in part or whole, by a cap.", examples=[0])
    rejected: int = Field(description="Records refused; see each reason.", examples=[0])
    results: list[RecordOutcome] = Field(
        description="One outcome per record, in the order sent.", examples=[[_OUTCOME_EXAMPLE]]
    )


class BehaviourPage(Schema):
    items: list[BehaviourRead] = Field(description="In the list's order.", examples=[[_BEHAVIOUR_EXAMPLE]])
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last.", examples=[_CURSOR_EXAMPLE]
    )


class ReviewDecision(InputSchema):
    approve: bool = Field(description="True to credit the report, false to reject it.", examples=[True])
    reason: str = Field(
        min_length=1,
        max_length=500,
        description="Why; kept with the decision.",
        examples=["Ride matches the metro operator's gate records."],
    )


class ReviewResult(Schema):
    behaviour_id: int = Field(description="The behaviour decided on.", examples=[48213])
    status: str = Field(description="credited, capped or rejected.", examples=["credited"])
    credited_g: int = Field(description="Grams credited.", examples=[585])
    capped_g: int = Field(description="Grams cut by a cap.", examples=[0])
