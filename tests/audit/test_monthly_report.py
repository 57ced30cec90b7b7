"""The monthly report per town: for each community and for the district, residents active, behaviours
credited, grams (and CO₂e in kg and t) by behaviour type and plan action, redemptions, retirements,
reviews and flags; the same as CSV; a community alone on request. Figures are those the test recorded."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from service.accounts.models import Role
from service.ingest import fraud
from tests.conftest import Api, bearer
from tests.fixtures.behaviours import (
    SHANGHAI,
    Json,
    Tokens,
    ago,
    assert_problem,
    behaviour_body,
    now,
    record,
    record_ok,
)
from tests.fixtures.redemption import RIDE_G, accept, approved_enterprise, earn, publish, redeem_ok, retire

StaffSignIn = Callable[..., Awaitable[dict[str, Any]]]
REPORT = "/v1/admin/reports/monthly"
PRICE_G = 400


def month_of(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m")


async def _resident(client: httpx.AsyncClient, name: str, community_id: int | None) -> Tokens:
    tokens: Tokens = (await client.post("/v1/auth/dev", json={"name": name})).json()
    if community_id is not None:
        changed = await client.patch("/v1/me", json={"community_id": community_id}, headers=bearer(tokens))
        assert changed.status_code == 200, changed.text
    return tokens


async def _held(client: httpx.AsyncClient, tokens: Tokens, hours_ago: float) -> int:
    body = behaviour_body("waste_sorting", "2", ago(hours=hours_ago), category="kitchen_waste")
    held = await record_ok(client, tokens, body)
    assert held["status"] == "pending_review", held
    behaviour_id: int = held["id"]
    return behaviour_id


async def _decide(client: httpx.AsyncClient, operator: Tokens, behaviour_id: int, approve: bool) -> Json:
    response = await client.post(
        f"/v1/admin/behaviours/{behaviour_id}/review",
        json={"approve": approve, "reason": "photo checked"},
        headers=bearer(operator),
    )
    assert response.status_code == 200, response.text
    decided: Json = response.json()
    return decided


def _kg(grams: int) -> str:
    return str((Decimal(grams) / 1000).quantize(Decimal("0.001")))


async def test_a_months_report_holds_each_towns_figures_and_the_districts(
    api: Api, client: httpx.AsyncClient, sign_in_staff: StaffSignIn
) -> None:
    operator = await sign_in_staff(Role.admin_operator, "ops-li")
    auditor = await sign_in_staff(Role.admin_auditor, "auditor-wu")
    first, second = (await client.get("/v1/communities")).json()[:2]
    if month_of(ago(hours=3)) != month_of(now()):
        pytest.skip("in a month's first hours the rides would fall in the month before")

    alice = await _resident(client, "alice", first["id"])
    await earn(client, alice, rides=2, first_hours_ago=1)
    carol = await _resident(client, "carol", first["id"])
    await _decide(client, operator, await _held(client, carol, 0.5), approve=False)
    bob = await _resident(client, "bob", second["id"])
    await earn(client, bob, rides=1, first_hours_ago=1)
    approved = await _decide(client, operator, await _held(client, bob, 0.5), approve=True)
    waste_g = approved["credited_g"]
    assert waste_g > 0
    dave = await _resident(client, "dave", None)
    await earn(client, dave, rides=1, first_hours_ago=1)
    mallory = await _resident(client, "mallory", second["id"])
    for n in range(3):
        start = ago(minutes=50 - 10 * n)
        body = behaviour_body("metro_ride", "10", start, ended_at=start + timedelta(minutes=5))
        body["evidence"] = {"start_code": f"TPH1:{n}"}
        assert_problem(await record(client, mallory, body), 422, "SITE_CODE_MALFORMED")
    await fraud.scan_once(api.db, api.app.state.factor_cache, fraud.Thresholds.of(api.settings))
    (flag,) = (await client.get("/v1/admin/flags", headers=bearer(operator))).json()["items"]
    confirmed = await client.post(
        f"/v1/admin/flags/{flag['id']}/resolve",
        json={"resolution": "confirmed", "reason": "made-up codes"},
        headers=bearer(operator),
    )
    assert confirmed.status_code == 200, confirmed.text
    shop = await approved_enterprise(client, operator, "津南低碳咖啡")
    reward = await publish(client, shop, price_g=PRICE_G)
    voucher = (await redeem_ok(client, alice, reward["id"]))["voucher"]
    assert (await accept(client, shop, voucher["code"])).status_code == 200
    assert (await retire(client, shop, 150)).status_code == 201
    month = month_of(now())

    response = await client.get(REPORT, params={"month": month}, headers=bearer(auditor))

    assert response.status_code == 200, response.text
    report = response.json()
    towns = {c["community_id"]: c for c in report["communities"]}
    metro_g = 4 * RIDE_G
    total_g = metro_g + waste_g
    assert (report["month"], report["start"][:7], report["community_id"]) == (month, month, None)
    figures = ("active_residents", "behaviours", "credited_g", "redeemed_g", "reviews_approved", "reviews_rejected")
    flags = ("flags_raised", "flags_confirmed")
    assert [towns[first["id"]][k] for k in figures + flags] == [1, 2, 2 * RIDE_G, PRICE_G, 0, 1, 0, 0]
    assert [towns[second["id"]][k] for k in figures + flags] == [1, 2, RIDE_G + waste_g, 0, 1, 0, 1, 1]
    assert [towns[None][k] for k in figures] == [1, 1, RIDE_G, 0, 0, 0]
    assert towns[first["id"]]["name_zh"] == first["name_zh"]
    assert len(towns) == len((await client.get("/v1/communities")).json()) + 1
    total = report["total"]
    assert [total[k] for k in figures + flags] == [3, 5, total_g, PRICE_G, 1, 1, 1, 1]
    assert (total["retired_g"], towns[first["id"]]["retired_g"]) == (150, None)
    assert (total["co2e_kg"], total["co2e_t"]) == (
        _kg(total_g),
        str((Decimal(total_g) / 1_000_000).quantize(Decimal("0.000001"))),
    )
    assert [
        (b["behaviour_type"], b["credited_g"], b["behaviours"], b["active_residents"]) for b in total["by_behaviour"]
    ] == [
        ("metro_ride", metro_g, 4, 3),
        ("waste_sorting", waste_g, 1, 1),
    ]
    assert [(a["code"], a["credited_g"]) for a in total["by_plan_action"]] == [
        ("circular_economy", waste_g),
        ("transport", metro_g),
    ]

    alone = (
        await client.get(REPORT, params={"month": month, "community_id": second["id"]}, headers=bearer(auditor))
    ).json()
    assert [c["community_id"] for c in alone["communities"]] == [second["id"]]
    assert [alone["total"][k] for k in figures + flags] == [1, 2, RIDE_G + waste_g, 0, 1, 0, 1, 1]
    assert alone["total"]["retired_g"] is None

    exported = await client.get(REPORT + ".csv", params={"month": month}, headers=bearer(auditor))
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    town_row = next(r for r in rows if r["community"] == first["name_zh"] and r["section"] == "total")
    assert (town_row["credited_g"], town_row["redeemed_g"], town_row["reviews_rejected"]) == (
        str(2 * RIDE_G),
        str(PRICE_G),
        "1",
    )
    total_row = next(r for r in rows if r["community"] == "全区合计" and r["section"] == "total")
    assert (total_row["credited_g"], total_row["co2e_kg"], total_row["retired_g"]) == (
        str(total_g),
        _kg(total_g),
        "150",
    )


async def test_an_empty_month_reads_zero_and_bad_input_is_refused(
    client: httpx.AsyncClient, sign_in_staff: StaffSignIn
) -> None:
    auditor = await sign_in_staff(Role.admin_auditor, "auditor-wu")
    alice = await _resident(client, "alice", None)
    enterprise = await sign_in_staff(Role.enterprise, "counter")

    empty = (await client.get(REPORT, params={"month": "2020-01"}, headers=bearer(auditor))).json()

    assert (empty["start"], empty["end"]) == ("2020-01-01", "2020-02-01")
    assert [empty["total"][k] for k in ("active_residents", "credited_g", "redeemed_g", "retired_g")] == [0, 0, 0, 0]
    assert all(c["credited_g"] == 0 for c in empty["communities"])
    december = (await client.get(REPORT, params={"month": "2025-12"}, headers=bearer(auditor))).json()
    assert (december["start"], december["end"]) == ("2025-12-01", "2026-01-01")
    bad_queries: list[dict[str, str | int]] = [
        {"month": "2026-13"},
        {"month": "2026-1"},
        {},
        {"month": "2026-11", "community_id": 0},
    ]
    for bad in bad_queries:
        assert_problem(await client.get(REPORT, params=bad, headers=bearer(auditor)), 422, "VALIDATION_FAILED")
    unknown = await client.get(REPORT, params={"month": "2026-11", "community_id": 999_999}, headers=bearer(auditor))
    assert_problem(unknown, 422, "UNKNOWN_COMMUNITY")
    for tokens in (alice, enterprise):
        for path in (REPORT, REPORT + ".csv"):
            refused = await client.get(path, params={"month": "2026-11"}, headers=bearer(tokens))
            assert_problem(refused, 403, "ROLE_NOT_ALLOWED")
