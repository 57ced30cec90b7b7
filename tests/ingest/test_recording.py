"""A resident records behaviours over HTTP: what is credited and why, idempotency, the per-type rules,
review by an operator, history, and factor versions in force at the time a behaviour happened."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from service.accounts.models import Role
from tests.conftest import Api, bearer
from tests.factors import latest_text, shipped_text
from tests.fixtures.behaviours import (
    SITE_CODES,
    Json,
    Tokens,
    ago,
    assert_ledger_invariants,
    assert_problem,
    balance,
    behaviour,
    behaviour_body,
    floor_g,
    history,
    local_day,
    now,
    record,
    record_ok,
)

ResidentSignIn = Callable[[str], Awaitable[Tokens]]
StaffSignIn = Callable[..., Awaitable[Tokens]]
MakeApi = Callable[..., Awaitable[Api]]

METRO_REDUCTION = Decimal("46.8")
FACTOR_DRAFTS = "/v1/admin/factor-drafts"


@pytest.fixture
async def alice(sign_in_resident: ResidentSignIn) -> Tokens:
    return await sign_in_resident("alice")


@pytest.fixture
async def operator(sign_in_staff: StaffSignIn) -> Tokens:
    return await sign_in_staff(Role.admin_operator)


@pytest.fixture
async def second_operator(sign_in_staff: StaffSignIn) -> Tokens:
    return await sign_in_staff(Role.admin_operator, "second-operator")


def _dec(value: Any) -> Decimal:
    return Decimal(str(value))


async def _review(client: httpx.AsyncClient, staff: Tokens, behaviour_id: int, *, approve: bool) -> httpx.Response:
    return await client.post(
        f"/v1/admin/behaviours/{behaviour_id}/review",
        json={"approve": approve, "reason": "checked against the station gate log"},
        headers=bearer(staff),
    )


# ---------------------------------------------------------------------------------------------- credited at once


async def test_a_metro_ride_with_its_stations_codes_is_credited_at_once_with_its_calculation(
    api: Api, client: httpx.AsyncClient, alice: Tokens
) -> None:
    body = behaviour_body("metro_ride", "12.3", ago(hours=3), evidence=SITE_CODES)

    response = await record(client, alice, body)

    assert response.status_code == 201, response.text
    recorded = response.json()
    grams = floor_g(Decimal("12.3") * METRO_REDUCTION)
    assert grams == 575
    assert recorded["replayed"] is False
    assert recorded["status"] == "credited"
    assert recorded["client_id"] == body["client_id"]
    assert recorded["credited_g"] == grams
    assert recorded["capped_g"] == 0
    assert recorded["cap_reason"] is None
    assert recorded["balance_g"] == grams
    calculation = recorded["calculation"]
    assert _dec(calculation["quantity"]) == Decimal("12.3")
    assert calculation["unit"] == "km"
    assert _dec(calculation["baseline_g_per_unit"]) == Decimal("107.8")
    assert _dec(calculation["project_g_per_unit"]) == Decimal("61.0")
    assert _dec(calculation["reduction_g_per_unit"]) == METRO_REDUCTION
    assert calculation["tier"] == "evidence"
    assert _dec(calculation["weight"]) == 1
    assert _dec(calculation["exact_g"]) == Decimal("575.64")
    assert calculation["grams"] == grams
    assert _dec(calculation["remainder_g"]) == Decimal("0.64")
    assert calculation["formula"] == "12.3 km × 46.8 g/km × 1 = 575.64 g → 575 g"
    factor = recorded["factor"]
    assert (factor["set"], factor["version"]) == ("tianjin", "2026.2")
    assert factor["methodology"].startswith("DB11/T 3043-2024 rail transit")
    assert "46.8" in factor["source"]
    assert await balance(client, alice) == grams
    await assert_ledger_invariants(api)


async def test_the_same_client_id_with_the_same_body_replays_the_original_without_a_second_credit(
    api: Api, client: httpx.AsyncClient, alice: Tokens
) -> None:
    body = behaviour_body("metro_ride", "10", ago(hours=3), evidence=SITE_CODES)
    first = await record_ok(client, alice, body)

    again = await record(client, alice, body)

    assert again.status_code == 200, again.text
    replay = again.json()
    assert replay["replayed"] is True
    assert replay["id"] == first["id"]
    assert replay["credited_g"] == first["credited_g"] == 468
    assert replay["balance_g"] == 468
    assert await balance(client, alice) == 468
    assert len((await history(client, alice))["items"]) == 1
    await assert_ledger_invariants(api)


async def test_a_retry_after_the_claim_window_closed_still_replays_the_original(
    api: Api, client: httpx.AsyncClient, alice: Tokens
) -> None:
    # a walk recorded a second before its 2-day claim window closes; the retry arrives after it has
    body = behaviour_body("walking", "10000", ago(days=2, seconds=-1.5))
    first = await record_ok(client, alice, body)
    await asyncio.sleep(2)

    again = await record(client, alice, body)
    fresh = await record(client, alice, {**body, "client_id": str(uuid.uuid4())})
    changed = await record(client, alice, {**body, "quantity": "11"})

    assert again.status_code == 200, again.text
    assert (again.json()["id"], again.json()["replayed"]) == (first["id"], True)
    assert_problem(fresh, 422, "OUTSIDE_CLAIM_WINDOW")
    assert_problem(changed, 409, "DUPLICATE_CONFLICT")
    assert await balance(client, alice) == first["credited_g"] == 100  # 10,000 steps × 0.02 g × 0.5
    await assert_ledger_invariants(api)


async def test_the_same_client_id_with_other_content_is_a_conflict_and_credits_nothing(
    api: Api, client: httpx.AsyncClient, alice: Tokens
) -> None:
    client_id = uuid.uuid4()
    occurred = ago(hours=3)
    first = await record_ok(
        client, alice, behaviour_body("metro_ride", "10", occurred, evidence=SITE_CODES, client_id=client_id)
    )

    other = behaviour_body("metro_ride", "30", occurred, evidence=SITE_CODES, client_id=client_id)
    problem = assert_problem(await record(client, alice, other), 409, "DUPLICATE_CONFLICT")

    assert problem["behaviour_id"] == first["id"]
    assert await balance(client, alice) == 468
    assert [item["id"] for item in (await history(client, alice))["items"]] == [first["id"]]
    await assert_ledger_invariants(api)


async def test_a_self_reported_metro_ride_without_evidence_waits_for_review_and_credits_nothing(
    api: Api, client: httpx.AsyncClient, alice: Tokens
) -> None:
    recorded = await record_ok(client, alice, behaviour_body("metro_ride", "10", ago(hours=3)))

    assert recorded["status"] == "pending_review"
    assert recorded["credited_g"] == 0
    assert recorded["calculation"]["tier"] == "self"
    assert recorded["calculation"]["grams"] == 468
    assert await balance(client, alice) == 0
    await assert_ledger_invariants(api)


# ---------------------------------------------------------------------------------------------- walking


async def test_self_reported_walking_earns_half_weight_and_km_convert_at_1300_steps(
    api: Api, client: httpx.AsyncClient, sign_in_resident: ResidentSignIn, subtests: pytest.Subtests
) -> None:
    cases = [("10000", None, Decimal(10000), 100), ("5", "km", Decimal(6500), 65), ("2.5", "km", Decimal(3250), 32)]
    for n, (quantity, unit, steps, grams) in enumerate(cases):
        with subtests.test(quantity=quantity, unit=unit):
            walker = await sign_in_resident(f"walker-{n}")

            recorded = await record_ok(client, walker, behaviour_body("walking", quantity, ago(hours=2), unit=unit))

            calculation = recorded["calculation"]
            assert recorded["status"] == "credited"
            assert _dec(calculation["quantity"]) == steps
            assert calculation["unit"] == "steps"
            assert _dec(calculation["reported_quantity"]) == Decimal(quantity)
            assert calculation["reported_unit"] == (unit or "steps")
            assert calculation["tier"] == "self"
            assert _dec(calculation["weight"]) == Decimal("0.5")
            assert recorded["credited_g"] == grams == floor_g(steps * Decimal("0.02") * Decimal("0.5"))
            assert await balance(client, walker) == grams
    await assert_ledger_invariants(api)


async def test_a_second_walk_the_same_day_is_cut_to_what_the_daily_cap_leaves_and_a_third_earns_nothing(
    api: Api, client: httpx.AsyncClient, alice: Tokens
) -> None:
    # Self-reported steps earn 0.02 g × 0.5 each: 20,000 steps are 200 g, against a cap of 296 g a day.
    first = await record_ok(client, alice, behaviour_body("walking", "20000", local_day(9)))
    second = await record_ok(client, alice, behaviour_body("walking", "20000", local_day(17)))
    third = await record_ok(client, alice, behaviour_body("walking", "1000", local_day(20)))
    read = await behaviour(client, alice, second["id"])

    assert (first["status"], first["credited_g"], first["capped_g"]) == ("credited", 200, 0)
    assert (second["status"], second["credited_g"], second["capped_g"]) == ("capped", 96, 104)
    assert second["cap_reason"] == "daily_cap"
    assert second["balance_g"] == 296
    assert (read["status"], read["credited_g"], read["capped_g"], read["cap_reason"]) == (
        "capped",
        96,
        104,
        "daily_cap",
    )
    assert (third["status"], third["credited_g"], third["capped_g"], third["balance_g"]) == ("capped", 0, 10, 296)
    assert await balance(client, alice) == 296
    await assert_ledger_invariants(api)


# ---------------------------------------------------------------------------------------------- waste, hydrogen


async def test_waste_sorting_needs_a_known_category(
    api: Api, client: httpx.AsyncClient, alice: Tokens, subtests: pytest.Subtests
) -> None:
    for category in [None, "plastic"]:
        with subtests.test(category=category):
            body = behaviour_body("waste_sorting", "2", ago(hours=2), category=category, evidence=SITE_CODES)

            problem = assert_problem(await record(client, alice, body), 422, "CATEGORY_INVALID")

            assert [e["field"] for e in problem["errors"]] == ["category"]
            assert await balance(client, alice) == 0
            assert (await history(client, alice))["items"] == []


async def test_kitchen_waste_sorted_at_a_recycling_station_earns_half_of_its_reduction(
    api: Api, client: httpx.AsyncClient, alice: Tokens
) -> None:
    body = behaviour_body("waste_sorting", "2", ago(hours=2), category="kitchen_waste", evidence=SITE_CODES)

    recorded = await record_ok(client, alice, body)

    calculation = recorded["calculation"]
    assert recorded["category"] == "kitchen_waste"
    assert recorded["credited_g"] == floor_g(2 * Decimal(458) * Decimal("0.5")) == 458
    assert calculation["tier"] == "evidence"
    assert _dec(calculation["weight"]) == Decimal("0.5")
    assert _dec(calculation["baseline_g_per_unit"]) == 686
    assert _dec(calculation["project_g_per_unit"]) == 228
    assert _dec(calculation["reduction_g_per_unit"]) == 458
    assert await balance(client, alice) == 458
    await assert_ledger_invariants(api)


async def test_a_hydrogen_bus_ride_is_credited_at_the_natural_gas_factor(
    api: Api, client: httpx.AsyncClient, alice: Tokens
) -> None:
    body = behaviour_body("hydrogen_bus_ride", "10", ago(hours=2), evidence=SITE_CODES)

    recorded = await record_ok(client, alice, body)

    calculation = recorded["calculation"]
    # Per pkm: diesel 1370 g / 20 passengers = 68.5; hydrogen 8 kg/100 km × 11,000 g/kg / 20 = 44.
    assert _dec(calculation["baseline_g_per_unit"]) == Decimal("68.5")
    assert _dec(calculation["project_g_per_unit"]) == Decimal(44)
    assert _dec(calculation["reduction_g_per_unit"]) == Decimal("24.5")
    assert recorded["credited_g"] == 245
    assert await balance(client, alice) == 245
    await assert_ledger_invariants(api)


# ---------------------------------------------------------------------------------------------- refusals


def _refusals() -> list[tuple[str, str, Json]]:
    """(code, field named, body); built at run time so that times are relative to now."""
    three_hours_ago = ago(hours=3)
    return [
        ("QUANTITY_OUT_OF_RANGE", "quantity", behaviour_body("metro_ride", "80.5", three_hours_ago)),
        ("QUANTITY_OUT_OF_RANGE", "quantity", behaviour_body("metro_ride", "0.2", three_hours_ago)),
        (
            "SPEED_IMPLAUSIBLE",
            "ended_at",
            # 30 km by bike in ten minutes: 180 km/h.
            behaviour_body("shared_bike", "30", three_hours_ago, ended_at=three_hours_ago + timedelta(minutes=10)),
        ),
        ("TIME_IN_FUTURE", "occurred_at", behaviour_body("metro_ride", "10", now() + timedelta(hours=1))),
        ("OUTSIDE_CLAIM_WINDOW", "occurred_at", behaviour_body("metro_ride", "10", ago(days=8))),
        ("OUTSIDE_CLAIM_WINDOW", "occurred_at", behaviour_body("walking", "5000", ago(days=2, hours=1))),
        ("UNIT_NOT_ACCEPTED", "unit", behaviour_body("metro_ride", "10", three_hours_ago, unit="steps")),
        (
            "UNIT_NOT_ACCEPTED",
            "unit",
            behaviour_body("waste_sorting", "2", three_hours_ago, unit="km", category="recyclables"),
        ),
        (
            "INVALID_INTERVAL",
            "ended_at",
            behaviour_body("metro_ride", "10", three_hours_ago, ended_at=three_hours_ago - timedelta(minutes=20)),
        ),
        ("VALIDATION_FAILED", "type", behaviour_body("teleport", "10", three_hours_ago)),
        ("VALIDATION_FAILED", "quantity", behaviour_body("metro_ride", "-4", three_hours_ago)),
    ]


async def test_a_report_failing_its_types_rules_is_refused_with_its_stable_code_and_credits_nothing(
    api: Api, client: httpx.AsyncClient, alice: Tokens, subtests: pytest.Subtests
) -> None:
    for code, field, body in _refusals():  # the rules apply whatever the evidence: these send none
        with subtests.test(code=code, type=body["type"], field=field):
            problem = assert_problem(await record(client, alice, body), 422, code)

            assert field in [e["field"] for e in problem["errors"]]
            assert await balance(client, alice) == 0
            assert (await history(client, alice))["items"] == []
    await assert_ledger_invariants(api)


async def test_a_residents_overlapping_second_report_of_the_same_trip_is_refused(
    api: Api, client: httpx.AsyncClient, alice: Tokens
) -> None:
    start = ago(hours=3)
    first = await record_ok(
        client,
        alice,
        behaviour_body("metro_ride", "10", start, ended_at=start + timedelta(minutes=25), evidence=SITE_CODES),
    )
    again = behaviour_body("bus_ride", "8", start + timedelta(minutes=10), evidence=SITE_CODES)

    problem = assert_problem(await record(client, alice, again), 409, "TRIP_ALREADY_RECORDED")

    assert problem["related_behaviour_id"] == first["id"]
    assert await balance(client, alice) == 468
    # A ride that starts when the first ended is another trip.
    later = await record_ok(
        client, alice, behaviour_body("bus_ride", "8", start + timedelta(minutes=25), evidence=SITE_CODES)
    )
    assert later["credited_g"] == floor_g(8 * Decimal("26.9"))
    await assert_ledger_invariants(api)


async def test_the_platform_budget_cuts_credits_once_a_slot_is_spent_and_names_the_reason(
    make_api: MakeApi, sign_in_resident: ResidentSignIn
) -> None:
    # 64 slots of 100 g: one resident's slot allows 100 g a day (the remainder goes to slot 0).
    budgeted = await make_api(daily_issuance_budget_g=64 * 100)
    tokens = await sign_in_resident("alice")

    first = await record_ok(budgeted.client, tokens, behaviour_body("walking", "8000", ago(hours=3)))
    second = await record_ok(budgeted.client, tokens, behaviour_body("walking", "8000", ago(hours=2)))
    third = await record_ok(budgeted.client, tokens, behaviour_body("walking", "8000", ago(hours=1)))

    assert (first["status"], first["credited_g"], first["cap_reason"]) == ("credited", 80, None)
    assert (second["status"], second["credited_g"], second["capped_g"]) == ("capped", 20, 60)
    assert second["cap_reason"] == "platform_budget"
    assert (third["credited_g"], third["capped_g"], third["cap_reason"]) == (0, 80, "platform_budget")
    assert await balance(budgeted.client, tokens) == 100
    await assert_ledger_invariants(budgeted)


# ---------------------------------------------------------------------------------------------- reading


async def test_history_pages_by_when_behaviours_happened_most_recent_first_with_a_cursor_and_no_repeats(
    api: Api, client: httpx.AsyncClient, alice: Tokens
) -> None:
    # recorded in another order than they happened; two walks reported for the same moment
    moment = ago(hours=3)
    happened = [moment, ago(hours=6), ago(hours=1), moment, ago(hours=5)]
    recorded = [await record_ok(client, alice, behaviour_body("walking", "1000", at)) for at in happened]
    # the most recent first; of the two at one moment, the one recorded later
    newest_first = [recorded[i]["id"] for i in (2, 3, 0, 4, 1)]

    pages: list[Json] = [await history(client, alice, limit=2)]
    while pages[-1]["next_cursor"] is not None:
        pages.append(await history(client, alice, limit=2, cursor=pages[-1]["next_cursor"]))

    assert [len(p["items"]) for p in pages] == [2, 2, 1]
    assert [item["id"] for p in pages for item in p["items"]] == newest_first
    assert pages[-1]["next_cursor"] is None
    money = (await client.get("/v1/me/balance", headers=bearer(alice))).json()
    assert money == {"balance_g": 50, "credited_total_g": 50}
    await assert_ledger_invariants(api)


async def test_a_bad_cursor_is_refused(client: httpx.AsyncClient, alice: Tokens, subtests: pytest.Subtests) -> None:
    # Not base64 JSON; {"q": 1}; {"p": -1}; []; a list's cursor of one id, {"p": 1}; {"p": [1, 2, 3]};
    # {"p": [1, -2]}; {"p": [true, 1]}; a time past the calendar's end, {"p": [10**30, 1]}; an id past
    # bigint's, {"p": [0, 2**63]}.
    cursors = ["not a cursor!", "eyJxIjogMX0", "eyJwIjogLTF9", "W10", "eyJwIjogMX0", "eyJwIjogWzEsIDIsIDNdfQ"]
    cursors += [
        "eyJwIjogWzEsIC0yXX0",
        "eyJwIjogW3RydWUsIDFdfQ",
        "eyJwIjogWzEwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAsIDFdfQ",
    ]
    for cursor in cursors:
        with subtests.test(cursor=cursor):
            response = await client.get("/v1/me/behaviours", params={"cursor": cursor}, headers=bearer(alice))

            assert_problem(response, 400, "INVALID_CURSOR")


async def test_one_behaviour_shows_its_full_calculation_and_another_resident_cannot_see_it(
    api: Api, client: httpx.AsyncClient, alice: Tokens, sign_in_resident: ResidentSignIn
) -> None:
    recorded = await record_ok(client, alice, behaviour_body("metro_ride", "12.3", ago(hours=3), evidence=SITE_CODES))

    read = await behaviour(client, alice, recorded["id"])
    stranger = await client.get(f"/v1/me/behaviours/{recorded['id']}", headers=bearer(await sign_in_resident("bob")))

    assert read["calculation"] == recorded["calculation"]
    assert read["factor"] == recorded["factor"]
    assert (read["credited_g"], read["status"], read["balance_g"]) == (575, "credited", 575)
    assert read["transfer_id"] is not None
    assert read["reversed_g"] == 0
    assert read["occurred_at"] is not None
    assert datetime.fromisoformat(read["ended_at"]) > datetime.fromisoformat(read["occurred_at"])
    assert_problem(stranger, 404, "NOT_FOUND")
    assert_problem(await client.get("/v1/me/behaviours/999999", headers=bearer(alice)), 404, "NOT_FOUND")


# ---------------------------------------------------------------------------------------------- review


async def test_an_operator_approves_a_pending_report_under_the_caps_of_its_day(
    api: Api, client: httpx.AsyncClient, alice: Tokens, operator: Tokens
) -> None:
    # 10 km with a QR (468 g) credited, then 60 km self-reported (2,808 g) held: the metro cap is 3,000 g a day.
    await record_ok(client, alice, behaviour_body("metro_ride", "10", local_day(8), evidence=SITE_CODES))
    held = await record_ok(client, alice, behaviour_body("metro_ride", "60", local_day(12)))
    pending = await client.get("/v1/admin/behaviours/pending", headers=bearer(operator))
    assert [item["id"] for item in pending.json()["items"]] == [held["id"]]

    response = await _review(client, operator, held["id"], approve=True)

    assert response.status_code == 200, response.text
    decided = response.json()
    assert decided == {"behaviour_id": held["id"], "status": "capped", "credited_g": 2532, "capped_g": 276}
    read = await behaviour(client, alice, held["id"])
    assert (read["status"], read["credited_g"], read["capped_g"], read["cap_reason"]) == (
        "capped",
        2532,
        276,
        "daily_cap",
    )
    assert read["transfer_id"] is not None
    assert await balance(client, alice) == 3000
    assert (await client.get("/v1/admin/behaviours/pending", headers=bearer(operator))).json()["items"] == []
    await assert_ledger_invariants(api)


async def test_an_operator_rejects_a_pending_report_and_nothing_is_credited(
    api: Api, client: httpx.AsyncClient, alice: Tokens, operator: Tokens
) -> None:
    held = await record_ok(client, alice, behaviour_body("metro_ride", "10", ago(hours=3)))

    response = await _review(client, operator, held["id"], approve=False)

    assert response.status_code == 200, response.text
    assert response.json() == {"behaviour_id": held["id"], "status": "rejected", "credited_g": 0, "capped_g": 0}
    read = await behaviour(client, alice, held["id"])
    assert (read["status"], read["credited_g"], read["transfer_id"]) == ("rejected", 0, None)
    assert await balance(client, alice) == 0
    await assert_ledger_invariants(api)


async def test_a_second_decision_on_a_report_is_refused(
    api: Api, client: httpx.AsyncClient, alice: Tokens, operator: Tokens
) -> None:
    approved = await record_ok(client, alice, behaviour_body("metro_ride", "10", ago(hours=3)))
    rejected = await record_ok(client, alice, behaviour_body("metro_ride", "10", ago(hours=5)))
    assert (await _review(client, operator, approved["id"], approve=True)).status_code == 200
    assert (await _review(client, operator, rejected["id"], approve=False)).status_code == 200

    for held, decided in ((approved, "credited"), (rejected, "rejected")):
        for approve in (True, False):
            problem = assert_problem(
                await _review(client, operator, held["id"], approve=approve), 409, "NOT_PENDING_REVIEW"
            )
            assert problem["behaviour_status"] == decided
    assert_problem(await _review(client, operator, 999_999, approve=True), 404, "NOT_FOUND")

    assert await balance(client, alice) == 468
    assert [(await behaviour(client, alice, h["id"]))["status"] for h in (approved, rejected)] == [
        "credited",
        "rejected",
    ]
    await assert_ledger_invariants(api)


async def test_an_auditor_or_a_resident_cannot_review(
    api: Api,
    client: httpx.AsyncClient,
    alice: Tokens,
    sign_in_staff: StaffSignIn,
    sign_in_resident: ResidentSignIn,
) -> None:
    held = await record_ok(client, alice, behaviour_body("metro_ride", "10", ago(hours=3)))

    for tokens in (await sign_in_staff(Role.admin_auditor), await sign_in_resident("bob"), alice):
        assert_problem(await _review(client, tokens, held["id"], approve=True), 403, "ROLE_NOT_ALLOWED")

    assert (await behaviour(client, alice, held["id"]))["status"] == "pending_review"
    assert await balance(client, alice) == 0


# ---------------------------------------------------------------------------------------------- factor versions


def _version_2026_3(valid_from: datetime, *, reduction: str = "50.0", baseline: str = "111.0") -> str:
    """The newest shipped file as 2026.3 from `valid_from`, with another metro reduction."""
    source = latest_text()
    replacements = {
        'version = "2026.2"': 'version = "2026.3"',
        "valid_from = 2026-11-01T00:00:00+08:00": f"valid_from = {valid_from.replace(microsecond=0).isoformat()}",
        'baseline_g_per_unit = "107.8"': f'baseline_g_per_unit = "{baseline}"',
        'reduction_g_per_unit = "46.8"': f'reduction_g_per_unit = "{reduction}"',
    }
    for old, new in replacements.items():
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    return source


async def _upload(client: httpx.AsyncClient, operator: Tokens, source: str) -> httpx.Response:
    return await client.post(FACTOR_DRAFTS, json={"source": source}, headers=bearer(operator))


async def _publish(client: httpx.AsyncClient, uploader: Tokens, approver: Tokens, source: str) -> httpx.Response:
    """A draft uploaded by one operator and approved by another: how a version is published."""
    uploaded = await _upload(client, uploader, source)
    assert uploaded.status_code == 201, uploaded.text
    return await client.post(f"{FACTOR_DRAFTS}/{uploaded.json()['draft_id']}/approve", headers=bearer(approver))


async def test_a_new_factor_version_applies_to_later_behaviours_and_never_changes_earlier_credits(
    api: Api, client: httpx.AsyncClient, alice: Tokens, operator: Tokens, second_operator: Tokens
) -> None:
    earlier = await record_ok(client, alice, behaviour_body("metro_ride", "10", ago(hours=3), evidence=SITE_CODES))

    published = await _publish(client, operator, second_operator, _version_2026_3(ago(minutes=15)))
    assert published.status_code == 200, published.text
    assert (published.json()["status"], published.json()["version"]) == ("approved", "2026.3")
    ride = behaviour_body("metro_ride", "10", ago(minutes=14), ended_at=ago(seconds=10), evidence=SITE_CODES)
    later = await record_ok(client, alice, ride)

    assert (later["factor"]["version"], later["credited_g"]) == ("2026.3", 500)
    assert _dec(later["calculation"]["reduction_g_per_unit"]) == Decimal("50.0")
    kept = await behaviour(client, alice, earlier["id"])
    assert kept["factor"]["version"] == "2026.2"
    assert kept["factor"]["version_id"] == earlier["factor"]["version_id"] != later["factor"]["version_id"]
    assert (kept["credited_g"], kept["calculation"]["grams"]) == (468, 468)
    assert _dec(kept["calculation"]["reduction_g_per_unit"]) == METRO_REDUCTION
    assert _dec(kept["calculation"]["baseline_g_per_unit"]) == Decimal("107.8")
    assert await balance(client, alice) == 968
    versions = (await client.get("/v1/factors/versions")).json()
    assert [v["version"] for v in versions] == ["2026.1", "2026.2", "2026.3"]
    await assert_ledger_invariants(api)


async def test_a_behaviour_before_the_new_versions_valid_from_still_resolves_to_the_old_version(
    api: Api, client: httpx.AsyncClient, alice: Tokens, operator: Tokens, second_operator: Tokens
) -> None:
    assert (await _publish(client, operator, second_operator, _version_2026_3(ago(minutes=1)))).status_code == 200

    before = await record_ok(client, alice, behaviour_body("metro_ride", "10", ago(hours=2), evidence=SITE_CODES))

    assert (before["factor"]["version"], before["credited_g"]) == ("2026.2", 468)
    in_force = {f["behaviour"]: f for f in (await client.get("/v1/factors")).json()}
    assert in_force["metro_ride"]["version"]["version"] == "2026.3"
    await assert_ledger_invariants(api)


async def test_only_an_operator_uploads_a_draft_and_a_published_version_is_never_drafted_again(
    client: httpx.AsyncClient, operator: Tokens, alice: Tokens, sign_in_staff: StaffSignIn
) -> None:
    same = await _upload(client, operator, shipped_text())
    changed = shipped_text().replace("claim_window_days = 1\n", "claim_window_days = 2\n")
    assert changed != shipped_text()

    refused = await _upload(client, operator, changed)

    assert_problem(same, 409, "FACTOR_VERSION_EXISTS")
    assert_problem(refused, 409, "FACTOR_VERSION_EXISTS")
    # Only operators upload drafts.
    for tokens in (alice, await sign_in_staff(Role.admin_auditor)):
        assert_problem(await _upload(client, tokens, _version_2026_3(ago(minutes=1))), 403, "ROLE_NOT_ALLOWED")
    assert (await client.get(FACTOR_DRAFTS, headers=bearer(operator))).json()["items"] == []
    assert [v["version"] for v in (await client.get("/v1/factors/versions")).json()] == ["2026.1", "2026.2"]


async def test_a_factor_file_whose_reduction_is_not_baseline_minus_project_is_refused_listing_the_field(
    client: httpx.AsyncClient, operator: Tokens
) -> None:
    source = _version_2026_3(ago(minutes=1), reduction="52.0")

    problem = assert_problem(await _upload(client, operator, source), 422, "FACTOR_FILE_INVALID")

    fields = [e["field"] for e in problem["errors"]]
    assert "behaviour.metro_ride" in fields
    assert any("reduction_g_per_unit" in e["message"] for e in problem["errors"])
    assert [v["version"] for v in (await client.get("/v1/factors/versions")).json()] == ["2026.1", "2026.2"]


async def test_the_factors_in_force_list_all_seven_types_with_provenance(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/factors")

    assert response.status_code == 200, response.text
    factors = {f["behaviour"]: f for f in response.json()}
    assert set(factors) == {
        "metro_ride",
        "bus_ride",
        "hydrogen_bus_ride",
        "shared_bike",
        "walking",
        "waste_sorting",
        "low_carbon_visit",
    }
    for name, item in factors.items():
        assert item["version"]["set"] == "tianjin", name
        assert item["version"]["version"] == "2026.2", name
        factor = item["factor"]
        for key in ("methodology", "source", "source_region", "conservativeness", "title_zh", "title_en"):
            assert factor[key], (name, key)
        assert isinstance(factor["verified"], bool)
        assert 1990 <= factor["source_year"] <= 2100
        assert factor["caps"]["daily_g"] > 0
    assert _dec(factors["metro_ride"]["factor"]["reduction_g_per_unit"]) == METRO_REDUCTION
    assert factors["walking"]["factor"]["caps"]["daily_g"] == 296
    assert set(factors["waste_sorting"]["factor"]["categories"]) == {
        "recyclables",
        "kitchen_waste",
        "hazardous",
        "residual",
    }
    assert factors["hydrogen_bus_ride"]["factor"]["hydrogen"]["supplier_source"] == "natural_gas"
