"""The ledger's API shapes: balances, expiring credits and reversals."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from service.kit.schemas import InputSchema, Schema


class BalanceRead(Schema):
    balance_g: int = Field(description="Grams of CO₂e credit the resident holds.", examples=[12840])
    credited_total_g: int = Field(
        description="Grams ever credited to the resident: a reversal or a voucher refund does not change it.",
        examples=[15230],
    )


class ExpiringDay(Schema):
    expires_on: date = Field(description="Local date (Asia/Shanghai) on which they expire.", examples=["2028-11-23"])
    grams: int = Field(description="Grams expiring that day.", examples=[1170])


class ExpiringRead(Schema):
    validity_months: int = Field(description="Credits are valid this many months from issue.", examples=[24])
    within_days: int = Field(description="The window asked for.", examples=[90])
    total_g: int = Field(description="Grams expiring within the window.", examples=[1755])
    days: list[ExpiringDay] = Field(
        description="By day, soonest first.",
        examples=[[{"expires_on": "2028-11-23", "grams": 1170}, {"expires_on": "2028-12-02", "grams": 585}]],
    )


class ReversalCreate(InputSchema):
    reason: str = Field(
        min_length=1,
        max_length=500,
        description="Why the credit is taken back; kept with it.",
        examples=["Duplicate of a partner record (ticket 2026-1187)."],
    )


class ReversalRead(Schema):
    reversal_transfer_id: int = Field(description="The compensating transfer.", examples=[5121])
    reverses_transfer_id: int = Field(description="The transfer it compensates.", examples=[5120])
