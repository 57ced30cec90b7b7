"""Data partners sign each request with an HMAC key an administrator issued them; the service refuses
anything unsigned, altered, stale or replayed, and rate limits each partner's writes.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from service.accounts.models import Role
from service.accounts.signing import (
    KEY_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signature,
    signed_headers,
)
from tests.conftest import Api, bearer

StaffSignIn = Callable[..., Awaitable[dict[str, Any]]]
ResidentSignIn = Callable[[str], Awaitable[dict[str, Any]]]
TokensFor = Callable[[Role], Awaitable[dict[str, Any]]]
MakeApi = Callable[..., Awaitable[Api]]

PING = "/v1/partner/ping"
PARTNERS = "/v1/admin/partners"
WINDOW_S = 300
PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class IssuedKey:
    partner_id: int
    key_id: str
    secret: str


def _keys_path(partner_id: int) -> str:
    return f"{PARTNERS}/{partner_id}/keys"


def _body() -> bytes:
    """A fresh JSON body: two requests signed in the same second with the same body share a signature."""
    return json.dumps({"reading_id": uuid.uuid4().hex, "grams_co2e": 1250}).encode()


def _signed(
    key: IssuedKey, method: str, path_and_query: str, body: bytes, *, timestamp: int | None = None
) -> dict[str, str]:
    headers = signed_headers(key.key_id, key.secret, method, path_and_query, body, timestamp=timestamp)
    return {**headers, "Content-Type": "application/json"}


async def _post(client: httpx.AsyncClient, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return await client.post(path, content=body, headers=headers)


async def _ping(
    client: httpx.AsyncClient, key: IssuedKey, *, query: str = "", timestamp: int | None = None
) -> httpx.Response:
    """A correctly signed ping with a body of its own."""
    body = _body()
    return await _post(client, PING + query, body, _signed(key, "POST", PING + query, body, timestamp=timestamp))


def _assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    problem: dict[str, Any] = response.json()
    assert problem["code"] == code
    assert problem["status"] == status
    return problem


def _assert_refused(response: httpx.Response, code: str) -> None:
    _assert_problem(response, 401, code)
    assert response.headers["www-authenticate"] == "TANPUHUI-HMAC-SHA256"


async def _create_partner(
    client: httpx.AsyncClient, admin: dict[str, Any], code: str = "jinnan-metro-card"
) -> dict[str, Any]:
    response = await client.post(
        PARTNERS, json={"code": code, "name": f"{code} 合作方", "kind": "transit_card"}, headers=bearer(admin)
    )
    assert response.status_code == 201, response.text
    partner: dict[str, Any] = response.json()
    return partner


async def _issue_key(client: httpx.AsyncClient, admin: dict[str, Any], partner_id: int) -> IssuedKey:
    response = await client.post(_keys_path(partner_id), headers=bearer(admin))
    assert response.status_code == 201, response.text
    issued = response.json()
    return IssuedKey(partner_id=issued["partner_id"], key_id=issued["key_id"], secret=issued["secret"])


async def _revoke(client: httpx.AsyncClient, admin: dict[str, Any], key: IssuedKey) -> None:
    response = await client.delete(f"{_keys_path(key.partner_id)}/{key.key_id}", headers=bearer(admin))
    assert response.status_code == 204, response.text


async def _list_keys(client: httpx.AsyncClient, admin: dict[str, Any], partner_id: int) -> httpx.Response:
    response = await client.get(_keys_path(partner_id), headers=bearer(admin))
    assert response.status_code == 200, response.text
    return response


@pytest.fixture
async def admin(sign_in_staff: StaffSignIn) -> dict[str, Any]:
    return await sign_in_staff(Role.admin_super)


@pytest.fixture
async def key(client: httpx.AsyncClient, admin: dict[str, Any]) -> IssuedKey:
    partner = await _create_partner(client, admin)
    return await _issue_key(client, admin, partner["id"])


@pytest.fixture
def tokens_for(sign_in_staff: StaffSignIn, sign_in_resident: ResidentSignIn) -> TokensFor:
    async def tokens(role: Role) -> dict[str, Any]:
        return await sign_in_resident("alice") if role is Role.resident else await sign_in_staff(role)

    return tokens


# ---------------------------------------------------------------------------------------------- set-up


async def test_an_admin_creates_a_partner_and_issues_a_key_whose_secret_is_shown_once(
    client: httpx.AsyncClient, admin: dict[str, Any]
) -> None:
    partner = await _create_partner(client, admin, "haihe-bike-share")

    issued = await _issue_key(client, admin, partner["id"])

    assert partner["code"] == "haihe-bike-share"
    assert partner["kind"] == "transit_card"
    assert partner["disabled"] is False
    assert issued.partner_id == partner["id"]
    assert issued.key_id
    assert len(issued.secret) >= 32
    listed = await _list_keys(client, admin, partner["id"])
    assert [k["key_id"] for k in listed.json()] == [issued.key_id]
    assert listed.json()[0]["revoked_at"] is None
    assert all("secret" not in k for k in listed.json())
    assert issued.secret not in listed.text


async def test_a_second_partner_with_the_same_code_is_refused(client: httpx.AsyncClient, admin: dict[str, Any]) -> None:
    await _create_partner(client, admin, "jinnan-metro-card")

    response = await client.post(
        PARTNERS, json={"code": "jinnan-metro-card", "name": "again", "kind": "bike_share"}, headers=bearer(admin)
    )

    _assert_problem(response, 409, "PARTNER_CODE_TAKEN")


async def test_a_key_for_an_unknown_partner_is_not_found(client: httpx.AsyncClient, admin: dict[str, Any]) -> None:
    response = await client.post(_keys_path(999_999), headers=bearer(admin))

    _assert_problem(response, 404, "NOT_FOUND")


# ---------------------------------------------------------------------------------------------- accepted


async def test_a_correctly_signed_ping_names_the_partner_and_the_key(client: httpx.AsyncClient, key: IssuedKey) -> None:
    response = await _ping(client, key)

    assert response.status_code == 200, response.text
    who = response.json()
    assert who["partner_id"] == key.partner_id
    assert who["code"] == "jinnan-metro-card"
    assert who["key_id"] == key.key_id
    assert abs((datetime.fromisoformat(who["server_time"]) - datetime.now(UTC)).total_seconds()) < 60


async def test_a_signed_query_string_is_accepted(client: httpx.AsyncClient, key: IssuedKey) -> None:
    response = await _ping(client, key, query="?batch=7&source=gate-3")

    assert response.status_code == 200, response.text


@pytest.mark.parametrize("skew_s", [-(WINDOW_S - 10), WINDOW_S - 10])
async def test_a_timestamp_inside_the_window_is_accepted(
    client: httpx.AsyncClient, key: IssuedKey, skew_s: int
) -> None:
    response = await _ping(client, key, timestamp=int(time.time()) + skew_s)

    assert response.status_code == 200, response.text


# ---------------------------------------------------------------------------------------------- refused


@pytest.mark.parametrize(
    "missing",
    [
        (KEY_ID_HEADER,),
        (TIMESTAMP_HEADER,),
        (SIGNATURE_HEADER,),
        (KEY_ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER),
    ],
    ids=["key-id", "timestamp", "signature", "all"],
)
async def test_a_request_missing_a_signature_header_is_refused(
    client: httpx.AsyncClient, key: IssuedKey, missing: tuple[str, ...]
) -> None:
    body = _body()
    headers = {name: value for name, value in _signed(key, "POST", PING, body).items() if name not in missing}

    _assert_refused(await _post(client, PING, body, headers), "PARTNER_SIGNATURE_INVALID")


async def test_an_unknown_key_id_is_refused(client: httpx.AsyncClient, key: IssuedKey) -> None:
    stranger = IssuedKey(partner_id=key.partner_id, key_id=key.key_id + "x", secret=key.secret)

    _assert_refused(await _ping(client, stranger), "PARTNER_SIGNATURE_INVALID")


async def test_a_revoked_key_is_refused(client: httpx.AsyncClient, admin: dict[str, Any], key: IssuedKey) -> None:
    assert (await _ping(client, key)).status_code == 200

    await _revoke(client, admin, key)

    _assert_refused(await _ping(client, key), "PARTNER_SIGNATURE_INVALID")
    listed = (await _list_keys(client, admin, key.partner_id)).json()
    assert listed[0]["revoked_at"] is not None


async def test_a_signature_made_with_the_wrong_secret_is_refused(client: httpx.AsyncClient, key: IssuedKey) -> None:
    forger = IssuedKey(partner_id=key.partner_id, key_id=key.key_id, secret="not-the-secret-" + "0" * 32)

    _assert_refused(await _ping(client, forger), "PARTNER_SIGNATURE_INVALID")


async def test_a_tampered_body_is_refused(client: httpx.AsyncClient, key: IssuedKey) -> None:
    body = json.dumps({"reading_id": "r-1", "grams_co2e": 1250}).encode()
    headers = _signed(key, "POST", PING, body)

    tampered = json.dumps({"reading_id": "r-1", "grams_co2e": 9_999_999}).encode()

    _assert_refused(await _post(client, PING, tampered, headers), "PARTNER_SIGNATURE_INVALID")


async def test_a_signature_for_another_path_is_refused(client: httpx.AsyncClient, key: IssuedKey) -> None:
    body = _body()
    headers = _signed(key, "POST", "/v1/partner/readings", body)

    _assert_refused(await _post(client, PING, body, headers), "PARTNER_SIGNATURE_INVALID")


async def test_a_tampered_query_string_is_refused(client: httpx.AsyncClient, key: IssuedKey) -> None:
    body = _body()
    headers = _signed(key, "POST", PING + "?batch=7", body)

    _assert_refused(await _post(client, PING + "?batch=8", body, headers), "PARTNER_SIGNATURE_INVALID")


async def test_a_query_string_added_after_signing_is_refused(client: httpx.AsyncClient, key: IssuedKey) -> None:
    body = _body()
    headers = _signed(key, "POST", PING, body)

    _assert_refused(await _post(client, PING + "?batch=7", body, headers), "PARTNER_SIGNATURE_INVALID")


async def test_a_signature_for_another_method_is_refused(client: httpx.AsyncClient, key: IssuedKey) -> None:
    body = _body()
    headers = _signed(key, "PUT", PING, body)

    _assert_refused(await _post(client, PING, body, headers), "PARTNER_SIGNATURE_INVALID")


async def test_a_signature_header_with_non_ascii_bytes_is_refused_not_a_server_error(
    client: httpx.AsyncClient, key: IssuedKey
) -> None:
    # Exposes a service bug: hmac.compare_digest raises TypeError on non-ASCII str, which becomes a 500.
    body = _body()
    headers = {name.encode(): value.encode() for name, value in _signed(key, "POST", PING, body).items()}
    headers[SIGNATURE_HEADER.encode()] = b"\xe9" * 64

    response = await client.post(PING, content=body, headers=headers)

    _assert_refused(response, "PARTNER_SIGNATURE_INVALID")


@pytest.mark.parametrize("skew_s", [-(WINDOW_S + 2), WINDOW_S + 2], ids=["past", "future"])
async def test_a_timestamp_outside_the_window_is_refused(
    client: httpx.AsyncClient, key: IssuedKey, skew_s: int
) -> None:
    response = await _ping(client, key, timestamp=int(time.time()) + skew_s)

    _assert_refused(response, "PARTNER_TIMESTAMP_OUT_OF_WINDOW")


@pytest.mark.parametrize("stamp", ["yesterday", "1.7e9", "0x65f0a000"])
async def test_a_timestamp_that_is_not_unix_seconds_is_refused(
    client: httpx.AsyncClient, key: IssuedKey, stamp: str
) -> None:
    body = _body()
    headers = {
        KEY_ID_HEADER: key.key_id,
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: signature(key.secret, "POST", PING, stamp, body),
        "Content-Type": "application/json",
    }

    response = await _post(client, PING, body, headers)

    _assert_refused(response, "PARTNER_TIMESTAMP_OUT_OF_WINDOW")


# ---------------------------------------------------------------------------------------------- replays


async def test_a_replayed_request_is_refused(client: httpx.AsyncClient, key: IssuedKey) -> None:
    body = _body()
    headers = _signed(key, "POST", PING, body)
    assert (await _post(client, PING, body, headers)).status_code == 200

    _assert_refused(await _post(client, PING, body, headers), "PARTNER_SIGNATURE_REPLAYED")


async def test_a_refused_request_does_not_spend_the_genuine_signature(
    client: httpx.AsyncClient, key: IssuedKey
) -> None:
    body = _body()
    headers = _signed(key, "POST", PING, body)
    _assert_refused(await _post(client, PING, b'{"grams_co2e": 1}', headers), "PARTNER_SIGNATURE_INVALID")
    _assert_refused(await _post(client, PING + "?x=1", body, headers), "PARTNER_SIGNATURE_INVALID")

    genuine = await _post(client, PING, body, headers)

    assert genuine.status_code == 200, genuine.text
    _assert_refused(await _post(client, PING, body, headers), "PARTNER_SIGNATURE_REPLAYED")


async def test_a_replay_is_refused_by_another_app_instance_on_the_same_database(
    make_api: MakeApi, key: IssuedKey
) -> None:
    first, second = await make_api(), await make_api()
    body = _body()
    headers = _signed(key, "POST", PING, body)
    assert (await _post(first.client, PING, body, headers)).status_code == 200

    _assert_refused(await _post(second.client, PING, body, headers), "PARTNER_SIGNATURE_REPLAYED")


async def test_the_same_request_sent_to_two_instances_at_once_is_accepted_once(
    make_api: MakeApi, key: IssuedKey
) -> None:
    first, second = await make_api(), await make_api()
    body = _body()
    headers = _signed(key, "POST", PING, body)

    responses = await asyncio.gather(
        _post(first.client, PING, body, headers), _post(second.client, PING, body, headers)
    )

    assert sorted(r.status_code for r in responses) == [200, 401]
    _assert_refused(next(r for r in responses if r.status_code == 401), "PARTNER_SIGNATURE_REPLAYED")


# ---------------------------------------------------------------------------------------------- rotation


async def test_a_second_key_works_alongside_the_first_until_the_first_is_revoked(
    client: httpx.AsyncClient, admin: dict[str, Any], key: IssuedKey
) -> None:
    second = await _issue_key(client, admin, key.partner_id)
    assert second.key_id != key.key_id
    assert second.secret != key.secret

    assert (await _ping(client, key)).status_code == 200
    pinged = await _ping(client, second)
    assert pinged.status_code == 200, pinged.text
    assert pinged.json()["key_id"] == second.key_id

    await _revoke(client, admin, key)

    _assert_refused(await _ping(client, key), "PARTNER_SIGNATURE_INVALID")
    assert (await _ping(client, second)).status_code == 200
    listed = {k["key_id"]: k for k in (await _list_keys(client, admin, key.partner_id)).json()}
    assert listed[key.key_id]["revoked_at"] is not None
    assert listed[second.key_id]["revoked_at"] is None


async def test_revoking_a_key_twice_is_not_found(
    client: httpx.AsyncClient, admin: dict[str, Any], key: IssuedKey
) -> None:
    await _revoke(client, admin, key)

    response = await client.delete(f"{_keys_path(key.partner_id)}/{key.key_id}", headers=bearer(admin))

    _assert_problem(response, 404, "NOT_FOUND")


async def test_a_key_cannot_be_revoked_through_another_partner(
    client: httpx.AsyncClient, admin: dict[str, Any], key: IssuedKey
) -> None:
    other = await _create_partner(client, admin, "gegu-recycling")

    response = await client.delete(f"{_keys_path(other['id'])}/{key.key_id}", headers=bearer(admin))

    _assert_problem(response, 404, "NOT_FOUND")
    assert (await _ping(client, key)).status_code == 200


# ---------------------------------------------------------------------------------------------- roles


@pytest.mark.parametrize("role", [Role.resident, Role.admin_auditor, Role.admin_operator, Role.enterprise])
async def test_only_a_super_admin_manages_partners_and_keys(
    client: httpx.AsyncClient, tokens_for: TokensFor, key: IssuedKey, role: Role
) -> None:
    tokens = await tokens_for(role)

    created = await client.post(
        PARTNERS, json={"code": "sneaky", "name": "Sneaky", "kind": "bike_share"}, headers=bearer(tokens)
    )
    issued = await client.post(_keys_path(key.partner_id), headers=bearer(tokens))
    revoked = await client.delete(f"{_keys_path(key.partner_id)}/{key.key_id}", headers=bearer(tokens))

    for response in (created, issued, revoked):
        _assert_problem(response, 403, "ROLE_NOT_ALLOWED")
    assert (await _ping(client, key)).status_code == 200


@pytest.mark.parametrize("role", [Role.resident, Role.enterprise])
async def test_residents_and_enterprises_cannot_list_partners(
    client: httpx.AsyncClient, tokens_for: TokensFor, key: IssuedKey, role: Role
) -> None:
    tokens = await tokens_for(role)

    for path in (PARTNERS, _keys_path(key.partner_id)):
        _assert_problem(await client.get(path, headers=bearer(tokens)), 403, "ROLE_NOT_ALLOWED")


async def test_anonymous_callers_must_sign_in(client: httpx.AsyncClient, key: IssuedKey) -> None:
    responses = [
        await client.post(PARTNERS, json={"code": "anon", "name": "Anon", "kind": "bike_share"}),
        await client.get(PARTNERS),
        await client.post(_keys_path(key.partner_id)),
        await client.get(_keys_path(key.partner_id)),
        await client.delete(f"{_keys_path(key.partner_id)}/{key.key_id}"),
    ]

    for response in responses:
        _assert_problem(response, 401, "UNAUTHENTICATED")


async def test_an_auditor_lists_partners_and_their_keys_without_secrets(
    client: httpx.AsyncClient, sign_in_staff: StaffSignIn, key: IssuedKey
) -> None:
    auditor = await sign_in_staff(Role.admin_auditor)

    partners = await client.get(PARTNERS, headers=bearer(auditor))
    keys = await client.get(_keys_path(key.partner_id), headers=bearer(auditor))

    assert partners.status_code == 200, partners.text
    assert [p["code"] for p in partners.json()["items"]] == ["jinnan-metro-card"]
    assert keys.status_code == 200, keys.text
    assert [k["key_id"] for k in keys.json()] == [key.key_id]
    assert key.secret not in keys.text


# ---------------------------------------------------------------------------------------------- rate limit


async def test_a_partner_past_its_rate_limit_is_told_when_to_retry(make_api: MakeApi, key: IssuedKey) -> None:
    limited = await make_api(rate_partner_writes_per_min=3)
    for _ in range(3):
        accepted = await _ping(limited.client, key)
        assert accepted.status_code == 200, accepted.text

    refused = await _ping(limited.client, key)

    _assert_problem(refused, 429, "RATE_LIMITED")
    retry_after = refused.headers["retry-after"]
    assert retry_after.isdigit()
    assert int(retry_after) > 0


async def test_the_rate_limit_is_counted_per_partner(
    make_api: MakeApi, client: httpx.AsyncClient, admin: dict[str, Any], key: IssuedKey
) -> None:
    other = await _issue_key(client, admin, (await _create_partner(client, admin, "xiaozhan-gate"))["id"])
    limited = await make_api(rate_partner_writes_per_min=3)
    for _ in range(3):
        assert (await _ping(limited.client, key)).status_code == 200
    _assert_problem(await _ping(limited.client, key), 429, "RATE_LIMITED")

    response = await _ping(limited.client, other)

    assert response.status_code == 200, response.text
