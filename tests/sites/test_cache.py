"""The site cache checks a code offline: a genuine code that counts gives its site and window, and each
way a code can fail has its own error. It follows changes other processes make."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from service.factors.model import SiteKind
from service.sites import codes, keypairs
from service.sites import service as sites_service
from service.sites.cache import CheckedCode, SiteCache
from service.sites.errors import SiteCodeMalformed, SiteCodeSignature, SiteCodeUnknown, SiteInactive
from service.sites.schemas import SiteCreate
from tests.conftest import Api, bearer
from tests.fixtures.sites import SITES, Json, Tokens, code_for, forged, header, register, rotate, site_body, this_minute

MINUTE = timedelta(minutes=1)


def _flip(text: str, bit: int) -> str:
    """The same code with one bit of its 75 bytes flipped (bit 0 is the first byte's highest)."""
    raw = bytearray(base64.b32decode(text[len(codes.PREFIX) :]))
    raw[bit // 8] ^= 0x80 >> (bit % 8)
    return codes.PREFIX + base64.b32encode(raw).decode()


async def test_a_genuine_code_gives_its_site_and_window(api: Api, operator: Tokens) -> None:
    issued = await register(
        api.client, operator, site_body("necc-hall-n1", kind="venue_gate", latitude=38.953211, longitude=117.417062)
    )
    start = this_minute()
    text_ = code_for(issued, window_start=start)

    checked = api.app.state.site_cache.check(text_)

    assert checked == CheckedCode(
        site_id=issued["site"]["id"],
        site_code="necc-hall-n1",
        kind=SiteKind.venue_gate,
        latitude=38.953211,
        longitude=117.417062,
        owner_partner_id=None,
        window_start=start,
        window_end=start + MINUTE,
        digest=codes.parse(text_).digest,
    )


async def test_each_failed_check_raises_its_own_error(api: Api, operator: Tokens) -> None:
    issued = await register(api.client, operator)
    site_id = issued["site"]["id"]
    good = code_for(issued)
    cache: SiteCache = api.app.state.site_cache
    seed = Ed25519PrivateKey.from_private_bytes(keypairs.decode(issued["private_key"]))

    for garbage in ("", "hello", good.lower(), good[:-1], "TPH1:" + "A" * 120):
        with pytest.raises(SiteCodeMalformed) as malformed:
            cache.check(garbage)
        assert malformed.value.code == "SITE_CODE_MALFORMED"
    with pytest.raises(SiteCodeUnknown) as unknown:
        cache.check(codes.sign(seed, site_id + 1, 1, this_minute(), 1))
    assert unknown.value.code == "SITE_CODE_UNKNOWN"
    with pytest.raises(SiteCodeUnknown):
        cache.check(codes.sign(seed, site_id, 2, this_minute(), 1))
    for bit in (11 * 8, 75 * 8 - 1, 9 * 8):  # in the signature's first and last bytes, and in the window start
        with pytest.raises(SiteCodeSignature) as signature:
            cache.check(_flip(good, bit))
        assert signature.value.code == "SITE_CODE_SIGNATURE"
    with pytest.raises(SiteCodeSignature):
        cache.check(forged(header(1, site_id, 1, this_minute(), 1)))
    for error in (SiteCodeMalformed, SiteCodeUnknown, SiteCodeSignature, SiteInactive):
        assert (error.status, error.code.startswith("SITE_")) == (422, True)


async def test_codes_count_only_in_the_sites_validity(api: Api, operator: Tokens) -> None:
    valid_from = datetime(2026, 12, 1, 0, 0, 30, tzinfo=UTC)
    valid_to = datetime(2026, 12, 8, tzinfo=UTC)
    issued = await register(
        api.client, operator, site_body(valid_from=valid_from.isoformat(), valid_to=valid_to.isoformat())
    )
    cache: SiteCache = api.app.state.site_cache

    def at(start: datetime, minutes: int = 1) -> CheckedCode:
        return cache.check(code_for(issued, window_start=start, window_minutes=minutes))

    assert at(datetime(2026, 12, 1, tzinfo=UTC))  # the window valid_from falls in
    assert at(valid_to - MINUTE)
    assert at(valid_to - 5 * MINUTE, 10)  # a window that overlaps the end
    for start in (datetime(2026, 11, 30, 23, 59, tzinfo=UTC), valid_to, valid_to + timedelta(days=1)):
        with pytest.raises(SiteInactive) as inactive:
            at(start)
        assert inactive.value.code == "SITE_INACTIVE"


async def test_a_retired_key_keeps_the_windows_before_its_retirement_and_only_those(api: Api, operator: Tokens) -> None:
    first = await register(api.client, operator)
    cache: SiteCache = api.app.state.site_cache
    before = this_minute() - 5 * MINUTE
    assert cache.check(code_for(first, window_start=this_minute() + MINUTE))

    second = await rotate(api.client, operator, first["site"]["id"])
    retired_at = datetime.fromisoformat(second["site"]["keys"][0]["retired_at"])

    assert cache.check(code_for(first, window_start=before))
    assert cache.check(code_for(first, window_start=codes.window_start_for(retired_at, 1)))
    with pytest.raises(SiteInactive, match="retired"):
        cache.check(code_for(first, window_start=this_minute() + MINUTE))
    assert cache.check(code_for(second, window_start=this_minute() + MINUTE))


async def test_a_revoked_key_has_no_code_left_even_from_before(api: Api, operator: Tokens) -> None:
    first = await register(api.client, operator)
    site_id = first["site"]["id"]
    await rotate(api.client, operator, site_id)
    cache: SiteCache = api.app.state.site_cache
    old = code_for(first, window_start=this_minute() - 10 * MINUTE)
    assert cache.check(old)

    response = await api.client.post(
        f"{SITES}/{site_id}/keys/1/revoke", json={"reason": "seed leaked"}, headers=bearer(operator)
    )

    assert response.status_code == 200, response.text
    with pytest.raises(SiteInactive, match="revoked"):
        cache.check(old)


async def test_the_cache_follows_a_change_another_process_made(api: Api, operator: Tokens) -> None:
    issued = await register(api.client, operator)
    elsewhere = SiteCache()
    await elsewhere.refresh(api.db.sessionmaker)
    loaded = elsewhere.version
    code = code_for(issued)
    assert elsewhere.check(code)

    async with api.db.sessionmaker.begin() as session:
        await session.execute(
            text("UPDATE sites_site_key SET revoked_at = now(), revoke_reason = 'by hand' WHERE site_id = :s"),
            {"s": issued["site"]["id"]},
        )
        created = await sites_service.register(
            session,
            operator=None,
            data=SiteCreate.model_validate(site_body("bus-xianshuigu-east", kind="bus_stop")),
        )

    assert elsewhere.check(code)  # not yet seen
    await elsewhere.refresh_if_newer(api.db.sessionmaker)
    assert loaded is not None
    assert elsewhere.version is not None
    assert elsewhere.version > loaded
    with pytest.raises(SiteInactive):
        elsewhere.check(code)
    assert elsewhere.check(code_for(created.model_dump())).site_code == "bus-xianshuigu-east"
    unchanged = elsewhere.version
    await elsewhere.refresh_if_newer(api.db.sessionmaker)
    assert elsewhere.version == unchanged


async def test_a_cache_loads_on_its_first_poll(api: Api, operator: Tokens) -> None:
    issued: Json = await register(api.client, operator)
    fresh = SiteCache()
    with pytest.raises(SiteCodeUnknown):
        fresh.check(code_for(issued))

    await fresh.refresh_if_newer(api.db.sessionmaker)

    assert fresh.check(code_for(issued)).site_id == issued["site"]["id"]
