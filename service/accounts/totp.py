"""Time-based one-time passwords (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits), the QR code an
authenticator app enrols from, and one-time recovery codes.

A code is accepted for the current step or one step either side (a phone's clock may be off by half a
minute), and only for a step later than the last one accepted: no code works twice. Recovery codes hold
80 random bits each, so their SHA-256 is all that needs storing.
"""

from __future__ import annotations

import hmac
import io
import re
import secrets
import time

import pyotp
import segno

from service.kit.secrets import sha256

ISSUER = "海河碳普惠"
STEP_S = 30
DIGITS = 6
RECOVERY_CODES = 10
# Lower case letters and digits without the look-alikes (i, l, o, u): 32 symbols, 5 bits each.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstvwxyz0123456789"
_RECOVERY_GROUPS, _RECOVERY_GROUP_LENGTH = 4, 4
_CODE = re.compile(rf"^[0-9]{{{DIGITS}}}$")


def new_secret() -> str:
    """A fresh shared secret: 160 random bits in base32, as RFC 4226 recommends."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, *, username: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_S).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The URI as a QR code in SVG, black on transparent, sized for a screen."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=5, border=2, xmldecl=False)
    return out.getvalue().decode()


def matching_step(secret: str, code: str, *, after: int | None, now: float | None = None) -> int | None:
    """The time step `code` is right for, within one step of now and later than `after`; None when none is."""
    code = code.strip()
    if _CODE.fullmatch(code) is None:
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_S)
    current = totp.timecode(time.time() if now is None else now)
    for step in (current - 1, current, current + 1):
        if (after is None or step > after) and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_recovery_codes() -> list[str]:
    """Ten codes like `k7qm-4xzd-9prt-2hwb`."""
    return [
        "-".join(
            "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_GROUP_LENGTH))
            for _ in range(_RECOVERY_GROUPS)
        )
        for _ in range(RECOVERY_CODES)
    ]


def recovery_code_hash(code: str) -> bytes:
    """The stored form of a recovery code, however the user typed its case, spaces and hyphens."""
    return sha256(re.sub(r"[\s-]", "", code).lower())
