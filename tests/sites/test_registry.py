"""Operators register sites, change them, rotate and revoke their keys; every administrator reads the
registry; nobody else reaches it. A key pair the service makes shows its private key once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from service.accounts.models import Role
from service.sites import keypairs
from service.sites.errors import SiteInactive
from tests.conftest import Api, bearer
from tests.fixtures.behaviours import assert_problem
from tests.fixtures.sites import SITES, Json, Tokens, code_for, register, rotate, site_body

StaffSignIn = Callable[..., Awaitable[Tokens]]
ResidentSignIn = Callable[[str], Awaitable[Tokens]]


@pytest.fixture(autouse=True)
async def _an_empty_registry(api: Api) -> None:
    """These tests list and count the registry's sites: each starts from an empty registry, without the
    test sites every test database holds (tests/fixtures/evidence.py)."""
    async with api.db.engine.begin() as connection:
        await connection.execute(text("DELETE FROM sites_site_key"))
        await connection.execute(text("DELETE FROM sites_site"))
    await api.app.state.site_cache.refresh(api.db.sessionmaker)


async def _partner(api: Api, sign_in_staff: StaffSignIn, code: str) -> int:
    admin = await sign_in_staff(Role.admin_super, username=f"super-{code}")
    body = {"code": code, "name": code, "kind": "exhibition_gate"}
    response = await api.client.post("/v1/admin/partners", json=body, headers=bearer(admin))
    assert response.status_code == 201, response.text
    partner_id: int = response.json()["id"]
    return partner_id


async def test_registering_a_site_shows_its_private_key_once_and_the_key_signs_codes_that_check_out(
    api: Api, operator: Tokens, sign_in_staff: StaffSignIn
) -> None:
    issued = await register(api.client, operator, site_body(window_minutes=2))
    site = issued["site"]
    private_key = issued["private_key"]
    auditor = await sign_in_staff(Role.admin_auditor)

    assert issued["key_number"] == 1
    assert site["code"] == "metro-shuanglin"
    assert (site["kind"], site["latitude"], site["longitude"]) == ("metro_station", 39.0392, 117.3261)
    assert (site["owner_partner_id"], site["valid_to"], site["window_minutes"]) == (None, None, 2)
    (key,) = site["keys"]
    assert key["key_number"] == 1
    assert key["public_key"] == keypairs.encode(keypairs.public_key_of(keypairs.decode(private_key)))
    assert (key["retired_at"], key["revoked_at"]) == (None, None)

    read = await api.client.get(f"{SITES}/{site['id']}", headers=bearer(auditor))
    log = await api.client.get("/v1/admin/audit/actions", headers=bearer(auditor))
    stored = await _stored_text(api)
    assert read.status_code == 200
    assert read.json() == site
    assert private_key not in read.text
    assert private_key not in log.text
    assert keypairs.decode(private_key).hex() not in stored
    assert [(a["action"], a["target"]) for a in log.json()["items"]] == [("site.register", f"site:{site['id']}")]

    checked = api.app.state.site_cache.check(code_for(issued, window_minutes=2))
    assert (checked.site_id, checked.site_code, checked.kind) == (site["id"], "metro-shuanglin", "metro_station")
    assert (checked.latitude, checked.longitude, checked.owner_partner_id) == (39.0392, 117.3261, None)
    assert checked.window_end - checked.window_start == timedelta(minutes=2)


async def _stored_text(api: Api) -> str:
    """Every site key row and action log line as text, to look for a secret in."""
    async with api.db.sessionmaker() as session:
        keys = (await session.execute(text("SELECT encode(public_key, 'hex') FROM sites_site_key"))).scalars()
        lines = (await session.execute(text("SELECT details::text FROM audit_action"))).scalars()
        return "\n".join([*keys, *lines])


async def test_a_site_that_brings_its_own_public_key_is_answered_no_private_key(api: Api, operator: Tokens) -> None:
    seed, public = keypairs.generate()

    issued = await register(api.client, operator, site_body(public_key=keypairs.encode(public)))

    assert issued["private_key"] is None
    assert issued["site"]["keys"][0]["public_key"] == keypairs.encode(public)
    assert api.app.state.site_cache.check(code_for({**issued, "private_key": keypairs.encode(seed)}))


async def test_a_second_site_with_the_same_code_is_refused_and_nothing_is_stored(api: Api, operator: Tokens) -> None:
    await register(api.client, operator)

    again = await api.client.post(SITES, json=site_body(name_en="Another"), headers=bearer(operator))

    assert_problem(again, 409, "SITE_CODE_TAKEN")
    listed = await api.client.get(SITES, headers=bearer(operator))
    assert [s["name_en"] for s in listed.json()["items"]] == ["Metro Line 1, Shuanglin"]


BAD_INPUT: list[tuple[Json, str]] = [
    ({"latitude": 90.5}, "VALIDATION_FAILED"),
    ({"longitude": -180.1}, "VALIDATION_FAILED"),
    ({"latitude": 39.12345678}, "VALIDATION_FAILED"),
    ({"kind": "ferry_pier"}, "VALIDATION_FAILED"),
    ({"code": "Metro Shuanglin"}, "VALIDATION_FAILED"),
    ({"name_zh": ""}, "VALIDATION_FAILED"),
    ({"window_minutes": 0}, "VALIDATION_FAILED"),
    ({"window_minutes": 11}, "VALIDATION_FAILED"),
    ({"valid_from": "2026-12-01T00:00:00"}, "VALIDATION_FAILED"),
    ({"public_key": keypairs.encode(bytes(31))}, "VALIDATION_FAILED"),
    ({"public_key": keypairs.encode(bytes(32))[:-1] + "B"}, "VALIDATION_FAILED"),
    ({"id": 7}, "VALIDATION_FAILED"),
    ({"owner_partner_id": 999}, "SITE_OWNER_UNKNOWN"),
    ({"valid_from": "2026-12-01T00:00:00Z", "valid_to": "2026-12-01T00:00:00Z"}, "SITE_VALIDITY_INVALID"),
]


async def test_bad_input_is_refused_with_its_code_and_nothing_is_stored(api: Api, operator: Tokens) -> None:
    for changes, code in BAD_INPUT:
        response = await api.client.post(SITES, json=site_body(**changes), headers=bearer(operator))
        assert_problem(response, 422, code)

    assert (await api.client.get(SITES, headers=bearer(operator))).json()["items"] == []
    assert await _stored_text(api) == ""


async def test_sites_are_listed_by_id_a_page_at_a_time_and_by_kind_or_owner(
    api: Api, operator: Tokens, sign_in_staff: StaffSignIn
) -> None:
    partner_id = await _partner(api, sign_in_staff, "necc-gates")
    await register(api.client, operator, site_body("metro-shuanglin"))
    await register(api.client, operator, site_body("necc-hall-n1", kind="venue_gate", owner_partner_id=partner_id))
    await register(api.client, operator, site_body("necc-hall-s1", kind="venue_gate", owner_partner_id=partner_id))
    await register(api.client, operator, site_body("xianshuigu-recycling-01", kind="recycling_station"))

    first = (await api.client.get(SITES, params={"limit": 3}, headers=bearer(operator))).json()
    rest = await api.client.get(SITES, params={"limit": 3, "cursor": first["next_cursor"]}, headers=bearer(operator))
    gates = await api.client.get(SITES, params={"kind": "venue_gate"}, headers=bearer(operator))
    owned = await api.client.get(SITES, params={"owner_partner_id": partner_id}, headers=bearer(operator))
    bad = await api.client.get(SITES, params={"kind": "ferry_pier"}, headers=bearer(operator))

    assert [s["code"] for s in first["items"]] == ["metro-shuanglin", "necc-hall-n1", "necc-hall-s1"]
    assert [s["code"] for s in rest.json()["items"]] == ["xianshuigu-recycling-01"]
    assert rest.json()["next_cursor"] is None
    assert [s["code"] for s in gates.json()["items"]] == ["necc-hall-n1", "necc-hall-s1"]
    assert [s["code"] for s in owned.json()["items"]] == ["necc-hall-n1", "necc-hall-s1"]
    assert "keys" not in first["items"][0]
    assert_problem(bad, 422, "VALIDATION_FAILED")


async def test_an_unknown_site_is_404(api: Api, operator: Tokens) -> None:
    assert_problem(await api.client.get(f"{SITES}/4242", headers=bearer(operator)), 404, "SITE_NOT_FOUND")
    patch = await api.client.patch(f"{SITES}/4242", json={"name_en": "x"}, headers=bearer(operator))
    assert_problem(patch, 404, "SITE_NOT_FOUND")
    assert_problem(await api.client.post(f"{SITES}/4242/keys", headers=bearer(operator)), 404, "SITE_NOT_FOUND")
    revoke = await api.client.post(f"{SITES}/4242/keys/1/revoke", json={"reason": "x"}, headers=bearer(operator))
    assert_problem(revoke, 404, "SITE_NOT_FOUND")
    too_big = await api.client.get(f"{SITES}/{2**32}", headers=bearer(operator))
    assert_problem(too_big, 422, "VALIDATION_FAILED")


async def test_patch_changes_what_it_names_and_never_kind_or_position(
    api: Api, operator: Tokens, sign_in_staff: StaffSignIn
) -> None:
    partner_id = await _partner(api, sign_in_staff, "jinnan-metro")
    site = (await register(api.client, operator, site_body(owner_partner_id=partner_id)))["site"]
    path = f"{SITES}/{site['id']}"
    valid_to = datetime(2027, 6, 30, tzinfo=UTC)

    changed = await api.client.patch(
        path,
        json={"name_en": "Shuanglin (Line 1)", "valid_to": valid_to.isoformat(), "window_minutes": 2},
        headers=bearer(operator),
    )
    platform = await api.client.patch(path, json={"owner_partner_id": None}, headers=bearer(operator))

    assert changed.status_code == 200, changed.text
    after = changed.json()
    assert (after["name_en"], after["name_zh"]) == ("Shuanglin (Line 1)", site["name_zh"])
    assert (datetime.fromisoformat(after["valid_to"]), after["window_minutes"]) == (valid_to, 2)
    assert after["owner_partner_id"] == partner_id
    assert datetime.fromisoformat(after["updated_at"]) > datetime.fromisoformat(site["updated_at"])
    assert platform.json()["owner_partner_id"] is None
    for refused, code in [
        ({"kind": "bus_stop"}, "VALIDATION_FAILED"),
        ({"latitude": 39.1}, "VALIDATION_FAILED"),
        ({"name_zh": None}, "VALIDATION_FAILED"),
        ({"valid_from": None}, "VALIDATION_FAILED"),
        ({"owner_partner_id": 999}, "SITE_OWNER_UNKNOWN"),
        ({"valid_from": "2027-07-01T00:00:00Z"}, "SITE_VALIDITY_INVALID"),
    ]:
        assert_problem(await api.client.patch(path, json=refused, headers=bearer(operator)), 422, code)
    unchanged = await api.client.get(path, headers=bearer(operator))
    assert unchanged.json() == platform.json()


async def test_rotating_issues_the_next_key_and_retires_the_active_one(api: Api, operator: Tokens) -> None:
    first = await register(api.client, operator)
    site_id = first["site"]["id"]
    own_seed, own_public = keypairs.generate()

    second = await rotate(api.client, operator, site_id)
    third = await rotate(api.client, operator, site_id, {"public_key": keypairs.encode(own_public)})

    assert (second["key_number"], third["key_number"]) == (2, 3)
    assert second["private_key"] != first["private_key"]
    assert third["private_key"] is None
    keys = third["site"]["keys"]
    assert [k["key_number"] for k in keys] == [1, 2, 3]
    assert [k["retired_at"] is not None for k in keys] == [True, True, False]
    assert keys[2]["public_key"] == keypairs.encode(own_public)
    cache = api.app.state.site_cache
    assert cache.check(code_for({**third, "private_key": keypairs.encode(own_seed)}))
    log = await api.client.get(
        "/v1/admin/audit/actions", params={"action": "site.key.rotate"}, headers=bearer(operator)
    )
    assert [a["details"]["retired_key_number"] for a in log.json()["items"]] == [2, 1]


async def test_a_site_that_used_every_key_number_gets_no_more(api: Api, operator: Tokens) -> None:
    site_id = (await register(api.client, operator))["site"]["id"]
    async with api.db.sessionmaker.begin() as session:
        await session.execute(text("UPDATE sites_site_key SET retired_at = now() WHERE site_id = :s"), {"s": site_id})
        await session.execute(
            text(
                "INSERT INTO sites_site_key (site_id, key_number, public_key, retired_at)"
                " SELECT :s, n, sha256(n::text::bytea), now() FROM generate_series(2, 254) n"
            ),
            {"s": site_id},
        )

    last = await rotate(api.client, operator, site_id)
    refused = await api.client.post(f"{SITES}/{site_id}/keys", headers=bearer(operator))

    assert last["key_number"] == 255
    assert_problem(refused, 409, "SITE_KEYS_EXHAUSTED")


async def test_revoking_a_key_refuses_its_codes_and_a_second_revocation_is_a_conflict(
    api: Api, operator: Tokens
) -> None:
    issued = await register(api.client, operator)
    site_id = issued["site"]["id"]
    cache = api.app.state.site_cache
    assert cache.check(code_for(issued))

    revoked = await api.client.post(
        f"{SITES}/{site_id}/keys/1/revoke", json={"reason": "kiosk stolen"}, headers=bearer(operator)
    )
    again = await api.client.post(f"{SITES}/{site_id}/keys/1/revoke", json={"reason": "x"}, headers=bearer(operator))
    unknown = await api.client.post(f"{SITES}/{site_id}/keys/2/revoke", json={"reason": "x"}, headers=bearer(operator))
    no_reason = await api.client.post(f"{SITES}/{site_id}/keys/1/revoke", json={}, headers=bearer(operator))

    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoke_reason"] == "kiosk stolen"
    assert revoked.json()["revoked_at"] is not None
    assert_problem(again, 409, "SITE_KEY_REVOKED")
    assert_problem(unknown, 404, "SITE_KEY_NOT_FOUND")
    assert_problem(no_reason, 422, "VALIDATION_FAILED")
    with pytest.raises(SiteInactive, match="revoked"):
        cache.check(code_for(issued))
    replacement = await rotate(api.client, operator, site_id)
    assert replacement["key_number"] == 2
    assert [k["retired_at"] for k in replacement["site"]["keys"]] == [None, None]


async def test_auditors_read_the_registry_and_only_operators_change_it(
    api: Api, operator: Tokens, sign_in_staff: StaffSignIn, sign_in_resident: ResidentSignIn
) -> None:
    site_id = (await register(api.client, operator))["site"]["id"]
    auditor = await sign_in_staff(Role.admin_auditor)
    superadmin = await sign_in_staff(Role.admin_super)
    resident = await sign_in_resident("nosy")
    enterprise = await sign_in_staff(Role.enterprise)

    assert (await api.client.get(f"{SITES}/{site_id}", headers=bearer(auditor))).status_code == 200
    assert_problem(
        await api.client.post(SITES, json=site_body("x-1"), headers=bearer(auditor)), 403, "ROLE_NOT_ALLOWED"
    )
    assert_problem(await api.client.post(f"{SITES}/{site_id}/keys", headers=bearer(auditor)), 403, "ROLE_NOT_ALLOWED")
    for outsider in (resident, enterprise):
        assert_problem(await api.client.get(SITES, headers=bearer(outsider)), 403, "ROLE_NOT_ALLOWED")
        assert_problem(
            await api.client.post(SITES, json=site_body("x-2"), headers=bearer(outsider)), 403, "ROLE_NOT_ALLOWED"
        )
    assert_problem(await api.client.get(f"{SITES}/{site_id}"), 401, "UNAUTHENTICATED")
    assert (await register(api.client, superadmin, site_body("by-super")))["key_number"] == 1
