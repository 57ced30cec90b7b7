"""The enterprise side end to end over HTTP: an enterprise applies and is approved, publishes rewards that
residents browse and redeem for vouchers, takes vouchers at its counter, and retires credits for a
certificate that anyone can check, with the behaviours and factor versions behind its grams."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from service.accounts.models import Role
from tests.conftest import Api, bearer
from tests.fixtures.behaviours import Tokens, assert_problem, balance, now
from tests.fixtures.redemption import (
    ENTERPRISE_REWARDS,
    REWARDS,
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
    refreshed,
    register_enterprise,
    retire,
    review,
    reward_body,
    stock_left,
)

ResidentSignIn = Callable[[str], Awaitable[Tokens]]


@pytest.fixture
async def alice(sign_in_resident: ResidentSignIn) -> Tokens:
    return await sign_in_resident("alice")


@pytest.fixture
async def cafe(client: httpx.AsyncClient, operator: Tokens) -> Tokens:
    return await approved_enterprise(client, operator, "津南绿色咖啡")


# ---------------------------------------------------------------------------------------------- onboarding


async def test_an_enterprise_acts_only_once_an_operator_approves_it(
    client: httpx.AsyncClient, operator: Tokens
) -> None:
    enterprise_id, tokens = await register_enterprise(client, "海河低碳书店")

    assert_problem(
        await client.post(ENTERPRISE_REWARDS, json=reward_body(), headers=bearer(tokens)),
        403,
        "ENTERPRISE_NOT_APPROVED",
    )
    assert_problem(await retire(client, tokens, 1), 403, "ENTERPRISE_NOT_APPROVED")
    pending = await client.get("/v1/admin/enterprises", params={"status": "pending"}, headers=bearer(operator))
    assert [e["id"] for e in pending.json()["items"]] == [enterprise_id]
    assert pending.json()["items"][0]["contact_phone"] == "13812345678"

    approved = await review(client, operator, enterprise_id, "approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert approved.json()["review_reason"] == "approve after checking the licence"
    tokens = await refreshed(client, tokens)
    assert (await client.post(ENTERPRISE_REWARDS, json=reward_body(), headers=bearer(tokens))).status_code == 201

    assert (await review(client, operator, enterprise_id, "suspend")).json()["status"] == "suspended"
    tokens = await refreshed(client, tokens)
    assert_problem(
        await client.post(ENTERPRISE_REWARDS, json=reward_body(), headers=bearer(tokens)),
        403,
        "ENTERPRISE_NOT_APPROVED",
    )
    # a decision that does not fit the current status is refused
    assert_problem(await review(client, operator, enterprise_id, "reject"), 409, "CONFLICT")
    assert_problem(await review(client, operator, 999_999, "approve"), 404, "NOT_FOUND")


async def test_a_rejected_application_stays_unable_to_publish_and_its_details_stay_private(
    client: httpx.AsyncClient, operator: Tokens, alice: Tokens
) -> None:
    enterprise_id, tokens = await register_enterprise(client, "津南回收站")
    assert (await review(client, operator, enterprise_id, "reject")).json()["status"] == "rejected"
    tokens = await refreshed(client, tokens)

    me = await client.get("/v1/enterprise/me", headers=bearer(tokens))
    assert me.json()["status"] == "rejected"
    assert "contact_phone" not in me.text
    assert_problem(await client.get("/v1/admin/enterprises", headers=bearer(alice)), 403, "ROLE_NOT_ALLOWED")
    assert_problem(await client.get("/v1/admin/enterprises", headers=bearer(tokens)), 403, "ROLE_NOT_ALLOWED")


async def test_registering_twice_with_the_same_credit_code_is_refused(client: httpx.AsyncClient) -> None:
    body = {
        "name": "重复企业",
        "credit_code": "91120112MA00001XYZ",
        "contact_name": "李",
        "contact_phone": "13900000000",
        "password": "a long enough password",
        "display_name": "one",
    }
    assert (await client.post("/v1/enterprises/register", json=body)).status_code == 201
    again = await client.post("/v1/enterprises/register", json={**body, "name": "另一个名字"})
    assert_problem(again, 409, "CONFLICT")
    bad = await client.post("/v1/enterprises/register", json={**body, "credit_code": "short"})
    assert_problem(bad, 422, "VALIDATION_FAILED")


async def test_applying_reveals_nothing_about_which_usernames_exist(
    client: httpx.AsyncClient, sign_in_staff: Callable[..., Awaitable[Tokens]]
) -> None:
    """The service draws the applicant's username: a form that took a chosen one would answer, for any
    name, whether a user has it."""
    await sign_in_staff(Role.admin_super, "ops-lead")
    body = {
        "name": "探测企业",
        "credit_code": "91120112MA00777XYZ",
        "contact_name": "赵",
        "contact_phone": "13900000001",
        "password": "a long enough password",
        "display_name": "probe",
    }

    chosen = await client.post("/v1/enterprises/register", json={**body, "username": "ops-lead"})
    applied = await client.post("/v1/enterprises/register", json=body)
    other = await client.post(
        "/v1/enterprises/register", json={**body, "name": "另一家企业", "credit_code": "91120112MA00778XYZ"}
    )

    assert [e["field"] for e in assert_problem(chosen, 422, "VALIDATION_FAILED")["errors"]] == ["username"]
    assert applied.status_code == 201, applied.text
    usernames = {applied.json()["username"], other.json()["username"]}
    assert len(usernames) == 2
    assert all(re.fullmatch(r"ent-[a-z0-9]{10}", name) for name in usernames)
    for name in usernames:
        login = await client.post("/v1/auth/login", json={"username": name, "password": "a long enough password"})
        assert login.status_code == 200, login.text


# ---------------------------------------------------------------------------------------------- catalogue


async def test_a_bad_change_to_a_reward_is_a_422_and_changes_nothing(client: httpx.AsyncClient, cafe: Tokens) -> None:
    reward = await publish(client, cafe)
    url = f"{ENTERPRISE_REWARDS}/{reward['id']}"

    plain_http = await client.patch(url, json={"image_url": "http://img.example.cn/a.png"}, headers=bearer(cafe))
    too_early = await client.patch(url, json={"valid_until": reward["valid_from"]}, headers=bearer(cafe))

    assert_problem(plain_http, 422, "VALIDATION_FAILED")
    assert assert_problem(too_early, 422, "VALIDATION_FAILED")["errors"][0]["field"] == "valid_until"
    mine = (await client.get(ENTERPRISE_REWARDS, headers=bearer(cafe))).json()
    assert [(r["image_url"], r["valid_until"]) for r in mine] == [(reward["image_url"], reward["valid_until"])]


@pytest.mark.parametrize("field", ["status", "description", "valid_until", "add_stock", "image_url"])
async def test_a_reward_field_sent_as_null_is_a_422_naming_it(
    client: httpx.AsyncClient, cafe: Tokens, field: str
) -> None:
    reward = await publish(client, cafe)

    nulled = await client.patch(f"{ENTERPRISE_REWARDS}/{reward['id']}", json={field: None}, headers=bearer(cafe))

    assert [e["field"] for e in assert_problem(nulled, 422, "VALIDATION_FAILED")["errors"]] == [field]
    assert (await client.get(ENTERPRISE_REWARDS, headers=bearer(cafe))).json() == [reward]


async def test_residents_browse_rewards_on_offer_by_category_page_by_page(
    client: httpx.AsyncClient, cafe: Tokens, alice: Tokens
) -> None:
    coffees = [await publish(client, cafe, title=f"咖啡 {n}") for n in range(3)]
    ticket = await publish(client, cafe, title="展会门票", category="culture")
    await publish(client, cafe, title="未开始", valid_from=(now() + timedelta(days=2)).isoformat())
    withdrawn = await publish(client, cafe, title="已下架")
    patched = await client.patch(
        f"{ENTERPRISE_REWARDS}/{withdrawn['id']}", json={"status": "withdrawn"}, headers=bearer(cafe)
    )
    assert patched.json()["status"] == "withdrawn"

    first = await client.get(REWARDS, params={"category": "food_drink", "limit": 2}, headers=bearer(alice))
    assert [r["id"] for r in first.json()["items"]] == [coffees[2]["id"], coffees[1]["id"]]
    second = await client.get(
        REWARDS,
        params={"category": "food_drink", "limit": 2, "cursor": first.json()["next_cursor"]},
        headers=bearer(alice),
    )
    assert [r["id"] for r in second.json()["items"]] == [coffees[0]["id"]]
    assert second.json()["next_cursor"] is None
    everything = await client.get(REWARDS, headers=bearer(alice))
    assert {r["title"] for r in everything.json()["items"]} == {"咖啡 0", "咖啡 1", "咖啡 2", "展会门票"}
    assert (await client.get(f"{REWARDS}/{ticket['id']}", headers=bearer(alice))).json()[
        "enterprise_name"
    ] == "津南绿色咖啡"
    assert_problem(await client.get(f"{REWARDS}/{withdrawn['id']}", headers=bearer(alice)), 404, "REWARD_NOT_FOUND")
    assert_problem(
        await client.get(REWARDS, params={"category": "gold"}, headers=bearer(alice)), 422, "VALIDATION_FAILED"
    )
    assert_problem(await client.get(REWARDS, params={"cursor": "!!"}, headers=bearer(alice)), 400, "INVALID_CURSOR")


async def test_a_reward_with_a_bad_window_price_or_image_is_refused(client: httpx.AsyncClient, cafe: Tokens) -> None:
    for bad in (
        {"valid_until": (now() - timedelta(days=2)).isoformat()},
        {"price_g": 0},
        {"stock": -1},
        {"image_url": "http://img.example.cn/plain.png"},
        {"category": "weapons"},
    ):
        response = await client.post(ENTERPRISE_REWARDS, json=reward_body(**bad), headers=bearer(cafe))
        assert_problem(response, 422, "VALIDATION_FAILED")
    assert (await client.get(ENTERPRISE_REWARDS, headers=bearer(cafe))).json() == []


# ---------------------------------------------------------------------------------------------- vouchers


async def test_redeeming_moves_the_credits_takes_one_from_stock_and_gives_a_single_use_voucher(
    client: httpx.AsyncClient, cafe: Tokens, alice: Tokens
) -> None:
    await earn(client, alice, 2)
    reward = await publish(client, cafe, price_g=500, stock=3)

    redeemed = await redeem_ok(client, alice, reward["id"])

    voucher = redeemed["voucher"]
    assert redeemed["balance_g"] == 2 * RIDE_G - 500 == await balance(client, alice)
    assert voucher["status"] == "issued"
    assert voucher["price_g"] == 500
    assert len(voucher["code"].replace("-", "")) == 16
    assert await stock_left(client, cafe, reward["id"]) == 2
    assert (await enterprise_credits(client, cafe))["outstanding_g"] == 500

    # typed at the counter in lower case without dashes, it is the same code
    taken = await accept(client, cafe, voucher["code"].replace("-", "").lower())
    assert taken.status_code == 200, taken.text
    assert taken.json()["reward_title"] == "低碳咖啡一杯"
    assert_problem(await accept(client, cafe, voucher["code"]), 409, "VOUCHER_USED")
    assert_problem(await cancel(client, alice, voucher["id"]), 409, "VOUCHER_USED")
    mine = await client.get(f"{VOUCHERS}/{voucher['id']}", headers=bearer(alice))
    assert mine.json()["status"] == "used"
    credits = await enterprise_credits(client, cafe)
    assert (credits["balance_g"], credits["outstanding_g"], credits["retirable_g"]) == (500, 0, 500)


async def test_a_retried_redemption_returns_the_same_voucher_and_another_reward_under_its_key_conflicts(
    client: httpx.AsyncClient, cafe: Tokens, alice: Tokens
) -> None:
    await earn(client, alice, 2)
    coffee, tea = await publish(client, cafe), await publish(client, cafe, title="茶")
    key = uuid.uuid4()

    first = await redeem(client, alice, coffee["id"], key)
    again = await redeem(client, alice, coffee["id"], key)
    other = await redeem(client, alice, tea["id"], key)

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["voucher"] == again.json()["voucher"]
    assert_problem(other, 409, "DUPLICATE_CONFLICT")
    assert await balance(client, alice) == 2 * RIDE_G - 400
    assert len((await client.get(VOUCHERS, headers=bearer(alice))).json()["items"]) == 1


async def test_refusals_change_nothing(
    client: httpx.AsyncClient, operator: Tokens, cafe: Tokens, alice: Tokens, sign_in_resident: ResidentSignIn
) -> None:
    await earn(client, alice, 1)
    pricey = await publish(client, cafe, price_g=RIDE_G + 1)
    single = await publish(client, cafe, price_g=100, stock=1, per_resident_limit=1)
    limited = await publish(client, cafe, price_g=100, stock=5, per_resident_limit=1)
    ended = await publish(client, cafe, price_g=100)
    await client.patch(f"{ENTERPRISE_REWARDS}/{ended['id']}", json={"status": "withdrawn"}, headers=bearer(cafe))
    bob = await sign_in_resident("bob")
    await earn(client, bob, 1)
    await redeem_ok(client, bob, single["id"])
    await redeem_ok(client, alice, limited["id"])
    before = await balance(client, alice)

    assert_problem(await redeem(client, alice, pricey["id"]), 409, "INSUFFICIENT_CREDITS")
    assert_problem(await redeem(client, alice, single["id"]), 409, "REWARD_SOLD_OUT")
    assert_problem(await redeem(client, alice, limited["id"]), 409, "REDEMPTION_LIMIT_REACHED")
    assert_problem(await redeem(client, alice, ended["id"]), 409, "REWARD_UNAVAILABLE")
    assert_problem(await redeem(client, alice, 999_999), 404, "REWARD_NOT_FOUND")
    assert_problem(await redeem(client, cafe, limited["id"]), 403, "ROLE_NOT_ALLOWED")

    assert await balance(client, alice) == before
    assert await stock_left(client, cafe, pricey["id"]) == 10
    assert await stock_left(client, cafe, limited["id"]) == 4
    assert len((await client.get(VOUCHERS, headers=bearer(alice))).json()["items"]) == 1


async def test_a_voucher_is_accepted_only_by_its_own_enterprise_and_only_when_valid(
    client: httpx.AsyncClient, operator: Tokens, cafe: Tokens, alice: Tokens
) -> None:
    bookshop = await approved_enterprise(client, operator, "津南书店")
    await earn(client, alice, 1)
    voucher = (await redeem_ok(client, alice, (await publish(client, cafe))["id"]))["voucher"]

    # another enterprise's code is answered as no code is
    assert_problem(await accept(client, bookshop, voucher["code"]), 404, "VOUCHER_NOT_FOUND")
    assert_problem(await accept(client, cafe, "0000-0000-0000-0000"), 404, "VOUCHER_NOT_FOUND")
    assert_problem(await accept(client, cafe, "not a code"), 404, "VOUCHER_NOT_FOUND")
    assert_problem(await accept(client, alice, voucher["code"]), 403, "ROLE_NOT_ALLOWED")
    assert (await client.get(f"{VOUCHERS}/{voucher['id']}", headers=bearer(alice))).json()["status"] == "issued"


async def test_an_expired_voucher_can_be_neither_used_nor_cancelled(
    api: Api, client: httpx.AsyncClient, cafe: Tokens, alice: Tokens
) -> None:
    await earn(client, alice, 1)
    voucher = (await redeem_ok(client, alice, (await publish(client, cafe))["id"]))["voucher"]
    async with api.db.engine.begin() as connection:  # the clock moves on past its expiry
        await connection.execute(
            text(
                "UPDATE redemption_voucher SET issued_at = issued_at - interval '8 days', "
                "expires_at = expires_at - interval '8 days' WHERE id = :id"
            ),
            {"id": voucher["id"]},
        )

    assert_problem(await accept(client, cafe, voucher["code"]), 409, "VOUCHER_EXPIRED")
    assert_problem(await cancel(client, alice, voucher["id"]), 409, "VOUCHER_EXPIRED")
    assert (await client.get(f"{VOUCHERS}/{voucher['id']}", headers=bearer(alice))).json()["status"] == "expired"
    assert await balance(client, alice) == RIDE_G - 400
    # the expired voucher's credits are the enterprise's to retire now
    assert (await enterprise_credits(client, cafe))["retirable_g"] == 400


async def test_cancelling_an_unused_voucher_gives_the_credits_and_the_stock_back_once(
    client: httpx.AsyncClient, cafe: Tokens, alice: Tokens, sign_in_resident: ResidentSignIn
) -> None:
    await earn(client, alice, 1)
    reward = await publish(client, cafe, stock=1)
    voucher = (await redeem_ok(client, alice, reward["id"]))["voucher"]

    cancelled = await cancel(client, alice, voucher["id"])

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["voucher"]["status"] == "cancelled"
    assert cancelled.json()["balance_g"] == RIDE_G == await balance(client, alice)
    assert await stock_left(client, cafe, reward["id"]) == 1
    assert_problem(await cancel(client, alice, voucher["id"]), 409, "VOUCHER_CANCELLED")
    assert_problem(await accept(client, cafe, voucher["code"]), 409, "VOUCHER_CANCELLED")
    assert await balance(client, alice) == RIDE_G
    # the refund gives back what was spent; it is no new credit
    money = (await client.get("/v1/me/balance", headers=bearer(alice))).json()
    assert money == {"balance_g": RIDE_G, "credited_total_g": RIDE_G}
    # another resident cannot see or cancel it
    bob = await sign_in_resident("bob")
    assert_problem(await cancel(client, bob, voucher["id"]), 404, "VOUCHER_NOT_FOUND")
    assert_problem(await client.get(f"{VOUCHERS}/{voucher['id']}", headers=bearer(bob)), 404, "VOUCHER_NOT_FOUND")
    credits = await enterprise_credits(client, cafe)
    assert (credits["balance_g"], credits["outstanding_g"], credits["retirable_g"]) == (0, 0, 0)


# ---------------------------------------------------------------------------------------------- retirement


async def _enterprise_with_used_vouchers(
    client: httpx.AsyncClient, cafe: Tokens, residents: list[Tokens], price_g: int
) -> None:
    reward = await publish(client, cafe, price_g=price_g, stock=len(residents))
    for resident in residents:
        voucher = (await redeem_ok(client, resident, reward["id"]))["voucher"]
        assert (await accept(client, cafe, voucher["code"])).status_code == 200


async def test_retiring_issues_a_certificate_anyone_can_check_with_the_behaviours_behind_it(
    client: httpx.AsyncClient, cafe: Tokens, alice: Tokens, sign_in_resident: ResidentSignIn
) -> None:
    bob = await sign_in_resident("bob")
    await earn(client, alice, 2)
    await earn(client, bob, 1)
    await _enterprise_with_used_vouchers(client, cafe, [alice, bob], price_g=450)
    assert (await enterprise_credits(client, cafe))["retirable_g"] == 900

    response = await retire(client, cafe, 700, "2026 国家会展中心绿色展会碳中和", beneficiary="津南区会展办")

    assert response.status_code == 201, response.text
    certificate = response.json()
    assert certificate["amount_g"] == 700
    assert certificate["number"].startswith(f"TPH-{now().year}-")
    (line,) = certificate["provenance"]
    assert (line["behaviour_type"], line["factor_version"], line["grams"]) == ("metro_ride", "2026.2", 700)
    assert line["behaviours"] >= 2
    public = await client.get(f"/v1/certificates/{certificate['number']}")  # no sign-in
    assert public.status_code == 200
    assert public.json() == certificate
    assert_problem(await client.get("/v1/certificates/TPH-2026-0000000000"), 404, "CERTIFICATE_NOT_FOUND")
    credits = await enterprise_credits(client, cafe)
    assert (credits["balance_g"], credits["retirable_g"], credits["retired_g"]) == (200, 200, 700)
    listed = await client.get("/v1/enterprise/retirements", headers=bearer(cafe))
    assert [c["number"] for c in listed.json()["items"]] == [certificate["number"]]


async def test_the_same_credits_never_back_two_certificates_and_open_vouchers_cannot_be_retired(
    client: httpx.AsyncClient, cafe: Tokens, alice: Tokens, sign_in_resident: ResidentSignIn
) -> None:
    bob = await sign_in_resident("bob")
    await earn(client, alice, 1)
    await earn(client, bob, 1)
    await _enterprise_with_used_vouchers(client, cafe, [alice], price_g=400)
    await redeem_ok(client, bob, (await publish(client, cafe, price_g=400))["id"])  # still open

    first = await retire(client, cafe, 300)
    assert first.status_code == 201
    too_much = await retire(client, cafe, 101)
    assert_problem(too_much, 409, "INSUFFICIENT_CREDITS")
    second = await retire(client, cafe, 100)
    assert second.status_code == 201
    assert_problem(await retire(client, cafe, 1), 409, "INSUFFICIENT_CREDITS")

    grams = [line["grams"] for c in (first.json(), second.json()) for line in c["provenance"]]
    assert sum(grams) == 400
    credits = await enterprise_credits(client, cafe)
    assert (credits["balance_g"], credits["outstanding_g"], credits["retired_g"]) == (400, 400, 400)


async def test_a_retried_retirement_returns_the_same_certificate(
    client: httpx.AsyncClient, cafe: Tokens, alice: Tokens
) -> None:
    await earn(client, alice, 1)
    await _enterprise_with_used_vouchers(client, cafe, [alice], price_g=400)
    body = {"client_id": str(uuid.uuid4()), "amount_g": 250, "purpose": "办公用电抵消"}

    first = await client.post("/v1/enterprise/retirements", json=body, headers=bearer(cafe))
    again = await client.post("/v1/enterprise/retirements", json=body, headers=bearer(cafe))
    changed = await client.post("/v1/enterprise/retirements", json={**body, "amount_g": 100}, headers=bearer(cafe))

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert_problem(changed, 409, "DUPLICATE_CONFLICT")
    assert (await enterprise_credits(client, cafe))["retired_g"] == 250


async def test_retired_credits_can_never_move_again(
    api: Api, client: httpx.AsyncClient, cafe: Tokens, alice: Tokens
) -> None:
    await earn(client, alice, 1)
    await _enterprise_with_used_vouchers(client, cafe, [alice], price_g=400)
    certificate = (await retire(client, cafe, 400)).json()

    async with api.db.engine.connect() as connection:
        retired, cafe_account, lot = (
            await connection.execute(
                text(
                    """
                    SELECT (SELECT id FROM ledger_account WHERE code = 'retired'),
                           (SELECT credit_account_id FROM ledger_transfer WHERE kind = 'redemption'),
                           (SELECT lot_id FROM ledger_lot_move WHERE to_account_id =
                                (SELECT id FROM ledger_account WHERE code = 'retired'))
                    """
                )
            )
        ).one()
    ids = {"retired": retired, "cafe": cafe_account, "lot": lot}
    for statement in (
        "INSERT INTO ledger_transfer (kind, debit_account_id, credit_account_id, amount)"
        " VALUES ('transfer', :retired, :cafe, 1)",
        "UPDATE ledger_lot_move SET grams = grams + 1",
        "DELETE FROM ledger_lot_move",
        "DELETE FROM redemption_certificate",
        "UPDATE redemption_certificate SET amount_g = 1",
        # a lot move out of a holding larger than what is held: the database itself refuses it
        """
        WITH t AS (INSERT INTO ledger_transfer (kind, debit_account_id, credit_account_id, amount, reason)
                   VALUES ('retirement', :cafe, :retired, 1, 'twice') RETURNING id)
        INSERT INTO ledger_lot_move (transfer_id, lot_id, from_account_id, to_account_id, grams)
        SELECT t.id, :lot, :cafe, :retired, 1 FROM t
        """,
    ):
        with pytest.raises(DBAPIError):
            async with api.db.engine.begin() as connection:
                await connection.execute(text(statement), {k: v for k, v in ids.items() if f":{k}" in statement})
    public = await client.get(f"/v1/certificates/{certificate['number']}")
    assert public.json()["amount_g"] == 400


async def test_an_applicant_reads_nothing_but_its_own_application(client: httpx.AsyncClient, operator: Tokens) -> None:
    """Anyone may apply: until an operator approves the enterprise, its user sees its application and its
    own user, and is refused everything else; approval ends its tokens, and a refresh gives ones that read."""
    enterprise_id, tokens = await register_enterprise(client, "申请中企业")

    assert (await client.get("/v1/enterprise/me", headers=bearer(tokens))).json()["status"] == "pending"
    assert (await client.get("/v1/staff/me", headers=bearer(tokens))).status_code == 200
    for path in (
        REWARDS,
        "/v1/leaderboards/residents?period=week",
        "/v1/leaderboards/groups?kind=community",
        ENTERPRISE_REWARDS,
        "/v1/enterprise/retirements",
    ):
        assert_problem(await client.get(path, headers=bearer(tokens)), 403, "ENTERPRISE_NOT_APPROVED")

    assert (await review(client, operator, enterprise_id, "approve")).status_code == 200
    for _ in range(30):  # every worker hears of it within a moment
        ended = await client.get("/v1/enterprise/me", headers=bearer(tokens))
        if ended.status_code == 401:
            break
        await asyncio.sleep(0.05)
    approved = await refreshed(client, tokens)

    assert_problem(ended, 401, "TOKEN_REVOKED")
    assert (await client.get(REWARDS, headers=bearer(approved))).status_code == 200
    assert (await client.get(ENTERPRISE_REWARDS, headers=bearer(approved))).status_code == 200
