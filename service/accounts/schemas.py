from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, StringConstraints, WithJsonSchema

from service.accounts.models import CommunityKind, OrganisationKind, Role
from service.kit.schemas import ID_MAX, InputSchema, Schema, refuse_null

Nickname = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32, pattern=r"^[^\x00-\x1f\x7f]+$")
]
Username = Annotated[
    str,
    BeforeValidator(lambda value: value.strip().lower() if isinstance(value, str) else value),
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{2,63}$"),
    # as written: the service reads it in lower case, without surrounding spaces
    WithJsonSchema({"type": "string", "pattern": r"^\s*[A-Za-z0-9][A-Za-z0-9._-]{2,63}\s*$"}),
]


_DEVICE_ID_DESCRIPTION = (
    "A random id the app makes once and keeps in its storage (wx.setStorageSync); it lets operators see many "
    "accounts run from one phone. Optional."
)
_DEVICE_ID_EXAMPLE = "d7c0a0e2-6f1f-4f7e-9a51-3f0d6b1c2e44"

DeviceId = Annotated[
    str,
    Field(pattern=r"^[A-Za-z0-9._:-]{8,128}$", description=_DEVICE_ID_DESCRIPTION, examples=[_DEVICE_ID_EXAMPLE]),
]

# Example values for the OpenAPI document (the mobile docs), shared where a model nests another. The
# tokens and password are obviously fake placeholders, never credentials.
_FAKE_ACCESS_TOKEN = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJyZXNpZGVudDo0MiJ9.c2lnbmF0dXJl"  # noqa: S105
_FAKE_REFRESH_TOKEN = "FAKE-refresh-token-for-docs-only-0000000000"  # noqa: S105
FAKE_PASSWORD = "correct-horse-battery-staple"  # noqa: S105
_RESIDENT_ID_EXAMPLE = "5b0e8f3c-2a6d-4c1e-9f47-8d3b2a1c0e95"
_COMMUNITY_EXAMPLE: dict[str, Any] = {
    "id": 1,
    "code": "xianshuigu",
    "name_zh": "咸水沽镇",
    "name_en": "Xianshuigu Town",
    "kind": "town",
}
_ORGANISATION_EXAMPLE: dict[str, Any] = {
    "id": 1,
    "code": "nankai-jinnan",
    "name_zh": "南开大学津南校区",
    "name_en": "Nankai University, Jinnan Campus",
    "kind": "school",
    "community_id": 11,
}
_RESIDENT_EXAMPLE: dict[str, Any] = {
    "id": _RESIDENT_ID_EXAMPLE,
    "nickname": "张晓丰",
    "community": _COMMUNITY_EXAMPLE,
    "organisation": _ORGANISATION_EXAMPLE,
    "leaderboard_visible": True,
    "created_at": "2026-11-23T08:15:00+08:00",
}
_SESSION_EXAMPLE: dict[str, Any] = {
    "family_id": "3f6c1a2e-9b8d-4e7f-a1c2-5d4e3f2a1b0c",
    "signed_in_at": "2026-11-23T08:15:00+08:00",
    "last_refreshed_at": "2026-11-24T07:42:10+08:00",
    "active": True,
}


class WechatSignIn(InputSchema):
    code: str = Field(
        min_length=1,
        max_length=128,
        description="The code returned by `wx.login()` in the mini-program.",
        examples=["0a3Xk9000mZb1T1qQz300Abc2D1Xk90F"],
    )
    device_id: DeviceId | None = Field(default=None, description=_DEVICE_ID_DESCRIPTION, examples=[_DEVICE_ID_EXAMPLE])


class DevSignIn(InputSchema):
    name: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Any name; the same name signs in as the same resident. Development only.",
        examples=["zhangsan", "tester-01"],
    )
    device_id: DeviceId | None = Field(default=None, description=_DEVICE_ID_DESCRIPTION, examples=[_DEVICE_ID_EXAMPLE])


class PasswordSignIn(InputSchema):
    username: Username = Field(description="Enterprise or administrator username.", examples=["jinnan-green-cafe"])
    password: str = Field(min_length=1, max_length=256, description="Password.", examples=[FAKE_PASSWORD])
    totp_code: str | None = Field(
        default=None,
        pattern=r"^[0-9]{6}$",
        description="For a user with two-factor sign-in: the 6-digit code their authenticator app shows now. "
        "Without it (or `recovery_code`) such a user gets 401 TOTP_REQUIRED once the password checks out.",
        examples=["492039"],
    )
    recovery_code: str | None = Field(
        default=None,
        min_length=16,
        max_length=40,
        pattern=r"^[A-Za-z0-9\s-]+$",
        description="Instead of `totp_code`: one of the user's one-time recovery codes; each works once.",
        examples=["k7qm-4xzd-9prt-2hwb"],
    )


class RefreshRequest(InputSchema):
    refresh_token: str = Field(
        min_length=16,
        max_length=256,
        description="The refresh token from the last sign-in or refresh.",
        examples=[_FAKE_REFRESH_TOKEN],
    )


