"""The ledger's API shapes: balances, expiring credits and reversals."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

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


_ENTRY_EXAMPLE = {
    "id": 2087,
    "transfer_id": 1043,
    "kind": "issuance",
    "amount_g": 585,
    "created_at": "2026-11-23T08:33:04+08:00",
    "behaviour_id": 48213,
    "reverses_transfer_id": None,
    "reason": None,
}


class AccountEntryRead(Schema):
    id: int = Field(description="Ledger entry id.", examples=[2087])
    transfer_id: int = Field(description="The transfer it is one side of.", examples=[1043])
    kind: Literal["issuance", "reversal", "redemption", "refund", "retirement", "expiry", "transfer"] = Field(
        description="The transfer's kind.", examples=["issuance"]
    )
    amount_g: int = Field(description="Grams into the account (positive) or out of it (negative).", examples=[585])
    created_at: datetime = Field(description="When it was written.", examples=["2026-11-23T08:33:04+08:00"])
    behaviour_id: int | None = Field(description="The behaviour behind a credit or its reversal.", examples=[48213])
    reverses_transfer_id: int | None = Field(
        description="The transfer a reversal or refund compensates.", examples=[None]
    )
    reason: str | None = Field(description="The reason kept with a reversal.", examples=[None])


class AccountEntryPage(Schema):
    items: list[AccountEntryRead] = Field(description="Newest first.", examples=[[_ENTRY_EXAMPLE]])
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last.", examples=["eyJwIjogMjA4N30"]
    )
