"""An enterprise's list of the vouchers of its rewards: newest first, filtered by status and reward, each
shown by a hint of its code and never the code, and never another enterprise's voucher or a resident."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
from sqlalchemy import text

from service.accounts.models import Role
from tests.conftest import Api, bearer
from tests.fixtures.behaviours import Json, Tokens, assert_problem
from tests.fixtures.redemption import accept, approved_enterprise, cancel, earn, publish, redeem_ok

LIST = "/v1/enterprise/vouchers"
ResidentSignIn = Callable[[str], Awaitable[Tokens]]


async def vouchers(client: httpx.AsyncClient, enterprise: Tokens, **params: str | int) -> Json:
    response = await client.get(LIST, params=params, headers=bearer(enterprise))
    assert response.status_code == 200, response.text
    page: Json = response.json()
    return page


async def test_an_enterprise_lists_its_vouchers_by_status_and_reward_without_their_codes(
    api: Api, client: httpx.AsyncClient, operator: Tokens, sign_in_resident: ResidentSignIn
) -> None:
    cafe = await approved_enterprise(client, operator, "津南绿色咖啡")
    bakery = await approved_enterprise(client, operator, "津南低碳面包")
    alice = await sign_in_resident("alice")
    await earn(client, alice, rides=6)
    coffee = await publish(client, cafe, price_g=400)
    tea = await publish(client, cafe, title="低碳茶饮一杯", price_g=300)
    bread = await publish(client, bakery, title="全麦面包", price_g=200)
    used, cancelled, open_, lapsed = [(await redeem_ok(client, alice, coffee["id"]))["voucher"] for _ in range(4)]
    teacup = (await redeem_ok(client, alice, tea["id"]))["voucher"]
    theirs = (await redeem_ok(client, alice, bread["id"]))["voucher"]
    assert (await accept(client, cafe, used["code"])).status_code == 200
    assert (await cancel(client, alice, cancelled["id"])).status_code == 200
    async with api.db.engine.begin() as connection:  # its time is up; no sweep has marked it
        await connection.execute(
            text(
                "UPDATE redemption_voucher SET issued_at = issued_at - interval '10 days',"
                " expires_at = issued_at - interval '9 days' WHERE id = :id"
            ),
            {"id": lapsed["id"]},
        )

    listed = (await vouchers(client, cafe))["items"]

    assert [v["id"] for v in listed] == [teacup["id"], lapsed["id"], open_["id"], cancelled["id"], used["id"]]
    by_id = {v["id"]: v for v in listed}
    assert [by_id[v["id"]]["status"] for v in (used, cancelled, open_, lapsed)] == [
        "used",
        "cancelled",
        "issued",
        "expired",
    ]
    assert by_id[used["id"]]["used_at"] is not None
    assert by_id[cancelled["id"]]["cancelled_at"] is not None
    assert by_id[lapsed["id"]]["expired_at"] == by_id[lapsed["id"]]["expires_at"]
    assert by_id[open_["id"]]["code_hint"] == "…" + open_["code"][-4:]
    assert by_id[teacup["id"]]["reward_title"] == "低碳茶饮一杯"
    body = str(listed)
    for voucher in (used, cancelled, open_, lapsed, teacup):
        assert voucher["code"] not in body
        assert voucher["code"].replace("-", "") not in body
    assert "resident" not in body
    assert theirs["id"] not in by_id

    assert [v["id"] for v in (await vouchers(client, cafe, status="expired"))["items"]] == [lapsed["id"]]
    assert [v["id"] for v in (await vouchers(client, cafe, status="issued"))["items"]] == [teacup["id"], open_["id"]]
    assert [v["id"] for v in (await vouchers(client, cafe, status="used"))["items"]] == [used["id"]]
    assert [v["id"] for v in (await vouchers(client, cafe, reward_id=tea["id"]))["items"]] == [teacup["id"]]
    assert (await vouchers(client, cafe, reward_id=bread["id"]))["items"] == []
    assert [v["id"] for v in (await vouchers(client, bakery))["items"]] == [theirs["id"]]


async def test_the_list_pages_with_a_cursor(
    client: httpx.AsyncClient, operator: Tokens, sign_in_resident: ResidentSignIn
) -> None:
    cafe = await approved_enterprise(client, operator, "津南绿色咖啡")
    alice = await sign_in_resident("alice")
    await earn(client, alice, rides=3)
    coffee = await publish(client, cafe, price_g=200)
    redeemed = [(await redeem_ok(client, alice, coffee["id"]))["voucher"]["id"] for _ in range(5)]

    seen: list[int] = []
    page = await vouchers(client, cafe, limit=2)
    while True:
        seen += [v["id"] for v in page["items"]]
        if page["next_cursor"] is None:
            break
        page = await vouchers(client, cafe, limit=2, cursor=page["next_cursor"])

    assert seen == sorted(redeemed, reverse=True)
    assert_problem(await client.get(LIST, params={"cursor": "nonsense"}, headers=bearer(cafe)), 400, "INVALID_CURSOR")
    assert_problem(await client.get(LIST, params={"status": "lost"}, headers=bearer(cafe)), 422, "VALIDATION_FAILED")


async def test_residents_and_administrators_cannot_list_an_enterprises_vouchers(
    client: httpx.AsyncClient, sign_in_resident: ResidentSignIn, sign_in_staff: Callable[..., Awaitable[Tokens]]
) -> None:
    alice = await sign_in_resident("alice")
    auditor = await sign_in_staff(Role.admin_auditor)

    assert_problem(await client.get(LIST, headers=bearer(alice)), 403, "ROLE_NOT_ALLOWED")
    assert_problem(await client.get(LIST, headers=bearer(auditor)), 403, "ROLE_NOT_ALLOWED")
    assert_problem(await client.get(LIST), 401, "UNAUTHENTICATED")
