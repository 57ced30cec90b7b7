"""A staff user's sign-ins and sessions: every attempt at their username is listed for them, with where it
came from; their active sessions are listed with the current one marked, and any of them can be signed
out, its tokens refused from their next request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from service.accounts.models import Role
from tests.conftest import STAFF_PASSWORD, bearer

SignInStaff = Callable[..., Awaitable[dict[str, Any]]]
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0"


async def _login(client: httpx.AsyncClient, username: str, password: str = STAFF_PASSWORD) -> httpx.Response:
    return await client.post(
        "/v1/auth/login", json={"username": username, "password": password}, headers={"User-Agent": BROWSER}
    )


async def test_a_user_reads_every_attempt_at_their_username_newest_first(
    client: httpx.AsyncClient, sign_in_staff: SignInStaff
) -> None:
    tokens = await sign_in_staff(Role.admin_operator, "ops-lead")
    await sign_in_staff(Role.admin_auditor, "audit.wang")
    await _login(client, "ops-lead", "not the password")
    await _login(client, "ops-lead")

    page = (await client.get("/v1/staff/me/signins", headers=bearer(tokens))).json()

    assert [item["outcome"] for item in page["items"]] == ["signed_in", "wrong_password", "signed_in"]
    latest = page["items"][0]
    assert (latest["address"], latest["user_agent"], latest["second_factor"]) == ("127.0.0.1", BROWSER, None)
    assert page["next_cursor"] is None
    first = (await client.get("/v1/staff/me/signins", params={"limit": 2}, headers=bearer(tokens))).json()
    rest = (
        await client.get(
            "/v1/staff/me/signins", params={"limit": 2, "cursor": first["next_cursor"]}, headers=bearer(tokens)
        )
    ).json()
    assert [item["id"] for item in first["items"] + rest["items"]] == [item["id"] for item in page["items"]]


async def test_a_user_signs_out_another_session_and_its_tokens_are_refused_at_once(
    client: httpx.AsyncClient, sign_in_staff: SignInStaff
) -> None:
    here = await sign_in_staff(Role.enterprise, "shop.zhao")
    other = (await _login(client, "shop.zhao")).json()
    refreshed = await client.post("/v1/auth/refresh", json={"refresh_token": other["refresh_token"]})
    other = refreshed.json()

    sessions = (await client.get("/v1/staff/me/sessions", headers=bearer(here))).json()["items"]
    assert len(sessions) == 2
    current = [s for s in sessions if s["current"]]
    elsewhere = [s for s in sessions if not s["current"]]
    assert len(current) == len(elsewhere) == 1
    assert elsewhere[0]["user_agent"] == BROWSER
    assert elsewhere[0]["last_used_at"] > elsewhere[0]["signed_in_at"]

    ended = await client.delete(f"/v1/staff/me/sessions/{elsewhere[0]['id']}", headers=bearer(here))

    assert ended.status_code == 204
    refused = await client.get("/v1/staff/me", headers=bearer(other))
    assert (refused.status_code, refused.json()["code"]) == (401, "TOKEN_REVOKED")
    assert (await client.post("/v1/auth/refresh", json={"refresh_token": other["refresh_token"]})).status_code == 401
    left = (await client.get("/v1/staff/me/sessions", headers=bearer(here))).json()["items"]
    assert [s["id"] for s in left] == [current[0]["id"]]
    again = await client.delete(f"/v1/staff/me/sessions/{elsewhere[0]['id']}", headers=bearer(here))
    assert (again.status_code, again.json()["code"]) == (404, "SESSION_NOT_FOUND")


async def test_a_user_cannot_see_or_end_another_users_sessions(
    client: httpx.AsyncClient, sign_in_staff: SignInStaff
) -> None:
    mine = await sign_in_staff(Role.admin_super, "root-user")
    theirs = await sign_in_staff(Role.admin_operator, "ops-lead")
    their_session = (await client.get("/v1/staff/me/sessions", headers=bearer(theirs))).json()["items"][0]

    listed = (await client.get("/v1/staff/me/sessions", headers=bearer(mine))).json()["items"]
    ended = await client.delete(f"/v1/staff/me/sessions/{their_session['id']}", headers=bearer(mine))

    assert their_session["id"] not in [s["id"] for s in listed]
    assert (ended.status_code, ended.json()["code"]) == (404, "SESSION_NOT_FOUND")
    assert (await client.get("/v1/staff/me", headers=bearer(theirs))).status_code == 200


async def test_a_resident_has_no_staff_sessions(
    client: httpx.AsyncClient, sign_in_resident: Callable[[str], Awaitable[dict[str, Any]]]
) -> None:
    resident = await sign_in_resident("alice")

    response = await client.get("/v1/staff/me/sessions", headers=bearer(resident))

    assert (response.status_code, response.json()["code"]) == (403, "ROLE_NOT_ALLOWED")