class TokenPair(Schema):
    access_token: str = Field(description="Send as `Authorization: Bearer <token>`.", examples=[_FAKE_ACCESS_TOKEN])
    token_type: Literal["Bearer"] = Field(default="Bearer", description="Always `Bearer`.", examples=["Bearer"])
    expires_in: int = Field(description="Seconds until the access token expires.", examples=[600])
    refresh_token: str = Field(
        description="Single use: exchange it at /v1/auth/refresh for a new pair.", examples=[_FAKE_REFRESH_TOKEN]
    )
    refresh_expires_in: int = Field(description="Seconds until the refresh token expires.", examples=[2592000])
    role: Role = Field(description="The role the tokens carry.", examples=["resident"])
    totp_enrolment_required: bool = Field(
        default=False,
        description="An administrator who must sign in with TOTP and has not set it up: these tokens reach only "
        "/v1/staff/me and /v1/staff/me/* (everything else answers 403 TOTP_ENROLMENT_REQUIRED) until TOTP is "
        "set up and the tokens are refreshed.",
        examples=[False],
    )


class CommunityRead(Schema):
    id: int = Field(description="Community id.", examples=[1])
    code: str = Field(description="Stable code.", examples=["xianshuigu"])
    name_zh: str = Field(description="Name in Chinese.", examples=["咸水沽镇"])
    name_en: str = Field(description="Name in English.", examples=["Xianshuigu Town"])
    kind: CommunityKind = Field(description="town (镇), street (街道) or area (园区/片区).", examples=["town"])


class OrganisationRead(Schema):
    id: int = Field(description="Organisation id.", examples=[1])
    code: str = Field(description="Stable code.", examples=["nankai-jinnan"])
    name_zh: str = Field(description="Name in Chinese.", examples=["南开大学津南校区"])
    name_en: str = Field(description="Name in English.", examples=["Nankai University, Jinnan Campus"])
    kind: OrganisationKind = Field(description="school, enterprise or public_institution.", examples=["school"])
    community_id: int | None = Field(description="The community it sits in, if any.", examples=[11])


class OrganisationCreate(InputSchema):
    code: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{1,63}$", description="Stable code.", examples=["xianshuigu-no1-middle"]
    )
    name_zh: str = Field(min_length=1, max_length=128, description="Name in Chinese.", examples=["咸水沽第一中学"])
    name_en: str = Field(
        min_length=1, max_length=128, description="Name in English.", examples=["Xianshuigu No. 1 Middle School"]
    )
    kind: OrganisationKind = Field(description="school, enterprise or public_institution.", examples=["school"])
    community_id: int | None = Field(
        default=None, ge=1, le=ID_MAX, description="The community it sits in, if any.", examples=[1]
    )


class ResidentRead(Schema):
    id: uuid.UUID = Field(description="The resident's public id.", examples=[_RESIDENT_ID_EXAMPLE])
    nickname: str | None = Field(description="Nickname; null until set.", examples=["张晓丰"])
    handle: str = Field(
        description="The resident's public pseudonym on the boards: what others look them up by, and what "
        "/v1/leaderboards/residents/{handle} takes.",
        examples=["r-3fa85f6457174562"],
    )
    community: CommunityRead | None = Field(
        description="The resident's community, if chosen.", examples=[_COMMUNITY_EXAMPLE]
    )
    organisation: OrganisationRead | None = Field(
        description="The resident's organisation, if chosen.", examples=[_ORGANISATION_EXAMPLE]
    )
    leaderboard_visible: bool = Field(
        description="Whether the resident appears on public leaderboards.", examples=[True]
    )
    created_at: datetime = Field(
        description="When the resident first signed in.", examples=["2026-11-23T08:15:00+08:00"]
    )


class ResidentUpdate(InputSchema):
    nickname: Nickname | None = Field(default=None, description="1–32 characters.", examples=["张晓丰"])
    community_id: int | None = Field(
        default=None, ge=1, le=ID_MAX, description="A community id from /v1/communities.", examples=[1]
    )
    organisation_id: int | None = Field(
        default=None, ge=1, le=ID_MAX, description="An organisation id from /v1/organisations.", examples=[1]
    )
    leaderboard_visible: bool | None = Field(
        default=None, description="Show me on public leaderboards.", examples=[True]
    )


class SessionRead(Schema):
    family_id: uuid.UUID = Field(
        description="One sign-in and the refreshes that followed it.",
        examples=["3f6c1a2e-9b8d-4e7f-a1c2-5d4e3f2a1b0c"],
    )
    signed_in_at: datetime = Field(description="When the sign-in happened.", examples=["2026-11-23T08:15:00+08:00"])
    last_refreshed_at: datetime = Field(
        description="When its tokens were last refreshed.", examples=["2026-11-24T07:42:10+08:00"]
    )
    active: bool = Field(description="Whether it can still be refreshed.", examples=[True])


class DeviceRead(Schema):
    device_id: str = Field(description=_DEVICE_ID_DESCRIPTION, examples=[_DEVICE_ID_EXAMPLE])
    first_seen: datetime = Field(description="The first sign-in from it.", examples=["2026-11-23T08:15:00+08:00"])
    last_seen: datetime = Field(description="The latest sign-in from it.", examples=["2026-11-24T07:42:10+08:00"])


