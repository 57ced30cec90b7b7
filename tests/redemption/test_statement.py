"""An enterprise's monthly statement: its figures recomputed here from the test's own redemptions,
cancellations, acceptances and retirements; opening balance plus lines closing to the balance the ledger
holds; the same in CSV; another enterprise's movements never in it; residents and administrators refused."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from datetime import datetime

import httpx

from service.accounts.models import Role
from service.kit.clock import SHANGHAI
from tests.conftest import bearer
from tests.fixtures.behaviours import Json, Tokens, assert_problem
from tests.fixtures.redemption import (
    accept,
    approved_enterprise,
    cancel,
    earn,
    enterprise_credits,
    publish,
    redeem_ok,
    register_enterprise,
    retire,
)

STATEMENT = "/v1/enterprise/statement"
ResidentSignIn = Callable[[str], Awaitable[Tokens]]


def this_month() -> str:
    return datetime.now(SHANGHAI).strftime("%Y-%m")


async def statement(client: httpx.AsyncClient, enterprise: Tokens, **params: str | int) -> Json:
    response = await client.get(STATEMENT, params=params, headers=bearer(enterprise))
    assert response.status_code == 200, response.text
    read: Json = response.json()
    return read


async def test_a_months_statement_closes_against_the_ledger_and_shows_only_its_own_movements(
    client: httpx.AsyncClient, operator: Tokens, sign_in_resident: ResidentSignIn
) -> None:
    cafe = await approved_enterprise(client, operator, "津南绿色咖啡")
    bakery = await approved_enterprise(client, operator, "津南低碳面包")
    alice, bob = await sign_in_resident("alice"), await sign_in_resident("bob")
    await earn(client, alice, rides=6)
    await earn(client, bob, rides=2)
    coffee = await publish(client, cafe, price_g=400)
    tea = await publish(client, cafe, title="低碳茶饮一杯", price_g=300)
    bread = await publish(client, bakery, title="全麦面包", price_g=250)
    first, second, third = [(await redeem_ok(client, alice, coffee["id"]))["voucher"] for _ in range(3)]
    teacup = (await redeem_ok(client, bob, tea["id"]))["voucher"]
    loaf = (await redeem_ok(client, bob, bread["id"]))["voucher"]
    for taken in (first, second, teacup):
        assert (await accept(client, cafe, taken["code"])).status_code == 200
    assert (await accept(client, bakery, loaf["code"])).status_code == 200
    assert (await cancel(client, alice, third["id"])).status_code == 200
    retired = await retire(client, cafe, 500)
    assert retired.status_code == 201, retired.text
    certificate = retired.json()["number"]

    read = await statement(client, cafe, month=this_month())

    received, refunded, retired_g = 3 * 400 + 300, 400, 500
    assert read["month"] == this_month()
    assert read["starts_at"].startswith(this_month() + "-01T00:00:00")
    assert (read["opening_balance_g"], read["received_g"], read["refunded_g"], read["retired_g"]) == (
        0,
        received,
        refunded,
        retired_g,
    )
    assert (read["other_in_g"], read["other_out_g"]) == (0, 0)
    assert read["closing_balance_g"] == received - refunded - retired_g
    assert read["closing_balance_g"] == (await enterprise_credits(client, cafe))["balance_g"]
    assert (read["vouchers_accepted"], read["accepted_g"]) == (3, 400 + 400 + 300)
    lines = read["lines"]
    assert [(line["kind"], line["amount_g"], line["voucher_id"]) for line in lines] == [
        ("redemption", 400, first["id"]),
        ("redemption", 400, second["id"]),
        ("redemption", 400, third["id"]),
        ("redemption", 300, teacup["id"]),
        ("refund", -400, third["id"]),
        ("retirement", -500, None),
    ]
    assert [line["voucher_status"] for line in lines[:5]] == ["used", "used", "cancelled", "used", "cancelled"]
    assert lines[3]["reward_title"] == "低碳茶饮一杯"
    assert lines[-1]["certificate_number"] == certificate
    running = read["opening_balance_g"]
    for line in lines:
        running += line["amount_g"]
        assert line["balance_after_g"] == running
    assert running == read["closing_balance_g"]
    assert read["next_cursor"] is None
    assert loaf["id"] not in {line["voucher_id"] for line in lines}

    theirs = await statement(client, bakery, month=this_month())
    assert [(line["kind"], line["voucher_id"]) for line in theirs["lines"]] == [("redemption", loaf["id"])]
    assert (theirs["received_g"], theirs["closing_balance_g"], theirs["vouchers_accepted"]) == (250, 250, 1)


async def test_other_months_carry_the_balance_and_no_lines(
    client: httpx.AsyncClient, operator: Tokens, sign_in_resident: ResidentSignIn
) -> None:
    cafe = await approved_enterprise(client, operator, "津南绿色咖啡")
    alice = await sign_in_resident("alice")
    await earn(client, alice, rides=2)
    coffee = await publish(client, cafe, price_g=400)
    await redeem_ok(client, alice, coffee["id"])
    now = datetime.now(SHANGHAI)
    before = f"{now.year - 1:04d}-{now.month:02d}"
    after = f"{now.year + 1:04d}-{now.month:02d}"

    past, future = await statement(client, cafe, month=before), await statement(client, cafe, month=after)
    current = await statement(client, cafe)

    assert (past["opening_balance_g"], past["closing_balance_g"], past["lines"]) == (0, 0, [])
    assert (future["opening_balance_g"], future["closing_balance_g"], future["lines"]) == (400, 400, [])
    assert (current["month"], current["closing_balance_g"], len(current["lines"])) == (this_month(), 400, 1)


async def test_lines_page_with_a_cursor_and_the_csv_holds_them_all(
    client: httpx.AsyncClient, operator: Tokens, sign_in_resident: ResidentSignIn
) -> None:
    cafe = await approved_enterprise(client, operator, "津南绿色咖啡")
    alice = await sign_in_resident("alice")
    await earn(client, alice, rides=3)
    coffee = await publish(client, cafe, price_g=200)
    redeemed = [(await redeem_ok(client, alice, coffee["id"]))["voucher"]["id"] for _ in range(5)]

    seen: list[int] = []
    page = await statement(client, cafe, limit=2)
    while True:
        seen += [line["voucher_id"] for line in page["lines"]]
        assert page["closing_balance_g"] == 1000
        if page["next_cursor"] is None:
            break
        page = await statement(client, cafe, limit=2, cursor=page["next_cursor"])
    assert seen == redeemed

    response = await client.get(f"{STATEMENT}.csv", params={"month": this_month()}, headers=bearer(cafe))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert f"tanpuhui-statement-{this_month()}.csv" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    figures = {row[0]: row[1] for row in rows[:11] if len(row) == 2}
    assert (figures["opening_balance_g"], figures["received_g"], figures["closing_balance_g"]) == ("0", "1000", "1000")
    header = rows.index(
        [
            "at",
            "kind",
            "amount_g",
            "balance_after_g",
            "voucher_id",
            "voucher_status",
            "reward_title",
            "certificate_number",
            "transfer_id",
        ]
    )
    assert [int(row[4]) for row in rows[header + 1 :]] == redeemed
    assert [int(row[3]) for row in rows[header + 1 :]] == [200, 400, 600, 800, 1000]


async def test_bad_months_and_callers_other_than_an_approved_enterprise_are_refused(
    client: httpx.AsyncClient, sign_in_resident: ResidentSignIn, sign_in_staff: Callable[..., Awaitable[Tokens]]
) -> None:
    cafe = await sign_in_staff(Role.enterprise)
    alice = await sign_in_resident("alice")
    operator = await sign_in_staff(Role.admin_operator)
    _, applicant = await register_enterprise(client, "海河低碳书店")

    for month in ("2026-13", "2026-1", "26-01", "2026-00", "0000-01", "9999-12"):
        refused = await client.get(STATEMENT, params={"month": month}, headers=bearer(cafe))
        assert_problem(refused, 422, "VALIDATION_FAILED")
    for path in (STATEMENT, f"{STATEMENT}.csv"):
        assert_problem(await client.get(path, headers=bearer(alice)), 403, "ROLE_NOT_ALLOWED")
        assert_problem(await client.get(path, headers=bearer(operator)), 403, "ROLE_NOT_ALLOWED")
        assert_problem(await client.get(path, headers=bearer(applicant)), 403, "ENTERPRISE_NOT_APPROVED")
