"""Revocation takes effect at once: a disabled staff user, a signed-out sign-in and a deleted account
lose access within about a second on every worker (two apps on one database stand for two workers),
without a database read per request."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from sqlalchemy import text

from service.accounts import revocations
from service.accounts.models import Role
from tests.conftest import Api, bearer

MakeApi = Callable[..., Awaitable[Api]]
SignInStaff = Callable[..., Awaitable[dict[str, Any]]]


async def _refused_within(client: httpx.AsyncClient, path: str, tokens: dict[str, Any], seconds: float) -> float:
    """Seconds until `path` answers 401 TOKEN_REVOKED with these tokens; fails after `seconds`."""
    began = time.monotonic()
    while True:
        response = await client.get(path, headers=bearer(tokens))
        if response.status_code == 401:
            assert response.json()["code"] == "TOKEN_REVOKED", response.text
            assert response.headers["content-type"] == "application/problem+json"
            return time.monotonic() - began
        assert response.status_code < 500, response.text  # a deleted account's reads find nothing meanwhile
        assert time.monotonic() - began < seconds, f"{path} still served after {seconds} s"
        await asyncio.sleep(0.05)


async def _drop_listeners(api: Api) -> int:
    """Cut every worker's LISTEN connection on this database; answers how many there were."""
    async with api.db.engine.connect() as connection:
        dropped = await connection.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND query LIKE 'LISTEN%'"
            )
        )
    return int(dropped)


async def test_a_disabled_staff_user_loses_access_on_every_worker_within_a_second(
    make_api: MakeApi, sign_in_staff: SignInStaff, api: Api
) -> None:
    other_worker = await make_api()
    superuser = await sign_in_staff(Role.admin_super, "root-user")
    operator = await sign_in_staff(Role.admin_operator, "ops-lead")
    users = (await api.client.get("/v1/admin/users", headers=bearer(superuser))).json()["items"]
    operator_id = next(u["id"] for u in users if u["username"] == "ops-lead")
    for client in (api.client, other_worker.client):
        assert (await client.get("/v1/admin/users", headers=bearer(operator))).status_code == 200

    disabled = await api.client.patch(
        f"/v1/admin/users/{operator_id}", json={"disabled": True}, headers=bearer(superuser)
    )

    assert disabled.status_code == 200, disabled.text
    assert await _refused_within(other_worker.client, "/v1/admin/users", operator, seconds=1.5) < 1.5
    assert await _refused_within(api.client, "/v1/admin/users", operator, seconds=1.5) < 1.5
    for client in (api.client, other_worker.client):  # the rest are untouched
        assert (await client.get("/v1/admin/users", headers=bearer(superuser))).status_code == 200


async def test_signing_out_ends_that_sign_in_on_every_worker_and_no_other(make_api: MakeApi, api: Api) -> None:
    other_worker = await make_api()
    phone = (await api.client.post("/v1/auth/dev", json={"name": "alice"})).json()
    tablet = (await api.client.post("/v1/auth/dev", json={"name": "alice"})).json()

    out = await api.client.post("/v1/auth/logout", json={"refresh_token": phone["refresh_token"]})

    assert out.status_code == 204
    assert await _refused_within(other_worker.client, "/v1/me", phone, seconds=1.5) < 1.5
    assert await _refused_within(api.client, "/v1/me", phone, seconds=1.5) < 1.5
    for client in (api.client, other_worker.client):
        assert (await client.get("/v1/me", headers=bearer(tablet))).status_code == 200


async def test_a_deleted_account_loses_access_on_every_worker(make_api: MakeApi, api: Api) -> None:
    other_worker = await make_api()
    tokens = (await api.client.post("/v1/auth/dev", json={"name": "bob"})).json()
    assert (await other_worker.client.get("/v1/me", headers=bearer(tokens))).status_code == 200

    deleted = await api.client.delete("/v1/me", headers=bearer(tokens))

    assert deleted.status_code == 204, deleted.text
    assert await _refused_within(other_worker.client, "/v1/me", tokens, seconds=1.5) < 1.5


async def test_a_worker_started_after_the_revocation_refuses_the_token_from_its_first_request(
    make_api: MakeApi, api: Api
) -> None:
    tokens = (await api.client.post("/v1/auth/dev", json={"name": "carol"})).json()
    assert (
        await api.client.post("/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    ).status_code == 204

    started_later = await make_api()
    first = await started_later.client.get("/v1/me", headers=bearer(tokens))

    assert first.status_code == 401
    assert first.json()["code"] == "TOKEN_REVOKED"


async def test_a_new_sign_in_after_a_revocation_works(make_api: MakeApi, api: Api) -> None:
    tokens = (await api.client.post("/v1/auth/dev", json={"name": "dave"})).json()
    await api.client.post("/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    await _refused_within(api.client, "/v1/me", tokens, seconds=1.5)

    again = (await api.client.post("/v1/auth/dev", json={"name": "dave"})).json()

    assert (await api.client.get("/v1/me", headers=bearer(again))).status_code == 200


async def test_a_worker_that_lost_its_notifications_still_learns_within_seconds(make_api: MakeApi, api: Api) -> None:
    """The fallback read: with every listening connection dropped, a sign-out still reaches each worker
    within the poll interval."""
    other_worker = await make_api()
    tokens = (await api.client.post("/v1/auth/dev", json={"name": "erin"})).json()
    dropped = await _drop_listeners(api)
    assert dropped == 2  # one per worker

    assert (
        await api.client.post("/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    ).status_code == 204

    limit = revocations.POLL_INTERVAL_S + 1.5
    assert await _refused_within(other_worker.client, "/v1/me", tokens, seconds=limit) < limit


async def test_the_worker_that_ends_a_sign_in_refuses_its_token_on_the_next_request(api: Api) -> None:
    """With its notifications cut, the worker that signed a resident out or deleted the account still
    refuses the token at once: it reads its own revocation when the transaction commits."""
    signed_out = (await api.client.post("/v1/auth/dev", json={"name": "frank"})).json()
    deleted = (await api.client.post("/v1/auth/dev", json={"name": "grace"})).json()
    dropped = await _drop_listeners(api)
    assert dropped == 1

    out = await api.client.post("/v1/auth/logout", json={"refresh_token": signed_out["refresh_token"]})
    gone = await api.client.delete("/v1/me", headers=bearer(deleted))

    assert (out.status_code, gone.status_code) == (204, 204)
    for tokens in (signed_out, deleted):
        after = await api.client.get("/v1/me", headers=bearer(tokens))
        assert after.status_code == 401, after.text
        assert after.json()["code"] == "TOKEN_REVOKED"
