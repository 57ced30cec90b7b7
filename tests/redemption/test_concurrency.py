"""Redemption under concurrency: requests that really commit on separate connections (the app's pool, or two
app instances on one database) never sell more than the stock, never spend a gram twice, settle a voucher
once (used or cancelled, never both), and never certify more than an enterprise may retire."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterable

import httpx
import pytest

from service.accounts.models import Role
from tests.conftest import Api, bearer
from tests.fixtures.behaviours import Json, Tokens, assert_problem, balance
from tests.fixtures.redemption import (
    RIDE_G,
    VOUCHERS,
    accept,
    approved_enterprise,
    cancel,
    earn,
    enterprise_credits,
    publish,
    redeem,
    redeem_ok,
    retire,
    stock_left,
)

ResidentSignIn = Callable[[str], Awaitable[Tokens]]
StaffSignIn = Callable[..., Awaitable[Tokens]]
MakeApi = Callable[..., Awaitable[Api]]


@pytest.fixture
async def other(make_api: MakeApi) -> Api:
    """A second app instance on the same database, with a pool wide enough for every request of a race."""
    return await make_api(db_pool_size=25)


@pytest.fixture
async def enterprise(client: httpx.AsyncClient, operator: Tokens) -> Tokens:
    return await approved_enterprise(client, operator, "津南低碳咖啡馆")


@pytest.fixture
async def alice(sign_in_resident: ResidentSignIn) -> Tokens:
    return await sign_in_resident("alice")


async def voucher(client: httpx.AsyncClient, resident: Tokens, voucher_id: int) -> Json:
    response = await client.get(f"{VOUCHERS}/{voucher_id}", headers=bearer(resident))
    assert response.status_code == 200, response.text
    read: Json = response.json()
    return read


async def my_vouchers(client: httpx.AsyncClient, resident: Tokens) -> list[Json]:
    response = await client.get(VOUCHERS, params={"limit": 100}, headers=bearer(resident))
    assert response.status_code == 200, response.text
    items: list[Json] = response.json()["items"]
    return items


async def later(delay: float, request: Awaitable[httpx.Response]) -> httpx.Response:
    """The request, started `delay` seconds from now: to land at various points of a concurrent one."""
    await asyncio.sleep(delay)
    return await request


def by_status(responses: Iterable[httpx.Response], status: int) -> list[httpx.Response]:
    return [r for r in responses if r.status_code == status]


async def test_twenty_residents_racing_for_five_rewards_get_exactly_five(
    api: Api, other: Api, client: httpx.AsyncClient, enterprise: Tokens, sign_in_resident: ResidentSignIn
) -> None:
    reward = await publish(client, enterprise, stock=5, price_g=400)
    residents = [await sign_in_resident(f"resident-{i}") for i in range(20)]
    for resident in residents:
        await earn(client, resident)

    responses = await asyncio.gather(
        *(redeem((api, other)[i % 2].client, resident, reward["id"]) for i, resident in enumerate(residents))
    )

    statuses = [r.status_code for r in responses]
    assert sorted(statuses) == [201] * 5 + [409] * 15, [r.text for r in responses]
    for response in by_status(responses, 409):
        assert_problem(response, 409, "REWARD_SOLD_OUT")
    won = [r.json() for r in by_status(responses, 201)]
    assert all(w["balance_g"] == RIDE_G - 400 for w in won)
    assert len({w["voucher"]["id"] for w in won}) == len({w["voucher"]["code"] for w in won}) == 5
    assert await stock_left(client, enterprise, reward["id"]) == 0
    for resident, status in zip(residents, statuses, strict=True):
        assert await balance(client, resident) == (RIDE_G - 400 if status == 201 else RIDE_G)
        assert len(await my_vouchers(client, resident)) == (1 if status == 201 else 0)
    credits = await enterprise_credits(client, enterprise)
    assert (credits["balance_g"], credits["outstanding_g"], credits["retirable_g"]) == (2000, 2000, 0)


async def test_one_resident_redeeming_from_two_devices_at_once_cannot_spend_the_same_grams_twice(
    api: Api, other: Api, client: httpx.AsyncClient, enterprise: Tokens, alice: Tokens
) -> None:
    await earn(client, alice, 2)
    reward = await publish(client, enterprise, price_g=600, stock=10, per_resident_limit=5)

    responses = await asyncio.gather(
        redeem(api.client, alice, reward["id"], uuid.uuid4()), redeem(other.client, alice, reward["id"], uuid.uuid4())
    )

    assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
    assert_problem(by_status(responses, 409)[0], 409, "INSUFFICIENT_CREDITS")
    assert by_status(responses, 201)[0].json()["balance_g"] == 2 * RIDE_G - 600 == 336
    assert await balance(client, alice) == 336
    assert await stock_left(client, enterprise, reward["id"]) == 9
    assert len(await my_vouchers(client, alice)) == 1
    assert (await enterprise_credits(client, enterprise))["balance_g"] == 600


async def test_one_resident_redeeming_from_two_devices_at_once_cannot_pass_the_per_resident_limit(
    api: Api, other: Api, client: httpx.AsyncClient, enterprise: Tokens, alice: Tokens
) -> None:
    await earn(client, alice, 2)
    reward = await publish(client, enterprise, price_g=400, stock=10, per_resident_limit=1)

    responses = await asyncio.gather(
        redeem(api.client, alice, reward["id"], uuid.uuid4()), redeem(other.client, alice, reward["id"], uuid.uuid4())
    )

    assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
    assert_problem(by_status(responses, 409)[0], 409, "REDEMPTION_LIMIT_REACHED")
    assert await balance(client, alice) == 2 * RIDE_G - 400
    assert await stock_left(client, enterprise, reward["id"]) == 9
    assert len(await my_vouchers(client, alice)) == 1


async def test_the_same_client_id_sent_twice_at_once_buys_one_voucher(
    api: Api, other: Api, client: httpx.AsyncClient, enterprise: Tokens, alice: Tokens
) -> None:
    await earn(client, alice)
    reward = await publish(client, enterprise, price_g=400, stock=10)
    client_id = uuid.uuid4()

    responses = await asyncio.gather(
        redeem(api.client, alice, reward["id"], client_id), redeem(other.client, alice, reward["id"], client_id)
    )

    assert sorted(r.status_code for r in responses) == [200, 201], [r.text for r in responses]
    first, second = (r.json() for r in responses)
    assert first["voucher"]["id"] == second["voucher"]["id"]
    assert first["voucher"]["code"] == second["voucher"]["code"]
    assert first["balance_g"] == second["balance_g"] == RIDE_G - 400
    assert [v["id"] for v in await my_vouchers(client, alice)] == [first["voucher"]["id"]]
    assert await balance(client, alice) == RIDE_G - 400
    assert await stock_left(client, enterprise, reward["id"]) == 9
    assert (await enterprise_credits(client, enterprise))["balance_g"] == 400


async def test_a_cancellation_and_an_acceptance_of_one_voucher_at_once_settle_it_once(
    api: Api, other: Api, client: httpx.AsyncClient, enterprise: Tokens, alice: Tokens
) -> None:
    await earn(client, alice, 6)
    reward = await publish(client, enterprise, price_g=400, stock=10, per_resident_limit=6)
    vouchers = [(await redeem_ok(client, alice, reward["id"]))["voucher"] for _ in range(6)]
    outcomes: list[str] = []

    for n, issued in enumerate(vouchers):
        held = await balance(client, alice)
        left = await stock_left(client, enterprise, reward["id"])
        before = await enterprise_credits(client, enterprise)
        # Alternate which request starts first, so that each side sometimes waits on the other's lock.
        if n % 2 == 0:
            cancelled, accepted = await asyncio.gather(
                cancel(api.client, alice, issued["id"]), accept(other.client, enterprise, issued["code"])
            )
        else:
            accepted, cancelled = await asyncio.gather(
                accept(other.client, enterprise, issued["code"]), cancel(api.client, alice, issued["id"])
            )

        after = await enterprise_credits(client, enterprise)
        assert after["outstanding_g"] == before["outstanding_g"] - 400
        if cancelled.status_code == 200:
            outcomes.append("cancelled")
            assert_problem(accepted, 409, "VOUCHER_CANCELLED")
            assert cancelled.json()["balance_g"] == held + 400
            assert await balance(client, alice) == held + 400
            assert await stock_left(client, enterprise, reward["id"]) == left + 1
            assert (await voucher(client, alice, issued["id"]))["status"] == "cancelled"
            assert after["balance_g"] == before["balance_g"] - 400
            assert after["retirable_g"] == before["retirable_g"]
        else:
            outcomes.append("used")
            assert_problem(cancelled, 409, "VOUCHER_USED")
            assert accepted.status_code == 200, accepted.text
            assert accepted.json()["voucher_id"] == issued["id"]
            assert await balance(client, alice) == held
            assert await stock_left(client, enterprise, reward["id"]) == left
            assert (await voucher(client, alice, issued["id"]))["status"] == "used"
            assert after["balance_g"] == before["balance_g"]
            assert after["retirable_g"] == before["retirable_g"] + 400

    cancelled_count = outcomes.count("cancelled")
    assert await balance(client, alice) == 6 * RIDE_G - 400 * outcomes.count("used")
    assert await stock_left(client, enterprise, reward["id"]) == 10 - 6 + cancelled_count


async def test_the_same_voucher_cancelled_twice_at_once_refunds_once(
    api: Api, other: Api, client: httpx.AsyncClient, enterprise: Tokens, alice: Tokens
) -> None:
    await earn(client, alice, 3)
    reward = await publish(client, enterprise, price_g=400, stock=10, per_resident_limit=3)
    vouchers = [(await redeem_ok(client, alice, reward["id"]))["voucher"] for _ in range(3)]
    assert await balance(client, alice) == 3 * RIDE_G - 1200

    for n, issued in enumerate(vouchers):
        held = await balance(client, alice)
        left = await stock_left(client, enterprise, reward["id"])
        apps = (api, other) if n % 2 == 0 else (other, api)

        responses = await asyncio.gather(*(cancel(app.client, alice, issued["id"]) for app in apps))

        assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
        assert_problem(by_status(responses, 409)[0], 409, "VOUCHER_CANCELLED")
        done = by_status(responses, 200)[0].json()
        assert done["voucher"]["status"] == "cancelled"
        assert done["balance_g"] == held + 400
        assert await balance(client, alice) == held + 400
        assert await stock_left(client, enterprise, reward["id"]) == left + 1

    assert await balance(client, alice) == 3 * RIDE_G
    assert await stock_left(client, enterprise, reward["id"]) == 10
    credits = await enterprise_credits(client, enterprise)
    assert (credits["balance_g"], credits["outstanding_g"], credits["retirable_g"]) == (0, 0, 0)


async def test_the_same_voucher_accepted_at_two_counters_at_once_is_used_once(
    api: Api, other: Api, client: httpx.AsyncClient, enterprise: Tokens, alice: Tokens, sign_in_staff: StaffSignIn
) -> None:
    enterprise_id = (await enterprise_credits(client, enterprise))["enterprise_id"]
    second_counter = await sign_in_staff(Role.enterprise, "counter-2", enterprise_id)
    await earn(client, alice, 3)
    reward = await publish(client, enterprise, price_g=400, stock=10, per_resident_limit=3)
    vouchers = [(await redeem_ok(client, alice, reward["id"]))["voucher"] for _ in range(3)]

    for issued in vouchers:
        # One counter types the code as printed, the other scans it without dashes in lower case.
        typed = issued["code"].replace("-", "").lower()
        responses = await asyncio.gather(
            accept(api.client, enterprise, issued["code"]), accept(other.client, second_counter, typed)
        )

        assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
        assert_problem(by_status(responses, 409)[0], 409, "VOUCHER_USED")
        assert by_status(responses, 200)[0].json()["voucher_id"] == issued["id"]
        used = await voucher(client, alice, issued["id"])
        assert used["status"] == "used"
        assert used["used_at"] is not None

    assert await balance(client, alice) == 3 * RIDE_G - 1200
    credits = await enterprise_credits(client, enterprise)
    assert (credits["balance_g"], credits["outstanding_g"], credits["retirable_g"]) == (1200, 0, 1200)


async def test_concurrent_retirements_never_certify_more_than_is_retirable(
    api: Api, other: Api, client: httpx.AsyncClient, enterprise: Tokens, alice: Tokens
) -> None:
    await earn(client, alice, 6)
    reward = await publish(client, enterprise, price_g=400, stock=10, per_resident_limit=6)
    vouchers = [(await redeem_ok(client, alice, reward["id"]))["voucher"] for _ in range(6)]
    for issued in vouchers[:5]:  # the sixth stays open: its grams may still go back, so they are not retirable
        response = await accept(client, enterprise, issued["code"])
        assert response.status_code == 200, response.text
    before = await enterprise_credits(client, enterprise)
    assert (before["balance_g"], before["outstanding_g"], before["retirable_g"]) == (2400, 400, 2000)
    amounts = [700, 650, 600, 550, 500, 450, 400, 350]  # 4,200 g asked against 2,000 g retirable

    responses = await asyncio.gather(
        *(retire((api, other)[i % 2].client, enterprise, amount) for i, amount in enumerate(amounts))
    )

    assert all(r.status_code in (201, 409) for r in responses), [r.text for r in responses]
    certified = [r.json() for r in by_status(responses, 201)]
    refused = [amount for amount, r in zip(amounts, responses, strict=True) if r.status_code == 409]
    for response in by_status(responses, 409):
        assert_problem(response, 409, "INSUFFICIENT_CREDITS")
    total = sum(c["amount_g"] for c in certified)
    assert certified, "at least the first retirement fits"
    assert total <= before["retirable_g"]
    assert len({c["number"] for c in certified}) == len(certified)
    for c in certified:
        assert sum(line["grams"] for line in c["provenance"]) == c["amount_g"]
    after = await enterprise_credits(client, enterprise)
    assert after["retirable_g"] == before["retirable_g"] - total
    assert after["retired_g"] == total
    assert after["balance_g"] == before["balance_g"] - total
    assert after["outstanding_g"] == 400
    # Each refusal saw no more than is left now (retirable grams only ever went down meanwhile).
    assert all(amount > after["retirable_g"] for amount in refused)
    listed = await client.get("/v1/enterprise/retirements", headers=bearer(enterprise))
    assert listed.status_code == 200, listed.text
    assert sorted(c["number"] for c in listed.json()["items"]) == sorted(c["number"] for c in certified)
    # The open voucher can still be cancelled and its grams go back in full.
    cancelled = await cancel(client, alice, vouchers[5]["id"])
    assert cancelled.status_code == 200, cancelled.text
    assert await balance(client, alice) == 6 * RIDE_G - 2000


async def test_the_same_retirement_sent_twice_at_once_certifies_once(
    api: Api, other: Api, client: httpx.AsyncClient, enterprise: Tokens, alice: Tokens
) -> None:
    await earn(client, alice)
    reward = await publish(client, enterprise, price_g=400, stock=10)
    issued = (await redeem_ok(client, alice, reward["id"]))["voucher"]
    accepted = await accept(client, enterprise, issued["code"])
    assert accepted.status_code == 200, accepted.text
    client_id = str(uuid.uuid4())

    responses = await asyncio.gather(
        *(retire(app.client, enterprise, 300, client_id=client_id) for app in (api, other))
    )

    assert sorted(r.status_code for r in responses) == [200, 201], [r.text for r in responses]
    first, second = (r.json() for r in responses)
    assert first == second
    credits = await enterprise_credits(client, enterprise)
    assert (credits["balance_g"], credits["retirable_g"], credits["retired_g"]) == (100, 100, 300)


async def test_a_cancellation_frees_the_last_one_while_another_resident_redeems_it(
    api: Api, other: Api, client: httpx.AsyncClient, enterprise: Tokens, sign_in_resident: ResidentSignIn
) -> None:
    reward = await publish(client, enterprise, price_g=400, stock=1, per_resident_limit=5)
    holders = [await sign_in_resident("alice"), await sign_in_resident("bob")]
    for resident in holders:
        await earn(client, resident, 3)
    outcomes: list[int] = []

    for n, delay in enumerate((0.0, 0.002, 0.005, 0.01, 0.04)):
        holder, waiter = holders[n % 2], holders[(n + 1) % 2]
        issued = (await redeem_ok(client, holder, reward["id"]))["voucher"]
        assert await stock_left(client, enterprise, reward["id"]) == 0
        waiter_had = await balance(client, waiter)

        cancelled, redeemed = await asyncio.gather(
            cancel(api.client, holder, issued["id"]), later(delay, redeem(other.client, waiter, reward["id"]))
        )

        assert cancelled.status_code == 200, cancelled.text
        outcomes.append(redeemed.status_code)
        if redeemed.status_code == 201:
            assert await stock_left(client, enterprise, reward["id"]) == 0
            assert await balance(client, waiter) == waiter_had - 400
        else:
            assert_problem(redeemed, 409, "REWARD_SOLD_OUT")
            assert await stock_left(client, enterprise, reward["id"]) == 1
            assert await balance(client, waiter) == waiter_had
        # Cancel whatever the waiter got, so that each round starts again from one left in stock.
        for resident in holders:
            for open_voucher in [v for v in await my_vouchers(client, resident) if v["status"] == "issued"]:
                response = await cancel(client, resident, open_voucher["id"])
                assert response.status_code == 200, response.text

    assert [await balance(client, resident) for resident in holders] == [3 * RIDE_G] * 2
    credits = await enterprise_credits(client, enterprise)
    assert (credits["balance_g"], credits["outstanding_g"]) == (0, 0)


async def test_redemptions_cancellations_acceptances_and_retirements_at_once_all_complete(
    api: Api, other: Api, client: httpx.AsyncClient, enterprise: Tokens, sign_in_resident: ResidentSignIn
) -> None:
    rewards = [
        await publish(client, enterprise, price_g=price, stock=50, per_resident_limit=10) for price in (300, 200)
    ]
    residents = [await sign_in_resident(f"resident-{i}") for i in range(6)]
    for resident in residents:
        await earn(client, resident, 4)
    # Each resident holds two vouchers: one to cancel and one for the counter; 1,872 − 500 g are left.
    held = [
        [(await redeem_ok(client, resident, reward["id"]))["voucher"] for reward in rewards] for resident in residents
    ]
    first_accepted = await accept(client, enterprise, held[0][1]["code"])
    assert first_accepted.status_code == 200, first_accepted.text

    calls: list[Awaitable[httpx.Response]] = []
    for i, (resident, (to_cancel, to_accept)) in enumerate(zip(residents, held, strict=True)):
        app = (api, other)[i % 2]
        calls.append(cancel(app.client, resident, to_cancel["id"]))
        if i:
            calls.append(accept((other, api)[i % 2].client, enterprise, to_accept["code"]))
        calls.append(redeem(app.client, resident, rewards[i % 2]["id"]))
        calls.append(retire((other, api)[i % 2].client, enterprise, 100))

    responses = await asyncio.gather(*calls)

    assert all(r.status_code in (200, 201, 409) for r in responses), [r.text for r in responses]
    refused = by_status(responses, 409)
    for response in refused:
        assert_problem(response, 409, "INSUFFICIENT_CREDITS")  # only a retirement may find too little
    certified = sum(r.json()["amount_g"] for r in by_status(responses, 201) if "number" in r.json())
    credits = await enterprise_credits(client, enterprise)
    assert credits["retired_g"] == certified
    assert credits["balance_g"] == credits["outstanding_g"] + credits["retirable_g"]
    assert credits["retirable_g"] + certified == 200 * len(residents)  # every second voucher was accepted
    spent = 0
    for resident in residents:
        vouchers = await my_vouchers(client, resident)
        assert sorted(v["status"] for v in vouchers) == ["cancelled", "issued", "used"]
        paid = sum(v["price_g"] for v in vouchers if v["status"] != "cancelled")
        assert await balance(client, resident) == 4 * RIDE_G - paid
        spent += paid
    assert credits["balance_g"] + certified == spent
