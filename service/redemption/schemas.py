"""What the redemption endpoints take and answer; the field descriptions and examples become the mobile docs."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Self

from pydantic import AfterValidator, AnyHttpUrl, AwareDatetime, Field, StringConstraints, model_validator

from service.kit.schemas import InputSchema, Schema, refuse_null
from service.redemption.models import RewardCategory, RewardStatus, VoucherStatus


def _https(url: AnyHttpUrl) -> AnyHttpUrl:
    if url.scheme != "https":
        raise ValueError("must be an https address")
    return url


HttpsUrl = Annotated[AnyHttpUrl, AfterValidator(_https)]

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
Purpose = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]

# Examples for the OpenAPI document: one coffee reward, a voucher for it and a retirement certificate.
_ENTERPRISE_NAME = "天津津南绿色餐饮有限公司"
_IMAGE_URL = "https://img.example.com/rewards/low-carbon-coffee.jpg"
_IMAGE_ID = "3d8a5c2e-9f1b-4e67-a0c4-7b2e91d5f836"
_PURPOSE = "2026 国家会展中心绿色展会碳中和"
_REWARD_EXAMPLE: dict[str, object] = {
    "id": 27,
    "enterprise_id": 12,
    "enterprise_name": _ENTERPRISE_NAME,
    "title": "低碳咖啡一杯",
    "description": "到店出示兑换码",
    "category": "food_drink",
    "price_g": 2000,
    "stock_total": 100,
    "stock_left": 63,
    "per_resident_limit": 1,
    "valid_from": "2026-12-01T00:00:00+08:00",
    "valid_until": "2027-02-28T23:59:59+08:00",
    "voucher_valid_days": 30,
    "image_url": _IMAGE_URL,
    "image_id": None,
    "status": "active",
}
_VOUCHER_EXAMPLE: dict[str, object] = {
    "id": 5120,
    "code": "K7QM-4XZD-9PRT-2HWB",
    "reward_id": 27,
    "reward_title": "低碳咖啡一杯",
    "enterprise_name": _ENTERPRISE_NAME,
    "price_g": 2000,
    "status": "issued",
    "issued_at": "2026-12-03T12:20:05+08:00",
    "expires_at": "2027-01-02T12:20:05+08:00",
    "used_at": None,
    "cancelled_at": None,
}
_PROVENANCE_EXAMPLE: dict[str, object] = {
    "behaviour_type": "metro_ride",
    "factor_set": "tianjin",
    "factor_version": "2026.1",
    "grams": 50000,
    "behaviours": 86,
    "earned_from": "2026-11-02",
    "earned_until": "2026-11-23",
}
_CERTIFICATE_EXAMPLE: dict[str, object] = {
    "number": "TPH-2026-0000001234",
    "enterprise_id": 12,
    "enterprise_name": _ENTERPRISE_NAME,
    "amount_g": 50000,
    "purpose": _PURPOSE,
    "beneficiary": None,
    "issued_at": "2026-11-24T10:15:00+08:00",
    "provenance": [_PROVENANCE_EXAMPLE],
}
_CURSOR_EXAMPLE = "eyJwIjogMjd9"


class RewardCreate(InputSchema):
    title: Title = Field(description="Shown on the reward card.", examples=["低碳咖啡一杯"])
    description: str = Field(
        max_length=1000, description="What the resident gets and how.", examples=["到店出示兑换码"]
    )
    category: RewardCategory = Field(description="For filtering the catalogue.", examples=["food_drink"])
    price_g: int = Field(ge=1, le=100_000_000, description="Price in grams of CO₂e credit.", examples=[2000])
    stock: int = Field(ge=1, le=1_000_000, description="How many can be redeemed in all.", examples=[100])
    per_resident_limit: int = Field(
        default=1, ge=1, le=1000, description="How many one resident may redeem.", examples=[1]
    )
    valid_from: AwareDatetime = Field(
        description="Redeemable from (with a UTC offset).", examples=["2026-12-01T00:00:00+08:00"]
    )
    valid_until: AwareDatetime = Field(
        description="Redeemable until (with a UTC offset); must be after valid_from.",
        examples=["2027-02-28T23:59:59+08:00"],
    )
    voucher_valid_days: int = Field(
        default=30, ge=1, le=366, description="Days a voucher stays usable once issued.", examples=[30]
    )
    image_url: HttpsUrl | None = Field(
        default=None, description="An https image for the card; or send `image_id` instead.", examples=[_IMAGE_URL]
    )
    image_id: uuid.UUID | None = Field(
        default=None,
        description="A picture uploaded at /v1/enterprise/reward-images, instead of `image_url`.",
        examples=[_IMAGE_ID],
    )

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        _one_image(self.image_url, self.image_id)
        return self


def _one_image(image_url: object, image_id: object) -> None:
    if image_url is not None and image_id is not None:
        raise ValueError("send image_url or image_id, not both")


class RewardUpdate(InputSchema):
    description: str | None = Field(
        default=None, max_length=1000, description="New description.", examples=["到店出示兑换码，限堂食"]
    )
    add_stock: int | None = Field(
        default=None, ge=1, le=1_000_000, description="Add this many to the stock.", examples=[50]
    )
    valid_until: AwareDatetime | None = Field(
        default=None, description="Move the end of the window.", examples=["2027-03-31T23:59:59+08:00"]
    )
    status: RewardStatus | None = Field(
        default=None, description="`withdrawn` takes it off the catalogue.", examples=["withdrawn"]
    )
    image_url: HttpsUrl | None = Field(
        default=None,
        description="A new https image, in place of the picture the reward has.",
        examples=["https://img.example.com/rewards/low-carbon-coffee-2.jpg"],
    )
    image_id: uuid.UUID | None = Field(
        default=None,
        description="A new picture uploaded at /v1/enterprise/reward-images, in place of the one it has.",
        examples=[_IMAGE_ID],
    )

    _not_null = refuse_null("description", "add_stock", "valid_until", "status", "image_url", "image_id")

    @model_validator(mode="after")
    def _one_new_image(self) -> Self:
        _one_image(self.image_url, self.image_id)
        return self


class RewardRead(Schema):
    id: int = Field(description="Reward id.", examples=[27])
    enterprise_id: int = Field(description="The enterprise offering it.", examples=[12])
    enterprise_name: str = Field(description="The name of the enterprise offering it.", examples=[_ENTERPRISE_NAME])
    title: str = Field(description="Shown on the reward card.", examples=["低碳咖啡一杯"])
    description: str = Field(description="What the resident gets and how.", examples=["到店出示兑换码"])
    category: RewardCategory = Field(description="Catalogue category.", examples=["food_drink"])
    price_g: int = Field(description="Price in grams.", examples=[2000])
    stock_total: int = Field(description="Stock in all.", examples=[100])
    stock_left: int = Field(description="Still available; 0 is sold out.", examples=[63])
    per_resident_limit: int = Field(description="How many one resident may redeem.", examples=[1])
    valid_from: datetime = Field(description="Redeemable from.", examples=["2026-12-01T00:00:00+08:00"])
    valid_until: datetime = Field(description="Redeemable until.", examples=["2027-02-28T23:59:59+08:00"])
    voucher_valid_days: int = Field(description="Days a voucher stays usable once issued.", examples=[30])
    image_url: str | None = Field(
        description="The one picture to show on the card, if any: the https address the enterprise gave, or the "
        "service's address of a picture it uploaded (a path such as `/v1/reward-images/…` when the service has "
        "no public origin configured: put the API's origin before it).",
        examples=[_IMAGE_URL, f"/v1/reward-images/{_IMAGE_ID}"],
    )
    image_id: uuid.UUID | None = Field(
        description="The uploaded picture `image_url` shows, if it is one.", examples=[None, _IMAGE_ID]
    )
    status: RewardStatus = Field(description="active or withdrawn.", examples=["active"])


class RewardPage(Schema):
    items: list[RewardRead] = Field(description="Newest first.", examples=[[_REWARD_EXAMPLE]])
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last.", examples=[_CURSOR_EXAMPLE]
    )


class RedeemRequest(InputSchema):
    client_id: uuid.UUID = Field(
        description="Generated by the app before the first attempt and reused on every retry, so that a "
        "retried redemption returns the same voucher instead of a second one.",
        examples=["6f1c2a9e-3b7d-4c85-9e0a-2d41f7b8c613"],
    )


class VoucherRead(Schema):
    id: int = Field(description="Voucher id.", examples=[5120])
    code: str = Field(
        description="Show it (or its QR) at the counter. Keep it private.", examples=["K7QM-4XZD-9PRT-2HWB"]
    )
    reward_id: int = Field(description="The reward.", examples=[27])
    reward_title: str = Field(description="The reward's title.", examples=["低碳咖啡一杯"])
    enterprise_name: str = Field(description="Where to use it.", examples=[_ENTERPRISE_NAME])
    price_g: int = Field(description="Grams paid.", examples=[2000])
    status: VoucherStatus = Field(description="issued, used, cancelled or expired.", examples=["issued"])
    issued_at: datetime = Field(description="Issued at.", examples=["2026-12-03T12:20:05+08:00"])
    expires_at: datetime = Field(description="Unusable after this.", examples=["2027-01-02T12:20:05+08:00"])
    used_at: datetime | None = Field(
        description="When the enterprise accepted it.", examples=[None, "2026-12-05T09:41:30+08:00"]
    )
    cancelled_at: datetime | None = Field(
        description="When it was cancelled and the credits came back.", examples=[None, "2026-12-04T18:02:11+08:00"]
    )


class RedemptionRead(Schema):
    voucher: VoucherRead = Field(description="The voucher.", examples=[_VOUCHER_EXAMPLE])
    balance_g: int = Field(description="The resident's balance afterwards.", examples=[10840])


class VoucherPage(Schema):
    items: list[VoucherRead] = Field(description="Newest first.", examples=[[_VOUCHER_EXAMPLE]])
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last.", examples=["eyJwIjogNTEyMH0"]
    )


class VoucherCheck(InputSchema):
    code: str = Field(
        min_length=1,
        max_length=64,
        description="The code the resident shows; dashes and case ignored.",
        examples=["K7QM-4XZD-9PRT-2HWB"],
    )


class VoucherAccepted(Schema):
    voucher_id: int = Field(description="Voucher id.", examples=[5120])
    reward_id: int = Field(description="The reward to hand over.", examples=[27])
    reward_title: str = Field(description="The reward's title.", examples=["低碳咖啡一杯"])
    price_g: int = Field(description="Grams the resident paid.", examples=[2000])
    used_at: datetime = Field(description="Accepted at.", examples=["2026-12-05T09:41:30+08:00"])


class RetirementCreate(InputSchema):
    client_id: uuid.UUID = Field(
        description="Generated before the first attempt and reused on retries.",
        examples=["0b9e5c7a-1d2f-4e3a-8b6c-5f4d3e2a1b0c"],
    )
    amount_g: int = Field(ge=1, le=10_000_000_000, description="Grams to retire.", examples=[50000])
    purpose: Purpose = Field(
        description="What the retirement offsets; printed on the certificate.",
        examples=[_PURPOSE],
    )
    beneficiary: Purpose | None = Field(
        default=None,
        description="On whose behalf, if not the enterprise's own.",
        examples=["国家会展中心（天津）"],
    )


class ProvenanceLine(Schema):
    behaviour_type: str = Field(description="The behaviour that earned the grams.", examples=["metro_ride"])
    factor_set: str = Field(description="The emission-factor set.", examples=["tianjin"])
    factor_version: str = Field(description="The version used to compute them.", examples=["2026.1"])
    grams: int = Field(description="Grams of this certificate from these behaviours.", examples=[50000])
    behaviours: int = Field(description="How many behaviour records they come from.", examples=[86])
    earned_from: date = Field(description="Earliest local date of those behaviours.", examples=["2026-11-02"])
    earned_until: date = Field(description="Latest local date of those behaviours.", examples=["2026-11-23"])


class CertificateRead(Schema):
    number: str = Field(description="Certificate number; anyone can check it.", examples=["TPH-2026-0000001234"])
    enterprise_id: int = Field(description="The enterprise that retired the credits.", examples=[12])
    enterprise_name: str = Field(
        description="The name of the enterprise that retired the credits.", examples=[_ENTERPRISE_NAME]
    )
    amount_g: int = Field(description="Grams of CO₂e retired for good.", examples=[50000])
    purpose: str = Field(description="What they offset.", examples=[_PURPOSE])
    beneficiary: str | None = Field(
        description="On whose behalf, if not the enterprise's own.", examples=[None, "国家会展中心（天津）"]
    )
    issued_at: datetime = Field(description="Retired at.", examples=["2026-11-24T10:15:00+08:00"])
    provenance: list[ProvenanceLine] = Field(
        description="The grams behind it by behaviour type and factor version.", examples=[[_PROVENANCE_EXAMPLE]]
    )


class CertificatePage(Schema):
    items: list[CertificateRead] = Field(description="Newest first.", examples=[[_CERTIFICATE_EXAMPLE]])


class EnterpriseCredits(Schema):
    enterprise_id: int = Field(description="Enterprise id.", examples=[12])
    name: str = Field(description="Registered name.", examples=[_ENTERPRISE_NAME])
    status: str = Field(description="pending, approved, rejected or suspended.", examples=["approved"])
    balance_g: int = Field(description="Grams held.", examples=[186000])
    outstanding_g: int = Field(
        description="Grams from vouchers not yet used, cancelled or expired: a cancelled voucher gives them back.",
        examples=[24000],
    )
    retirable_g: int = Field(description="Grams that can be retired now.", examples=[162000])
    retired_g: int = Field(description="Grams retired so far.", examples=[50000])
