"""Residents sign in from the mini-program: the service exchanges the wx.login code at a real HTTP server."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import bearer
from tests.fixtures.wechat import FakeWechat


async def _wechat(client: httpx.AsyncClient, code: str) -> httpx.Response:
    return await client.post("/v1/auth/wechat", json={"code": code})


async def _me(client: httpx.AsyncClient, tokens: dict[str, Any]) -> dict[str, Any]:
    response = await client.get("/v1/me", headers=bearer(tokens))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_first_wechat_sign_in_creates_a_resident_and_the_second_finds_it(
    client: httpx.AsyncClient, wechat: FakeWechat
) -> None:
    first = await _wechat(client, "ok:o-alice")
    second = await _wechat(client, "ok:o-alice")

    assert first.status_code == second.status_code == 200
    tokens = first.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["role"] == "resident"
    assert tokens["expires_in"] > 0
    assert (await _me(client, tokens))["id"] == (await _me(client, second.json()))["id"]
    sent = wechat.requests[-1]
    assert sent["appid"] == FakeWechat.APPID
    assert sent["secret"] == FakeWechat.SECRET
    assert sent["js_code"] == "ok:o-alice"
    assert sent["grant_type"] == "authorization_code"


async def test_different_openids_are_different_residents(client: httpx.AsyncClient) -> None:
    alice = await _me(client, (await _wechat(client, "ok:o-alice")).json())
    bob = await _me(client, (await _wechat(client, "ok:o-bob")).json())

    assert alice["id"] != bob["id"]


async def test_the_profile_never_shows_the_openid(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/me", headers=bearer((await _wechat(client, "ok:o-secret-openid")).json()))

    assert "o-secret-openid" not in response.text


async def test_concurrent_first_sign_ins_of_one_openid_make_one_resident(client: httpx.AsyncClient) -> None:
    import asyncio

    responses = await asyncio.gather(*(_wechat(client, "ok:o-racer") for _ in range(5)))

    assert all(r.status_code == 200 for r in responses)
    ids = {(await _me(client, r.json()))["id"] for r in responses}
    assert len(ids) == 1


@pytest.mark.parametrize(
    ("code", "status", "problem"),
    [
        ("invalid", 401, "WECHAT_CODE_INVALID"),
        ("used", 401, "WECHAT_CODE_INVALID"),
        ("risky", 403, "WECHAT_USER_BLOCKED"),
        ("busy", 503, "WECHAT_UNAVAILABLE"),
        ("quota", 503, "WECHAT_UNAVAILABLE"),
        ("garbage", 503, "WECHAT_UNAVAILABLE"),
        ("http500", 503, "WECHAT_UNAVAILABLE"),
        ("slow", 503, "WECHAT_UNAVAILABLE"),
    ],
)
async def test_wechat_refusals_become_clear_problems_and_create_no_resident(
    client: httpx.AsyncClient, code: str, status: int, problem: str
) -> None:
    response = await _wechat(client, code)

    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == problem
    if status == 503:
        assert int(response.headers["retry-after"]) > 0
    assert FakeWechat.SECRET not in response.text


async def test_wechat_unreachable_is_a_503(make_api: Any) -> None:
    api = await make_api(wechat_api_base="http://127.0.0.1:1")

    response = await _wechat(api.client, "ok:o-alice")

    assert response.status_code == 503
    assert response.json()["code"] == "WECHAT_UNAVAILABLE"


async def test_a_wrong_app_secret_is_not_blamed_on_the_resident(make_api: Any) -> None:
    api = await make_api(wechat_secret="not-the-secret")

    response = await _wechat(api.client, "ok:o-alice")

    assert response.status_code == 503
    assert response.json()["code"] == "WECHAT_UNAVAILABLE"


async def test_an_empty_code_is_a_validation_error(client: httpx.AsyncClient) -> None:
    response = await _wechat(client, "")

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "code"


async def test_dev_login_signs_in_the_same_resident_by_name(client: httpx.AsyncClient) -> None:
    first = await client.post("/v1/auth/dev", json={"name": "carol"})
    again = await client.post("/v1/auth/dev", json={"name": "carol"})

    assert (await _me(client, first.json()))["id"] == (await _me(client, again.json()))["id"]


async def test_dev_login_is_absent_when_turned_off(make_api: Any) -> None:
    api = await make_api(dev_login=False)

    response = await api.client.post("/v1/auth/dev", json={"name": "carol"})

    assert response.status_code == 404
