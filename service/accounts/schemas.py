from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, StringConstraints

from service.accounts.models import CommunityKind, EnterpriseStatus, OrganisationKind, PartnerKind, Role
from service.kit.schemas import InputSchema, Schema

Nickname = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32, pattern=r"^[^\x00-\x1f\x7f]+$")
]
Username = Annotated[
    str,
    BeforeValidator(lambda value: value.strip().lower() if isinstance(value, str) else value),
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{2,63}$"),
]


DeviceId = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9._:-]{8,128}$",
        description="A random id the app makes once and keeps in its storage (wx.setStorageSync); it lets "
        "operators see many accounts run from one phone. Optional.",
        examples=["d7c0a0e2-6f1f-4f7e-9a51-3f0d6b1c2e44"],
    ),
]


class WechatSignIn(InputSchema):
    code: str = Field(
        min_length=1, max_length=128, description="The code returned by `wx.login()` in the mini-program."
    )
    device_id: DeviceId | None = None


class DevSignIn(InputSchema):
    name: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Any name; the same name signs in as the same resident. Development only.",
    )
    device_id: DeviceId | None = None


class PasswordSignIn(InputSchema):
    username: Username = Field(description="Enterprise or administrator username.")
    password: str = Field(min_length=1, max_length=256, description="Password.")


class RefreshRequest(InputSchema):
    refresh_token: str = Field(
        min_length=16, max_length=256, description="The refresh token from the last sign-in or refresh."
    )


class TokenPair(Schema):
    access_token: str = Field(description="Send as `Authorization: Bearer <token>`.")
    token_type: Literal["Bearer"] = Field(default="Bearer", description="Always `Bearer`.")
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str = Field(description="Single use: exchange it at /v1/auth/refresh for a new pair.")
    refresh_expires_in: int = Field(description="Seconds until the refresh token expires.")
    role: Role = Field(description="The role the tokens carry.")


class CommunityRead(Schema):
    id: int = Field(description="Community id.")
    code: str = Field(description="Stable code.")
    name_zh: str = Field(description="Name in Chinese.")
    name_en: str = Field(description="Name in English.")
    kind: CommunityKind = Field(description="town (镇), street (街道) or area (园区/片区).")


class OrganisationRead(Schema):
    id: int = Field(description="Organisation id.")
    code: str = Field(description="Stable code.")
    name_zh: str = Field(description="Name in Chinese.")
    name_en: str = Field(description="Name in English.")
    kind: OrganisationKind = Field(description="school, enterprise or public_institution.")
    community_id: int | None = Field(description="The community it sits in, if any.")


class OrganisationCreate(InputSchema):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{1,63}$", description="Stable code.")
    name_zh: str = Field(min_length=1, max_length=128, description="Name in Chinese.")
    name_en: str = Field(min_length=1, max_length=128, description="Name in English.")
    kind: OrganisationKind = Field(description="school, enterprise or public_institution.")
    community_id: int | None = Field(default=None, description="The community it sits in, if any.")


class ResidentRead(Schema):
    id: uuid.UUID = Field(description="The resident's public id.")
    nickname: str | None = Field(description="Nickname; null until set.")
    community: CommunityRead | None = Field(description="The resident's community, if chosen.")
    organisation: OrganisationRead | None = Field(description="The resident's organisation, if chosen.")
    leaderboard_visible: bool = Field(description="Whether the resident appears on public leaderboards.")
    created_at: datetime = Field(description="When the resident first signed in.")


class ResidentUpdate(InputSchema):
    nickname: Nickname | None = Field(default=None, description="1–32 characters.")
    community_id: int | None = Field(default=None, description="A community id from /v1/communities.")
    organisation_id: int | None = Field(default=None, description="An organisation id from /v1/organisations.")
    leaderboard_visible: bool | None = Field(default=None, description="Show me on public leaderboards.")


class SessionRead(Schema):
    family_id: uuid.UUID = Field(description="One sign-in and the refreshes that followed it.")
    signed_in_at: datetime = Field(description="When the sign-in happened.")
    last_refreshed_at: datetime = Field(description="When its tokens were last refreshed.")
    active: bool = Field(description="Whether it can still be refreshed.")


class ResidentExport(Schema):
    exported_at: datetime = Field(description="When this export was made.")
    profile: ResidentRead = Field(description="The resident's profile.")
    wechat_openid: str | None = Field(description="The WeChat openid the account is tied to; shown only to its owner.")
    sessions: list[SessionRead] = Field(description="Every sign-in of this account.")


class UserCreate(InputSchema):
    username: Username = Field(description="3–64 characters: a-z, 0-9, dot, underscore, hyphen.")
    password: str = Field(min_length=12, max_length=256, description="At least 12 characters.")
    display_name: str = Field(min_length=1, max_length=64, description="Shown in the audit log.")
    role: Literal[Role.enterprise, Role.admin_auditor, Role.admin_operator, Role.admin_super] = Field(
        description="enterprise, admin-auditor, admin-operator or admin-super."
    )
    enterprise_id: int | None = Field(default=None, description="Required for the enterprise role.")


