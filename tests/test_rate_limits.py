"""Rate limits: sign-in per client address and per username, writes per resident; a refusal changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import text

from load_tests.common.service import free_port, start_service, wait_ready
from service.accounts import staff
from service.accounts.models import Role
from service.accounts.schemas import UserCreate
from tests.conftest import Api, bearer

MakeApi = Callable[..., Awaitable[Api]]

PASSWORD = "correct horse battery staple"


def assert_rate_limited(response: httpx.Response) -> int:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "RATE_LIMITED"
    assert body["status"] == 429
    retry_after = response.headers["retry-after"]
    assert retry_after.isdigit(), retry_after
    seconds = int(retry_after)
    assert 1 <= seconds <= 60
    assert f"{seconds} s" in body["i18n"]["en"]["detail"]
    assert "access_token" not in response.text
    return seconds


@asynccontextmanager
async def client_from(api: Api, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """Another client of the same app, calling from `address`."""
    transport = httpx.ASGITransport(app=api.app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://tanpuhui.test") as client:
        yield client


async def _count(api: Api, table: str) -> int:
    async with api.db.engine.connect() as connection:
        count: int = (await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()  # noqa: S608
    return count


async def _create_staff(api: Api, username: str) -> None:
    async with api.db.sessionmaker.begin() as session:
        await staff.create_user(
            session,
            data=UserCreate(
                username=username,
                password=PASSWORD,
                display_name=username,
                role=Role.admin_super,
            ),
        )


async def _login(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post(
        "/v1/auth/login", json={"username": username, "password": password}, headers={"Accept-Language": "en"}
    )


async def _dev(client: httpx.AsyncClient, name: str) -> httpx.Response:
    return await client.post("/v1/auth/dev", json={"name": name}, headers={"Accept-Language": "en"})


# ---------------------------------------------------------------------------------------------- sign-in per address


async def test_the_fourth_sign_in_from_one_address_in_a_minute_is_refused(make_api: MakeApi) -> None:
    api = await make_api(rate_resident_signin_per_ip_per_min=3)

    allowed = [await _dev(api.client, name) for name in ("alice", "bob", "carol")]
    refused = await _dev(api.client, "dora")

    assert [r.status_code for r in allowed] == [200, 200, 200]
    assert_rate_limited(refused)


async def test_a_refused_sign_in_creates_no_resident_and_no_session(make_api: MakeApi) -> None:
    api = await make_api(rate_resident_signin_per_ip_per_min=1)
    assert (await _dev(api.client, "alice")).status_code == 200
    residents, sessions = await _count(api, "accounts_resident"), await _count(api, "accounts_refresh_token")

    refused = await _dev(api.client, "newcomer")

    assert_rate_limited(refused)
    assert await _count(api, "accounts_resident") == residents
    assert await _count(api, "accounts_refresh_token") == sessions


async def test_another_address_is_not_held_back_by_one_that_is_limited(make_api: MakeApi) -> None:
    api = await make_api(rate_resident_signin_per_ip_per_min=2)
    async with client_from(api, "198.51.100.7") as first, client_from(api, "203.0.113.9") as second:
        for name in ("alice", "bob"):
            assert (await _dev(first, name)).status_code == 200

        assert_rate_limited(await _dev(first, "carol"))
        assert (await _dev(second, "carol")).status_code == 200


async def test_failed_password_sign_ins_count_toward_the_address_limit(make_api: MakeApi) -> None:
    api = await make_api(rate_signin_per_ip_per_min=3)
    await _create_staff(api, "ops-lead")

    failures = [await _login(api.client, "ops-lead", f"wrong password {n}") for n in range(3)]
    with_the_right_password = await _login(api.client, "ops-lead", PASSWORD)

    assert [r.json()["code"] for r in failures] == ["INVALID_CREDENTIALS"] * 3
    assert_rate_limited(with_the_right_password)


async def test_resident_sign_ins_share_their_own_address_limit(make_api: MakeApi) -> None:
    api = await make_api(rate_resident_signin_per_ip_per_min=3)
    tokens = (await _dev(api.client, "alice")).json()

    wechat = await api.client.post("/v1/auth/wechat", json={"code": "invalid"})
    refreshed = await api.client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    refused = await _dev(api.client, "bob")

    assert [wechat.status_code, refreshed.status_code] == [401, 200]
    assert_rate_limited(refused)


async def test_password_guesses_from_an_address_do_not_lock_its_residents_out(make_api: MakeApi) -> None:
    # a campus or a carrier's NAT puts many residents behind one address with whoever guesses passwords
    api = await make_api(rate_signin_per_ip_per_min=2, rate_resident_signin_per_ip_per_min=5)

    guesses = [await _login(api.client, "nobody-here", f"guess {n}") for n in range(3)]
    resident = await _dev(api.client, "alice")

    assert [g.status_code for g in guesses[:2]] == [401, 401]
    assert_rate_limited(guesses[2])
    assert resident.status_code == 200


# ---------------------------------------------------------------------------------------------- sign-in per username


async def test_password_guesses_at_one_username_from_one_address_are_limited(make_api: MakeApi) -> None:
    api = await make_api(rate_signin_per_username_per_min=2)
    await _create_staff(api, "ops-lead")
    await _create_staff(api, "ops-deputy")

    async with client_from(api, "198.51.100.7") as first:
        guesses = [await _login(first, "ops-lead", "guess one"), await _login(first, "OPS-Lead", "guess two")]
        refused = await _login(first, "ops-lead", PASSWORD)
        other_user = await _login(first, "ops-deputy", PASSWORD)

    assert [r.json()["code"] for r in guesses] == ["INVALID_CREDENTIALS"] * 2
    assert_rate_limited(refused)
    assert other_user.status_code == 200, other_user.text


async def test_guesses_from_elsewhere_never_lock_the_owner_out_of_their_own_address(make_api: MakeApi) -> None:
    """A guesser spends the username's budget from other addresses (the owner's first sign-in took one);
    its owner still signs in from the address they signed in from before, though not from a new one
    until the budget refills."""
    api = await make_api(rate_signin_per_username_per_min=3, rate_signin_per_username_per_hour=4)
    await _create_staff(api, "ops-lead")
    async with client_from(api, "203.0.113.9") as office:
        assert (await _login(office, "ops-lead", PASSWORD)).status_code == 200

    guesses = []
    for address in ("198.51.100.7", "198.51.100.8", "198.51.100.9", "198.51.100.10"):
        async with client_from(api, address) as guesser:
            guesses += [await _login(guesser, "ops-lead", f"guess from {address}")]
    async with client_from(api, "203.0.113.9") as office, client_from(api, "192.0.2.44") as new_place:
        owner = [await _login(office, "ops-lead", PASSWORD) for _ in range(2)]
        owner_elsewhere = await _login(new_place, "ops-lead", PASSWORD)

    assert [r.status_code for r in guesses] == [401, 401, 401, 429]
    assert [r.status_code for r in owner] == [200, 200]
    assert owner_elsewhere.status_code == 429
    for refused in (guesses[-1], owner_elsewhere):
        assert refused.json()["code"] == "RATE_LIMITED"
        assert 60 < int(refused.headers["retry-after"]) <= 15 * 60  # the budget of 4 an hour: one per 15 min


async def test_a_refused_password_sign_in_does_not_record_a_login(make_api: MakeApi) -> None:
    api = await make_api(rate_signin_per_username_per_min=1)
    await _create_staff(api, "ops-lead")
    assert (await _login(api.client, "ops-lead", "guess")).status_code == 401

    refused = await _login(api.client, "ops-lead", PASSWORD)

    assert_rate_limited(refused)
    async with api.db.engine.connect() as connection:
        last_login = (
            await connection.execute(text("SELECT last_login_at FROM accounts_user WHERE username = 'ops-lead'"))
        ).scalar_one()
    assert last_login is None
    assert await _count(api, "accounts_refresh_token") == 0


# ---------------------------------------------------------------------------------------------- resident writes


async def _resident(api: Api, name: str) -> dict[str, str]:
    response = await _dev(api.client, name)
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return bearer(tokens)


async def test_a_resident_over_the_write_limit_is_refused_and_others_are_not(make_api: MakeApi) -> None:
    api = await make_api(rate_resident_writes_per_min=2)
    alice, bob = await _resident(api, "alice"), await _resident(api, "bob")

    first = await api.client.patch("/v1/me", json={"nickname": "one"}, headers=alice)
    second = await api.client.patch("/v1/me", json={"nickname": "two"}, headers=alice)
    third = await api.client.patch("/v1/me", json={"nickname": "three"}, headers=alice)
    bobs = await api.client.patch("/v1/me", json={"nickname": "bob"}, headers=bob)

    assert [first.status_code, second.status_code] == [200, 200]
    assert_rate_limited(third)
    assert bobs.status_code == 200, bobs.text
    assert bobs.json()["nickname"] == "bob"


async def test_a_refused_write_changes_nothing(make_api: MakeApi) -> None:
    api = await make_api(rate_resident_writes_per_min=1)
    alice = await _resident(api, "alice")
    assert (await api.client.patch("/v1/me", json={"nickname": "kept"}, headers=alice)).status_code == 200
    before = (await api.client.get("/v1/me", headers=alice)).json()

    patch = await api.client.patch("/v1/me", json={"nickname": "changed", "leaderboard_visible": False}, headers=alice)
    delete = await api.client.delete("/v1/me", headers=alice)

    assert_rate_limited(patch)
    assert_rate_limited(delete)
    after = await api.client.get("/v1/me", headers=alice)
    assert after.status_code == 200
    assert after.json() == before


async def test_reads_are_not_held_back_by_the_write_limit(make_api: MakeApi) -> None:
    api = await make_api(rate_resident_writes_per_min=1)
    alice = await _resident(api, "alice")
    assert (await api.client.patch("/v1/me", json={"nickname": "one"}, headers=alice)).status_code == 200
    assert_rate_limited(await api.client.patch("/v1/me", json={"nickname": "two"}, headers=alice))

    reads = [await api.client.get("/v1/me", headers=alice) for _ in range(3)]

    assert [r.status_code for r in reads] == [200, 200, 200]
    assert reads[-1].json()["nickname"] == "one"


# ---------------------------------------------------------------------------------------------- proxies


async def test_a_client_cannot_name_its_own_address_by_default(database_url: str) -> None:
    """Served as `tanpuhui serve` serves it, with no proxy configured: X-Forwarded-For is ignored, so a
    client sending a new address with each guess is still held to its own address's limit."""
    port = free_port()
    process = start_service(database_url, port, workers=1, settings={"TANPUHUI_RATE_SIGNIN_PER_IP_PER_MIN": "2"})
    try:
        await wait_ready(port, process)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            statuses = [
                (
                    await client.post(
                        "/v1/auth/login",
                        json={"username": "ops-lead", "password": "guess"},
                        headers={"X-Forwarded-For": f"198.51.100.{n}"},
                    )
                ).status_code
                for n in range(1, 4)
            ]
    finally:
        process.terminate()
        process.wait(timeout=30)

    assert statuses == [401, 401, 429]
