"""Credit expiry: what is left of credits past their validity goes, oldest first; credits already spent and
credits still valid are never touched; residents see what expires soon.

The job runs with `as_of` a validity period after a boundary taken from the database clock: credits
issued before the boundary are then past their validity and credits issued after it are not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import httpx
from sqlalchemy import text

from service.accounts.models import Role
from service.kit.clock import SHANGHAI
from service.ledger import expiry
from tests.conftest import Api, bearer
from tests.fixtures.behaviours import Tokens, balance
from tests.fixtures.redemption import RIDE_G, approved_enterprise, cancel, earn, enterprise_credits, publish, redeem_ok

MakeApi = Callable[..., Awaitable[Api]]
ResidentSignIn = Callable[[str], Awaitable[Tokens]]
MONTHS = 24


async def _validity_later(api: Api, months: int = MONTHS) -> datetime:
    """The database's now plus `months`: credits issued from here on are still valid at that moment."""
    async with api.db.engine.connect() as connection:
        moment: datetime = (
            await connection.execute(text("SELECT clock_timestamp() + make_interval(months => :m)"), {"m": months})
        ).scalar_one()
    return moment


async def _resident(api: Api, name: str) -> Tokens:
    response = await api.client.post("/v1/auth/dev", json={"name": name})
    assert response.status_code == 200, response.text
    tokens: Tokens = response.json()
    return tokens


async def test_expiry_takes_what_is_left_of_old_credits_never_what_was_spent_or_is_still_valid(
    make_api: MakeApi, sign_in_staff: Callable[..., Awaitable[Tokens]]
) -> None:
    api = await make_api(credit_expiry=False)
    client = api.client
    operator = await sign_in_staff(Role.admin_operator)
    alice = await _resident(api, "alice")
    cafe = await approved_enterprise(client, operator, "津南绿色咖啡")
    await earn(client, alice, 1)  # old credits: 468 g
    voucher = (await redeem_ok(client, alice, (await publish(client, cafe, price_g=300))["id"]))["voucher"]
    as_of = await _validity_later(api)  # everything issued before this instant is past its validity at as_of
    await asyncio.sleep(0.01)
    await earn(client, alice, 1, first_hours_ago=3)  # new credits: 468 g, valid at as_of

    expired = await expiry.run_once(api.db, months=MONTHS, as_of=as_of)

    # 168 g were left of the old ride; the 300 g spent on the voucher and the new ride are untouched
    assert expired == expiry.Expired(residents=1, grams=RIDE_G - 300)
    assert await balance(client, alice) == RIDE_G
    assert await expiry.run_once(api.db, months=MONTHS, as_of=as_of) == expiry.Expired(0, 0)

    # cancelling the voucher brings the old grams back; they are past their validity, and go next time
    cancelled = await cancel(client, alice, voucher["id"])
    assert cancelled.json()["balance_g"] == RIDE_G + 300
    assert await expiry.run_once(api.db, months=MONTHS, as_of=as_of) == expiry.Expired(1, 300)
    assert await balance(client, alice) == RIDE_G
    assert (await enterprise_credits(client, cafe))["balance_g"] == 0


async def test_credits_still_valid_are_never_expired(
    api: Api, client: httpx.AsyncClient, sign_in_resident: ResidentSignIn
) -> None:
    alice = await sign_in_resident("alice")
    await earn(client, alice, 2)

    assert await expiry.run_once(api.db, months=MONTHS) == expiry.Expired(0, 0)
    assert await expiry.run_once(api.db, months=1, as_of=await _validity_later(api, 1) - timedelta(minutes=5)) == (
        expiry.Expired(0, 0)
    )
    assert await balance(client, alice) == 2 * RIDE_G


async def test_two_expiry_jobs_at_once_expire_each_gram_once(make_api: MakeApi) -> None:
    api = await make_api(credit_expiry=False)
    other = await make_api(credit_expiry=False)
    residents = [await _resident(api, f"r{n}") for n in range(4)]
    for resident in residents:
        await earn(api.client, resident, 1)
    as_of = await _validity_later(api)

    results = await asyncio.gather(
        expiry.run_once(api.db, months=MONTHS, as_of=as_of), expiry.run_once(other.db, months=MONTHS, as_of=as_of)
    )
    again = await expiry.run_once(api.db, months=MONTHS, as_of=as_of)

    total = sum(r.grams for r in (*results, again) if r is not None)
    assert total == 4 * RIDE_G
    for resident in residents:
        assert await balance(api.client, resident) == 0


async def test_residents_see_what_expires_soon_by_day(make_api: MakeApi) -> None:
    api = await make_api(credit_validity_months=1, credit_expiry=False)
    client = api.client
    alice = await _resident(api, "alice")
    await earn(client, alice, 2)

    soon = await client.get("/v1/me/credits/expiring", params={"within_days": 40}, headers=bearer(alice))
    later = await client.get("/v1/me/credits/expiring", params={"within_days": 20}, headers=bearer(alice))

    assert soon.status_code == 200, soon.text
    body = soon.json()
    assert (body["validity_months"], body["within_days"], body["total_g"]) == (1, 40, 2 * RIDE_G)
    in_a_month = (datetime.now(SHANGHAI) + timedelta(days=31)).date()
    assert all(
        in_a_month - timedelta(days=4) <= datetime.fromisoformat(d["expires_on"]).date() <= in_a_month
        for d in body["days"]
    )
    assert sum(d["grams"] for d in body["days"]) == 2 * RIDE_G
    assert later.json()["total_g"] == 0
    bad = await client.get("/v1/me/credits/expiring", params={"within_days": 0}, headers=bearer(alice))
    assert bad.status_code == 422
