"""What an enterprise reads of its books: its vouchers (never their codes) and its monthly statement."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from service.kit.schemas import Schema
from service.redemption.models import VoucherStatus

_REWARD_TITLE = "低碳咖啡一杯"
_ENTERPRISE_VOUCHER_EXAMPLE: dict[str, object] = {
    "id": 5120,
    "code_hint": "…2HWB",
    "reward_id": 27,
    "reward_title": _REWARD_TITLE,
    "price_g": 2000,
    "status": "used",
    "issued_at": "2026-12-03T12:20:05+08:00",
    "expires_at": "2027-01-02T12:20:05+08:00",
    "used_at": "2026-12-05T09:41:30+08:00",
    "cancelled_at": None,
    "expired_at": None,
}
_LINE_EXAMPLE: dict[str, object] = {
    "transfer_id": 88231,
    "at": "2026-12-03T12:20:05+08:00",
    "kind": "redemption",
    "amount_g": 2000,
    "balance_after_g": 188000,
    "voucher_id": 5120,
    "voucher_status": "used",
    "reward_title": _REWARD_TITLE,
    "certificate_number": None,
}


class EnterpriseVoucherRead(Schema):
    id: int = Field(description="Voucher id.", examples=[5120])
    code_hint: str = Field(
        description="The code's last four characters, to tell vouchers apart; the code itself is the resident's.",
        examples=["…2HWB"],
    )
    reward_id: int = Field(description="The reward.", examples=[27])
    reward_title: str = Field(description="The reward's title.", examples=[_REWARD_TITLE])
    price_g: int = Field(description="Grams the resident paid.", examples=[2000])
    status: VoucherStatus = Field(
        description="issued, used (accepted at the counter), cancelled or expired.", examples=["used"]
    )
    issued_at: datetime = Field(description="Issued at.", examples=["2026-12-03T12:20:05+08:00"])
    expires_at: datetime = Field(description="Unusable after this.", examples=["2027-01-02T12:20:05+08:00"])
    used_at: datetime | None = Field(
        description="When the counter accepted it.", examples=["2026-12-05T09:41:30+08:00", None]
    )
    cancelled_at: datetime | None = Field(
        description="When the resident cancelled it and the credits went back.", examples=[None]
    )
    expired_at: datetime | None = Field(description="When it expired unused.", examples=[None])


class EnterpriseVoucherPage(Schema):
    items: list[EnterpriseVoucherRead] = Field(description="Newest first.", examples=[[_ENTERPRISE_VOUCHER_EXAMPLE]])
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last.", examples=["eyJwIjogNTEyMH0"]
    )


class StatementLine(Schema):
    transfer_id: int = Field(description="The ledger transfer.", examples=[88231])
    at: datetime = Field(description="When it was booked.", examples=["2026-12-03T12:20:05+08:00"])
    kind: str = Field(
        description="redemption (a resident's credits for a voucher, in), refund (a cancelled voucher's "
        "credits, out), retirement (out, against a certificate), or another ledger transfer.",
        examples=["redemption"],
    )
    amount_g: int = Field(description="Grams in (positive) or out (negative).", examples=[2000])
    balance_after_g: int = Field(description="The balance it left.", examples=[188000])
    voucher_id: int | None = Field(description="The voucher of a redemption or refund.", examples=[5120])
    voucher_status: VoucherStatus | None = Field(
        description="That voucher's status now (as stored: one past its time may not be marked expired yet).",
        examples=["used"],
    )
    reward_title: str | None = Field(description="That voucher's reward.", examples=[_REWARD_TITLE])
    certificate_number: str | None = Field(
        description="The certificate of a retirement.", examples=[None, "TPH-2026-0000001234"]
    )


class StatementRead(Schema):
    enterprise_id: int = Field(description="Enterprise id.", examples=[12])
    enterprise_name: str = Field(description="Registered name.", examples=["天津津南绿色餐饮有限公司"])
    month: str = Field(description="The month, YYYY-MM, in Asia/Shanghai.", examples=["2026-12"])
    starts_at: datetime = Field(description="The month's first moment.", examples=["2026-12-01T00:00:00+08:00"])
    ends_at: datetime = Field(description="The next month's first moment.", examples=["2027-01-01T00:00:00+08:00"])
    opening_balance_g: int = Field(description="Balance when the month began.", examples=[186000])
    received_g: int = Field(
        description="Credits residents paid for vouchers redeemed this month (they arrive at redemption).",
        examples=[24000],
    )
    refunded_g: int = Field(description="Credits returned for vouchers cancelled this month.", examples=[2000])
    retired_g: int = Field(description="Credits retired this month, against certificates.", examples=[50000])
    other_in_g: int = Field(description="Any other credits in.", examples=[0])
    other_out_g: int = Field(description="Any other credits out.", examples=[0])
    closing_balance_g: int = Field(
        description="Balance when the month ended (or now, for the current month): the opening balance plus "
        "received and other in, less refunded, retired and other out; the sum of the lines.",
        examples=[158000],
    )
    vouchers_accepted: int = Field(description="Vouchers accepted at the counter this month.", examples=[11])
    accepted_g: int = Field(description="Grams of those vouchers.", examples=[22000])
    lines: list[StatementLine] = Field(
        description="Every transfer into or out of the enterprise's account this month, in ledger order; a page.",
        examples=[[_LINE_EXAMPLE]],
    )
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page of lines; null on the last.", examples=["eyJwIjogODgyMzF9"]
    )