class UserCreate(InputSchema):
    username: Username = Field(
        description="3–64 characters: a-z, 0-9, dot, underscore, hyphen.", examples=["jinnan-green-cafe"]
    )
    password: str = Field(
        min_length=12,
        max_length=256,
        description="At least 12 characters, and not common or guessable (else 422 PASSWORD_TOO_WEAK).",
        examples=[FAKE_PASSWORD],
    )
    display_name: str = Field(min_length=1, max_length=64, description="Shown in the audit log.", examples=["王经理"])
    role: Literal[Role.enterprise, Role.admin_auditor, Role.admin_operator, Role.admin_super] = Field(
        description="enterprise, admin-auditor, admin-operator or admin-super.", examples=["enterprise"]
    )
    enterprise_id: int | None = Field(
        default=None, ge=1, le=ID_MAX, description="Required for the enterprise role.", examples=[3]
    )
    scope_community_id: int | None = Field(
        default=None,
        ge=1,
        le=ID_MAX,
        description=(
            "For an auditor or operator only: the community (from /v1/communities) the user is kept to, a town "
            "or community officer who reaches that community's residents only. Absent: the whole district."
        ),
        examples=[1],
    )


class UserRead(Schema):
    id: int = Field(description="User id.", examples=[7])
    username: str = Field(description="Username.", examples=["jinnan-green-cafe"])
    display_name: str = Field(description="Display name.", examples=["王经理"])
    role: Role = Field(description="Role.", examples=["enterprise"])
    enterprise_id: int | None = Field(description="The user's enterprise, for the enterprise role.", examples=[3])
    created_at: datetime = Field(description="Created at.", examples=["2026-11-20T10:30:00+08:00"])
    last_login_at: datetime | None = Field(
        description="Last successful sign-in.", examples=["2026-11-24T09:02:47+08:00"]
    )
    disabled: bool = Field(description="Whether the account is disabled.", examples=[False])
    scope: CommunityRead | None = Field(
        description="The community an administrator is kept to; null: the whole district.",
        examples=[_COMMUNITY_EXAMPLE],
    )


class UserPage(Schema):
    items: list[UserRead] = Field(
        description="By id, oldest first.",
        examples=[
            [
                {
                    "id": 7,
                    "username": "xsg-ops",
                    "display_name": "咸水沽镇运营",
                    "role": "admin-operator",
                    "enterprise_id": None,
                    "created_at": "2026-11-20T10:30:00+08:00",
                    "last_login_at": "2026-11-24T09:02:47+08:00",
                    "disabled": False,
                    "scope": _COMMUNITY_EXAMPLE,
                }
            ]
        ],
    )
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last.", examples=["eyJwIjogN30"]
    )


class UserUpdate(InputSchema):
    disabled: bool | None = Field(
        default=None,
        description="True to disable the account and sign it out everywhere, false to enable it again.",
        examples=[True],
    )
    scope_community_id: int | None = Field(
        default=None,
        ge=1,
        le=ID_MAX,
        description=(
            "An auditor's or operator's community (from /v1/communities), or null for the whole district. "
            "A change signs the user out everywhere. Leave it out to keep the scope as it is."
        ),
        examples=[1],
    )

    _not_null = refuse_null("disabled")


class StaffWhoAmI(Schema):
    id: int = Field(description="User id.", examples=[7])
    username: str = Field(description="Username.", examples=["jinnan-green-cafe"])
    display_name: str = Field(description="Display name.", examples=["王经理"])
    role: Role = Field(description="Role.", examples=["enterprise"])
    enterprise_id: int | None = Field(description="Enterprise id, for the enterprise role.", examples=[3])
    scope: CommunityRead | None = Field(
        default=None,
        description="The community an administrator is kept to; null: the whole district (or not an administrator).",
        examples=[_COMMUNITY_EXAMPLE],
    )


class Jwks(Schema):
    keys: list[dict[str, str]] = Field(
        description="Ed25519 public keys (RFC 8037) that sign access tokens.",
        examples=[
            [
                {
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "kid": "2026-11",
                    "use": "sig",
                    "alg": "EdDSA",
                    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
                }
            ]
        ],
    )


class FreezeRequest(InputSchema):
    reason: str = Field(
        min_length=1,
        max_length=500,
        description="Why; kept in the admin action log.",
        examples=["同一设备一小时内注册 30 个账号，疑似刷分。"],
    )


class FrozenRead(Schema):
    resident_id: uuid.UUID = Field(description="The resident's public id.", examples=[_RESIDENT_ID_EXAMPLE])
    frozen: bool = Field(description="Whether the resident is frozen now.", examples=[True])
    frozen_at: datetime | None = Field(description="Since when.", examples=["2026-11-24T11:30:00+08:00"])
    reason: str | None = Field(description="Why.", examples=["同一设备一小时内注册 30 个账号，疑似刷分。"])
