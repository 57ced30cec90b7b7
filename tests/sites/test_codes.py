"""The site code format v1: what `sign` writes, `parse` reads back exactly, and anything else is refused."""

from __future__ import annotations

import base64
import hashlib
import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from service.sites import codes
from service.sites.errors import SiteCodeMalformed
from service.sites.geo import EARTH_RADIUS_KM, distance_km
from tests.fixtures.sites import forged, header

SEED = bytes(range(32))
QR_ALPHANUMERIC = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
# Characters a version-5 QR code holds at error correction level L in alphanumeric mode.
QR_5L_ALPHANUMERIC_CAPACITY = 154
START = datetime(2026, 12, 6, 0, 30, tzinfo=UTC)


def test_a_code_is_125_qr_alphanumeric_characters_and_reads_back_as_signed() -> None:
    text = codes.sign(SEED, 1042, 2, START, 3)

    code = codes.parse(text)

    assert len(text) == codes.TEXT_LENGTH == 125 <= QR_5L_ALPHANUMERIC_CAPACITY
    assert set(text) <= QR_ALPHANUMERIC
    raw = base64.b32decode(text[len("TPH1:") :])
    assert (code.site_id, code.key_number) == (1042, 2)
    assert (code.window_start, code.window_end) == (START, START + timedelta(minutes=3))
    assert code.signed_bytes == b"tanpuhui/site-code/v1\x00" + raw[:11]
    assert code.signature == raw[11:]
    assert code.digest == hashlib.sha256(raw).hexdigest()
    Ed25519PrivateKey.from_private_bytes(SEED).public_key().verify(code.signature, code.signed_bytes)


@given(
    site_id=st.integers(1, 2**32 - 1),
    key_number=st.integers(1, 255),
    minutes=st.integers(0, 2**31),
    window=st.integers(1, 10),
)
def test_every_field_in_range_round_trips(site_id: int, key_number: int, minutes: int, window: int) -> None:
    start = codes.EPOCH + timedelta(minutes=minutes)
    code = codes.parse(codes.sign(SEED, site_id, key_number, start, window))
    assert (code.site_id, code.key_number, code.window_start) == (site_id, key_number, start)
    assert code.window_end - code.window_start == timedelta(minutes=window)


def test_the_same_window_signs_the_same_text_and_another_window_another_digest() -> None:
    first, again = codes.sign(SEED, 7, 1, START, 1), codes.sign(SEED, 7, 1, START, 1)
    later = codes.sign(SEED, 7, 1, START + timedelta(minutes=1), 1)
    assert first == again
    assert codes.parse(first).digest != codes.parse(later).digest


GOOD = codes.sign(SEED, 1042, 2, START, 1)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "TPH1:",
        GOOD.lower(),
        "tph1:" + GOOD[5:],
        "TPH2:" + GOOD[5:],
        GOOD[5:],
        GOOD[:-1],
        GOOD + "A",
        GOOD[:-1] + "=",
        GOOD[:-1] + "1",
        GOOD[:-1] + "a",
        " " + GOOD,
        GOOD + "\n",
        GOOD[:10] + "Ａ" + GOOD[11:],
        "https://tanpuhui.example.cn/s?c=" + GOOD,
    ],
    ids=lambda text: repr(text[:12]),
)
def test_text_that_is_not_a_v1_code_is_malformed(text: str) -> None:
    with pytest.raises(SiteCodeMalformed):
        codes.parse(text)


@pytest.mark.parametrize(
    ("version", "window"),
    [(0, 1), (2, 1), (255, 1), (1, 0), (1, 11), (1, 255)],
)
def test_a_signed_header_with_another_version_or_window_length_is_malformed(version: int, window: int) -> None:
    with pytest.raises(SiteCodeMalformed):
        codes.parse(forged(header(version, 1042, 2, START, window)))


def test_a_window_past_the_year_9999_is_malformed() -> None:
    raw = bytes([1]) + (1042).to_bytes(4, "big") + bytes([2]) + (2**32 - 1).to_bytes(4, "big") + bytes([1])
    with pytest.raises(SiteCodeMalformed):
        codes.parse(forged(raw))


def test_windows_are_counted_from_the_unix_epoch_in_the_sites_window_length() -> None:
    at = datetime(2026, 12, 6, 8, 37, 59, 999_999, tzinfo=timezone(timedelta(hours=8)))
    assert codes.window_start_for(at, 1) == datetime(2026, 12, 6, 0, 37, tzinfo=UTC)
    assert codes.window_start_for(at, 5) == datetime(2026, 12, 6, 0, 35, tzinfo=UTC)
    assert codes.window_start_for(at, 10) == datetime(2026, 12, 6, 0, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match="UTC offset"):
        codes.window_start_for(datetime(2026, 12, 6, 8, 37), 1)
    with pytest.raises(ValueError, match="window_minutes"):
        codes.window_start_for(at, 11)


@pytest.mark.parametrize(
    ("site_id", "key_number", "start", "window"),
    [
        (0, 1, START, 1),
        (2**32, 1, START, 1),
        (1, 0, START, 1),
        (1, 256, START, 1),
        (1, 1, START, 0),
        (1, 1, START, 11),
        (1, 1, START + timedelta(seconds=30), 1),
        (1, 1, codes.EPOCH - timedelta(minutes=1), 1),
        (1, 1, datetime(2026, 12, 6, 8, 30), 1),
    ],
)
def test_sign_refuses_what_the_format_cannot_carry(site_id: int, key_number: int, start: datetime, window: int) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        codes.sign(SEED, site_id, key_number, start, window)


def test_distances_are_great_circle_kilometres() -> None:
    assert distance_km((39.0392, 117.3261), (39.0392, 117.3261)) == 0
    assert distance_km((0, 0), (90, 0)) == pytest.approx(math.pi / 2 * EARTH_RADIUS_KM)
    assert distance_km((0, 0), (0, 1)) == pytest.approx(111.195, abs=0.001)
    assert distance_km((0, 0), (0, 180)) == pytest.approx(math.pi * EARTH_RADIUS_KM)
    # along a parallel, a degree of longitude shrinks with the cosine of the latitude (to first order)
    assert distance_km((39, 117), (39, 117.01)) == pytest.approx(1.11195 * math.cos(math.radians(39)), rel=1e-4)
    assert distance_km((39, 117), (39.5, 117.5)) == distance_km((39.5, 117.5), (39, 117))
