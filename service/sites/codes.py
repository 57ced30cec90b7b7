"""The site code, format v1: what a site's screen shows and a resident's report carries.

    bytes    field                                  encoding
    [0]      format version, 1                      uint8
    [1:5]    site id                                uint32, big-endian
    [5]      key number                             uint8
    [6:10]   window start, Unix time in minutes     uint32, big-endian
    [10]     window length in minutes, 1..10        uint8
    [11:75]  Ed25519 signature over
             b"tanpuhui/site-code/v1\\x00" + bytes[0:11]

Text: "TPH1:" + the 75 bytes in base32 (RFC 4648, upper case, no padding): 125 characters, all in the QR
alphanumeric set, so a version-5 QR code at level L holds one. 75 bytes are exactly 120 base32 digits, so
each text has one byte string and the reverse: `digest`, over the bytes, names one code whatever the text.

Parsing is strict and case-sensitive. It checks the shape only; whether the key and the site accept the
code is the cache's business (cache.py).
"""

from __future__ import annotations

import base64
import hashlib
import re
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from service.sites.errors import SiteCodeMalformed
from service.sites.models import MAX_KEY_NUMBER, MAX_WINDOW_MINUTES, UINT32_MAX

VERSION = 1
PREFIX = "TPH1:"
SIGNING_CONTEXT = b"tanpuhui/site-code/v1\x00"
SIGNED_LENGTH = 11
SIGNATURE_LENGTH = 64
CODE_LENGTH = SIGNED_LENGTH + SIGNATURE_LENGTH
TEXT_LENGTH = len(PREFIX) + CODE_LENGTH * 8 // 5

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)

_HEADER = struct.Struct(">BIBIB")
_TEXT = re.compile(rf"{re.escape(PREFIX)}[A-Z2-7]{{{TEXT_LENGTH - len(PREFIX)}}}", re.ASCII)


@dataclass(frozen=True, slots=True)
class SiteCode:
    """A parsed code, its signature not yet checked."""

    site_id: int
    key_number: int
    window_start: datetime
    window_end: datetime
    signed_bytes: bytes  # what the signature covers: the signing context and bytes [0:11]
    signature: bytes
    digest: str  # SHA-256 of the 75 bytes, hex: the same code scanned twice has the same digest


def _minutes(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("a window start needs a UTC offset")
    return (moment - EPOCH) // MINUTE


def window_start_for(now: datetime, window_minutes: int) -> datetime:
    """The start of the window `now` falls in: windows of `window_minutes` counted from the Unix epoch."""
    if not 1 <= window_minutes <= MAX_WINDOW_MINUTES:
        raise ValueError(f"window_minutes must be 1..{MAX_WINDOW_MINUTES}")
    minutes = _minutes(now)
    return EPOCH + (minutes - minutes % window_minutes) * MINUTE


def sign(
    private_key: Ed25519PrivateKey | bytes,
    site_id: int,
    key_number: int,
    window_start: datetime,
    window_minutes: int,
) -> str:
    """The code text for a window; `private_key` is the key or its 32-byte seed. The window starts on a
    whole minute (see `window_start_for`)."""
    if isinstance(private_key, bytes):
        private_key = Ed25519PrivateKey.from_private_bytes(private_key)
    start = _minutes(window_start)
    if window_start != EPOCH + start * MINUTE:
        raise ValueError("a window starts on a whole minute")
    if not (1 <= site_id <= UINT32_MAX and 1 <= key_number <= MAX_KEY_NUMBER and 0 <= start <= UINT32_MAX):
        raise ValueError("site id, key number or window start out of range")
    if not 1 <= window_minutes <= MAX_WINDOW_MINUTES:
        raise ValueError(f"window_minutes must be 1..{MAX_WINDOW_MINUTES}")
    header = _HEADER.pack(VERSION, site_id, key_number, start, window_minutes)
    raw = header + private_key.sign(SIGNING_CONTEXT + header)
    return PREFIX + base64.b32encode(raw).decode("ascii")


def _malformed(why_en: str, why_zh: str) -> SiteCodeMalformed:
    return SiteCodeMalformed(f"Not a site code: {why_en}.", f"不是站点码：{why_zh}。")


def parse(text: str) -> SiteCode:
    """Read a code's fields; SiteCodeMalformed when the text is not a v1 code."""
    if not isinstance(text, str) or _TEXT.fullmatch(text) is None:
        raise _malformed(
            f"expected {PREFIX} and {TEXT_LENGTH - len(PREFIX)} characters A-Z, 2-7",
            f"应为 {PREFIX} 加 {TEXT_LENGTH - len(PREFIX)} 个 A-Z、2-7 字符",
        )
    raw = base64.b32decode(text[len(PREFIX) :])
    version, site_id, key_number, start, window_minutes = _HEADER.unpack_from(raw)
    if version != VERSION:
        raise _malformed(f"format version {version}", f"格式版本为 {version}")
    if not 1 <= window_minutes <= MAX_WINDOW_MINUTES:
        raise _malformed(f"a window of {window_minutes} minutes", f"时间窗为 {window_minutes} 分钟")
    try:
        window_start = EPOCH + start * MINUTE
        window_end = window_start + window_minutes * MINUTE
    except OverflowError:
        raise _malformed("a window past the year 9999", "时间窗晚于 9999 年") from None
    header = raw[:SIGNED_LENGTH]
    return SiteCode(
        site_id=site_id,
        key_number=key_number,
        window_start=window_start,
        window_end=window_end,
        signed_bytes=SIGNING_CONTEXT + header,
        signature=raw[SIGNED_LENGTH:],
        digest=hashlib.sha256(raw).hexdigest(),
    )