class UserRead(Schema):
    id: int = Field(description="User id.")
    username: str = Field(description="Username.")
    display_name: str = Field(description="Display name.")
    role: Role = Field(description="Role.")
    enterprise_id: int | None = Field(description="The user's enterprise, for the enterprise role.")
    created_at: datetime = Field(description="Created at.")
    last_login_at: datetime | None = Field(description="Last successful sign-in.")
    disabled: bool = Field(description="Whether the account is disabled.")


class UserDisable(InputSchema):
    disabled: bool = Field(description="True to disable the account and sign it out everywhere.")


class EnterpriseCreate(InputSchema):
    name: str = Field(min_length=1, max_length=128, description="The enterprise's registered name.")


class EnterpriseRead(Schema):
    id: int = Field(description="Enterprise id.")
    name: str = Field(description="Registered name.")
    status: EnterpriseStatus = Field(description="pending, approved, rejected or suspended.")
    created_at: datetime = Field(description="Created at.")


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
    contact_name: str = Field(min_length=1, max_length=64, description="Who to contact about the application.")
    contact_phone: ChinaMobile = Field(description="Contact's mobile number; seen only by administrators.")
    username: Username = Field(description="Username of the enterprise's first user.", examples=["jinnan-green-cafe"])
    password: str = Field(min_length=12, max_length=256, description="At least 12 characters.")
    display_name: str = Field(min_length=1, max_length=64, description="The first user's display name.")


class EnterpriseReviewDecision(StrEnum):
    approve = "approve"
    reject = "reject"
    suspend = "suspend"
    reinstate = "reinstate"


class EnterpriseReview(InputSchema):
    decision: EnterpriseReviewDecision = Field(
        description="approve or reject a pending application; suspend an approved enterprise; reinstate a "
        "suspended or rejected one."
    )
    reason: str = Field(min_length=1, max_length=500, description="Why; kept with the enterprise.")


class EnterpriseAdminRead(EnterpriseRead):
    credit_code: str | None = Field(description="Unified social credit code.")
    contact_name: str | None = Field(description="Contact person.")
    contact_phone: str | None = Field(description="Contact's mobile number.")
    reviewed_at: datetime | None = Field(description="When it was last reviewed.")
    reviewed_by: str | None = Field(description="Who reviewed it last.")
    review_reason: str | None = Field(description="The reason given with the last review.")


class PartnerCreate(InputSchema):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{1,31}$", description="Stable code, e.g. `jinnan-metro-card`.")
    name: str = Field(min_length=1, max_length=128, description="Display name.")
    kind: PartnerKind = Field(description="What the partner reports.")


class PartnerRead(Schema):
    id: int = Field(description="Partner id.")
    code: str = Field(description="Stable code.")
    name: str = Field(description="Display name.")
    kind: PartnerKind = Field(description="What the partner reports.")
    created_at: datetime = Field(description="Created at.")
    disabled: bool = Field(description="Whether the partner is disabled.")


class PartnerKeyRead(Schema):
    key_id: str = Field(description="Sent in X-Tanpuhui-Key-Id.")
    created_at: datetime = Field(description="Created at.")
    revoked_at: datetime | None = Field(description="When it was revoked, if it was.")


class PartnerKeyIssued(Schema):
    partner_id: int = Field(description="Partner id.")
    key_id: str = Field(description="Sent in X-Tanpuhui-Key-Id.")
    secret: str = Field(description="The HMAC secret. Shown once; store it in the partner's secret manager.")


class PartnerWhoAmI(Schema):
    partner_id: int = Field(description="Partner id.")
    code: str = Field(description="Partner code.")
    key_id: str = Field(description="The key that signed this request.")
    server_time: datetime = Field(description="The server's clock, to check the partner's.")


class StaffWhoAmI(Schema):
    id: int = Field(description="User id.")
    username: str = Field(description="Username.")
    display_name: str = Field(description="Display name.")
    role: Role = Field(description="Role.")
    enterprise_id: int | None = Field(description="Enterprise id, for the enterprise role.")


class Jwks(Schema):
    keys: list[dict[str, str]] = Field(description="Ed25519 public keys (RFC 8037) that sign access tokens.")


class FreezeRequest(InputSchema):
    reason: str = Field(min_length=1, max_length=500, description="Why; kept in the admin action log.")


class FrozenRead(Schema):
    resident_id: uuid.UUID = Field(description="The resident's public id.")
    frozen: bool = Field(description="Whether the resident is frozen now.")
    frozen_at: datetime | None = Field(description="Since when.")
    reason: str | None = Field(description="Why.")
