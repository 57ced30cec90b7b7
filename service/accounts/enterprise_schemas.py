"""Enterprises' API shapes: applying to join, onboarding and review."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints

from service.accounts.models import EnterpriseStatus
from service.accounts.schemas import FAKE_PASSWORD
from service.kit.schemas import InputSchema, Schema


class EnterpriseCreate(InputSchema):
    name: str = Field(
        min_length=1,
        max_length=128,
        description="The enterprise's registered name.",
        examples=["天津津南绿色餐饮有限公司"],
    )


class EnterpriseRead(Schema):
    id: int = Field(description="Enterprise id.", examples=[3])
    name: str = Field(description="Registered name.", examples=["天津津南绿色餐饮有限公司"])
    status: EnterpriseStatus = Field(description="pending, approved, rejected or suspended.", examples=["approved"])
    created_at: datetime = Field(description="Created at.", examples=["2026-11-18T14:20:00+08:00"])


class EnterpriseApplication(EnterpriseRead):
    username: str = Field(
        description="The username the service gave the enterprise's first user, to sign in with; shown here "
        "and at /v1/staff/me. Chosen by the service, so that applying reveals nothing about other users.",
        examples=["ent-k3v9q2xw7m"],
    )


ChinaMobile = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^1[3-9][0-9]{9}$")]


class EnterpriseRegister(InputSchema):
    name: str = Field(
        min_length=2,
        max_length=128,
        description="The enterprise's registered name.",
        examples=["天津津南绿色餐饮有限公司"],
    )
    credit_code: str = Field(
        pattern=r"^[0-9A-Z]{18}$",
        description="Unified social credit code (统一社会信用代码), 18 characters.",
        examples=["91120112MA05KXYZ3B"],
    )
    contact_name: str = Field(
        min_length=1, max_length=64, description="Who to contact about the application.", examples=["王*明"]
    )
    contact_phone: ChinaMobile = Field(
        description="Contact's mobile number; seen only by administrators.", examples=["13800000000"]
    )
    password: str = Field(
        min_length=12,
        max_length=256,
        description="The first user's password: at least 12 characters, and not common or guessable (else 422 "
        "PASSWORD_TOO_WEAK).",
        examples=[FAKE_PASSWORD],
    )
    display_name: str = Field(
        min_length=1, max_length=64, description="The first user's display name.", examples=["王经理"]
    )


class EnterpriseReviewDecision(StrEnum):
    approve = "approve"
    reject = "reject"
    suspend = "suspend"
    reinstate = "reinstate"


class EnterpriseReview(InputSchema):
    decision: EnterpriseReviewDecision = Field(
        description="approve or reject a pending application; suspend an approved enterprise; reinstate a "
        "suspended or rejected one.",
        examples=["approve"],
    )
    reason: str = Field(
        min_length=1,
        max_length=500,
        description="Why; kept with the enterprise.",
        examples=["营业执照与统一社会信用代码核验一致。"],
    )


class EnterpriseAdminRead(EnterpriseRead):
    credit_code: str | None = Field(description="Unified social credit code.", examples=["91120112MA05KXYZ3B"])
    contact_name: str | None = Field(description="Contact person.", examples=["王*明"])
    contact_phone: str | None = Field(description="Contact's mobile number.", examples=["13800000000"])
    reviewed_at: datetime | None = Field(
        description="When it was last reviewed.", examples=["2026-11-19T16:45:00+08:00"]
    )
    reviewed_by: str | None = Field(description="Who reviewed it last.", examples=["ops-liu"])
    review_reason: str | None = Field(
        description="The reason given with the last review.", examples=["营业执照与统一社会信用代码核验一致。"]
    )


class EnterprisePage(Schema):
    items: list[EnterpriseAdminRead] = Field(
        description="By id, oldest first: applications in the order they came.",
        examples=[
            [
                {
                    "id": 3,
                    "name": "天津津南绿色餐饮有限公司",
                    "status": "pending",
                    "created_at": "2026-11-18T14:20:00+08:00",
                    "credit_code": "91120112MA05KXYZ3B",
                    "contact_name": "王*明",
                    "contact_phone": "13800000000",
                    "reviewed_at": None,
                    "reviewed_by": None,
                    "review_reason": None,
                }
            ]
        ],
    )
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last.", examples=["eyJwIjogM30"]
    )


class EnterpriseApplicationStatus(EnterpriseRead):
    credit_code: str | None = Field(description="Unified social credit code.", examples=["91120112MA05KXYZ3B"])
    contact_name: str | None = Field(description="Who to contact about the application.", examples=["王*明"])
    reviewed_at: datetime | None = Field(description="When an operator last decided.", examples=[None])
    review_reason: str | None = Field(
        description="The reason the operator gave with that decision (why it was rejected, say).",
        examples=[None, "统一社会信用代码与营业执照不一致，请核对后重新申请。"],
    )
