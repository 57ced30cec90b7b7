"""A staff user's own account security: password, two-factor sign-in (TOTP), sign-ins and sessions."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from service.accounts.models import SigninOutcome
from service.accounts.schemas import FAKE_PASSWORD
from service.kit.schemas import InputSchema, Schema

_FAKE_SECRET = "FAKEBASE32SECRETFORDOCSONLY23456"  # noqa: S105
_FAKE_URI = f"otpauth://totp/%E6%B5%B7%E6%B2%B3%E7%A2%B3%E6%99%AE%E6%83%A0:ops-lead?secret={_FAKE_SECRET}&issuer=%E6%B5%B7%E6%B2%B3%E7%A2%B3%E6%99%AE%E6%83%A0"
_RECOVERY_EXAMPLE = ["k7qm-4xzd-9prt-2hwb", "3bn8-vq2c-x7ke-m4rd"]
_CODE_DESCRIPTION = "The 6-digit code the authenticator app shows now; each code is accepted once."


class PasswordChange(InputSchema):
    current_password: str = Field(
        min_length=1, max_length=256, description="The password the user signs in with now.", examples=[FAKE_PASSWORD]
    )
    new_password: str = Field(
        min_length=12,
        max_length=256,
        description="At least 12 characters, and not common or guessable (else 422 PASSWORD_TOO_WEAK).",
        examples=["violet kettle harbour lantern"],
    )


class AccountSecurityRead(Schema):
    totp_enabled: bool = Field(description="Whether sign-in asks for a TOTP code.", examples=[True])
    totp_required: bool = Field(
        description="Whether this user must sign in with TOTP (administrators, in production).", examples=[True]
    )
    recovery_codes_left: int = Field(description="Unused recovery codes; 0 when TOTP is off.", examples=[9])


class TotpEnrolmentStarted(Schema):
    secret: str = Field(
        description="The shared secret in base32, for typing into an authenticator app that cannot scan.",
        examples=[_FAKE_SECRET],
    )
    otpauth_uri: str = Field(description="The otpauth:// URI the QR code holds.", examples=[_FAKE_URI])
    qr_svg: str = Field(
        description="The QR code of `otpauth_uri` as an SVG document, to show for the app to scan.",
        examples=['<svg xmlns="http://www.w3.org/2000/svg" width="185" height="185" class="segno">…</svg>'],
    )


class TotpCode(InputSchema):
    code: str = Field(pattern=r"^[0-9]{6}$", description=_CODE_DESCRIPTION, examples=["492039"])


class TotpProof(InputSchema):
    """One of the two: a current TOTP code, or the password."""

    code: str | None = Field(
        default=None, pattern=r"^[0-9]{6}$", description=_CODE_DESCRIPTION + " Or send `password`.", examples=["492039"]
    )
    password: str | None = Field(
        default=None,
        min_length=1,
        max_length=256,
        description="The user's password, instead of `code`.",
        examples=[FAKE_PASSWORD],
    )


class RecoveryCodes(Schema):
    recovery_codes: list[str] = Field(
        description="Ten one-time codes, each of which signs in once in place of a TOTP code. Shown this once: "
        "the service keeps only their hashes.",
        examples=[_RECOVERY_EXAMPLE],
    )


class StaffSigninRead(Schema):
    id: int = Field(description="Attempt id.", examples=[4182])
    at: datetime = Field(description="When.", examples=["2026-12-06T09:02:47+08:00"])
    outcome: SigninOutcome = Field(
        description="signed_in, wrong_password, account_disabled, totp_required (the password was right, no "
        "code was sent) or totp_invalid.",
        examples=["signed_in"],
    )
    second_factor: str | None = Field(
        description="On a sign-in that passed two-factor: `totp` or `recovery_code`.", examples=["totp"]
    )
    address: str = Field(description="The client's IP address.", examples=["203.0.113.24"])
    user_agent: str | None = Field(
        description="The client's User-Agent header.", examples=["Mozilla/5.0 (Windows NT 10.0; Win64; x64)"]
    )


class StaffSigninPage(Schema):
    items: list[StaffSigninRead] = Field(description="Newest first.", examples=[[]])
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last.", examples=["eyJwIjogNDE4MX0", None]
    )


class StaffSessionRead(Schema):
    id: int = Field(description="Session id, for DELETE /v1/staff/me/sessions/{session_id}.", examples=[311])
    signed_in_at: datetime = Field(description="When the user signed in.", examples=["2026-12-06T09:02:47+08:00"])
    last_used_at: datetime = Field(
        description="When its tokens were last issued (the sign-in or the latest refresh).",
        examples=["2026-12-06T11:40:03+08:00"],
    )
    address: str = Field(description="The IP address it signed in from.", examples=["203.0.113.24"])
    user_agent: str | None = Field(
        description="The User-Agent it signed in with.", examples=["Mozilla/5.0 (Windows NT 10.0; Win64; x64)"]
    )
    current: bool = Field(description="Whether this is the session the request came from.", examples=[True])


class StaffSessionPage(Schema):
    items: list[StaffSessionRead] = Field(description="Active sessions, newest sign-in first.", examples=[[]])
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last.", examples=["eyJwIjogMzExfQ", None]
    )
