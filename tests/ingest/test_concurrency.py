"""Recording under concurrency: requests that really commit on separate connections (the app's pool, or
two app instances on one database) never credit a key twice, never pass a cap, and never deadlock."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from service.accounts.models import Role
from tests.conftest import Api, bearer
from tests.fixtures.behaviours import (
    SITE_CODES,
    PartnerClient,
    Tokens,
    ago,
    assert_ledger_invariants,
    assert_problem,
    balance,
    behaviour,
    behaviour_body,
    create_partner,
    floor_g,
    history,
    local_day,
    partner_record,
    record,
    record_ok,
)

ResidentSignIn = Callable[[str], Awaitable[Tokens]]
StaffSignIn = Callable[..., Awaitable[Tokens]]
MakeApi = Callable[..., Awaitable[Api]]


@pytest.fixture
async def alice(sign_in_resident: ResidentSignIn) -> Tokens:
    return await sign_in_resident("alice")


async def test_two_identical_requests_at_once_credit_once(api: Api, client: httpx.AsyncClient, alice: Tokens) -> None:
    body = behaviour_body("metro_ride", "10", ago(hours=3), evidence=SITE_CODES)

    responses = await asyncio.gather(record(client, alice, body), record(client, alice, body))

    assert sorted(r.status_code for r in responses) == [200, 201], [r.text for r in responses]
    first, second = (r.json() for r in responses)
    assert first["id"] == second["id"]
    assert sorted([first["replayed"], second["replayed"]]) == [False, True]
    assert first["credited_g"] == second["credited_g"] == 468
    assert await balance(client, alice) == 468
    assert len((await history(client, alice))["items"]) == 1
    await assert_ledger_invariants(api)


async def test_the_same_report_sent_to_two_app_instances_at_once_credits_once(
    api: Api, make_api: MakeApi, alice: Tokens
) -> None:
    other = await make_api()
    bodies = [behaviour_body("metro_ride", "10", ago(hours=3 + i), evidence=SITE_CODES) for i in range(5)]

    responses = await asyncio.gather(*(record(app.client, alice, body) for body in bodies for app in (api, other)))

    statuses = [r.status_code for r in responses]
    assert sorted(statuses) == [200] * 5 + [201] * 5, [r.text for r in responses]
    for pair in zip(responses[::2], responses[1::2], strict=True):
        assert pair[0].json()["id"] == pair[1].json()["id"]
    assert await balance(api.client, alice) == 5 * 468
    await assert_ledger_invariants(api)


async def test_fifty_rides_at_once_never_pass_the_daily_cap(api: Api, client: httpx.AsyncClient, alice: Tokens) -> None:
    # Fifty 3 km rides with a QR, each 3 × 93.3 × 0.8 = 223 g, one after another on one local day:
    # 11,150 g in all against the bike cap of 1,500 g a day.
    grams = floor_g(3 * Decimal("93.3") * Decimal("0.8"))
    starts = [local_day(7) + timedelta(minutes=9 * i) for i in range(50)]
    bodies = [
        behaviour_body("shared_bike", "3", start, ended_at=start + timedelta(minutes=8), evidence=SITE_CODES)
        for start in starts
    ]

    responses = await asyncio.gather(*(record(client, alice, body) for body in bodies))

    assert [r.status_code for r in responses] == [201] * 50, [r.text for r in responses if r.status_code != 201]
    recorded = [r.json() for r in responses]
    credited = sum(r["credited_g"] for r in recorded)
    assert credited == min(50 * grams, 1500) == 1500
    assert sum(r["credited_g"] + r["capped_g"] for r in recorded) == 50 * grams
    assert all(r["cap_reason"] == "daily_cap" for r in recorded if r["capped_g"])
    assert sum(1 for r in recorded if r["credited_g"] == grams) == 1500 // grams
    assert await balance(client, alice) == 1500
    await assert_ledger_invariants(api)


async def test_concurrent_partner_batches_over_the_same_residents_in_opposite_orders_all_complete(
    api: Api, make_api: MakeApi, client: httpx.AsyncClient, sign_in_staff: StaffSignIn, sign_in_resident: ResidentSignIn
) -> None:
    super_admin = await sign_in_staff(Role.admin_super)
    partners: list[PartnerClient] = [
        await create_partner(client, super_admin, "jinnan-metro-card"),
        await create_partner(client, super_admin, "haihe-bike-share", "bike_share"),
    ]
    other = await make_api()
    residents = [await sign_in_resident(f"resident-{i}") for i in range(8)]
    # every resident linked their account at both partners: pseudonyms[p][i] names resident i at partner p
    pseudonyms = [[await partner.link(tokens) for tokens in residents] for partner in partners]

    def batch(n: int) -> list[dict[str, object]]:
        ids = pseudonyms[n % 2]
        order = ids if n % 2 == 0 else list(reversed(ids))
        return [
            partner_record(f"b{n}-{rid}-{k}", rid, "metro_ride", "2", ago(hours=2 + n, minutes=10 * k))
            for rid in order
            for k in range(2)
        ]

    senders = [partners[n % 2].using(api.client if n < 4 else other.client) for n in range(8)]
    responses = await asyncio.gather(*(sender.post(batch(n)) for n, sender in enumerate(senders)))

    assert [r.status_code for r in responses] == [200] * 8, [r.text for r in responses if r.status_code != 200]
    assert all(r.json()["accepted"] == 16 for r in responses)
    per_record = floor_g(2 * Decimal("46.8"))
    assert [await balance(client, tokens) for tokens in residents] == [8 * 2 * per_record] * 8
    await assert_ledger_invariants(api)


async def test_concurrent_requests_with_one_key_and_different_content_credit_once(
    api: Api, make_api: MakeApi, alice: Tokens
) -> None:
    other = await make_api()
    client_id = uuid.uuid4()
    occurred = ago(hours=3)
    short = behaviour_body("metro_ride", "10", occurred, evidence=SITE_CODES, client_id=client_id)
    long = behaviour_body("metro_ride", "30", occurred, evidence=SITE_CODES, client_id=client_id)

    responses = await asyncio.gather(record(api.client, alice, short), record(other.client, alice, long))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409], [r.text for r in responses]
    created = next(r for r in responses if r.status_code == 201).json()
    assert_problem(next(r for r in responses if r.status_code == 409), 409, "DUPLICATE_CONFLICT")
    assert await balance(api.client, alice) == created["credited_g"] in (468, 1404)
    assert len((await history(api.client, alice))["items"]) == 1
    await assert_ledger_invariants(api)


async def test_a_report_and_a_partner_record_of_one_trip_at_once_are_credited_once(
    api: Api, make_api: MakeApi, client: httpx.AsyncClient, alice: Tokens, sign_in_staff: StaffSignIn
) -> None:
    partner = await create_partner(client, await sign_in_staff(Role.admin_super))
    alice_id = await partner.link(alice)
    other = await make_api()
    start = ago(hours=3)

    for n in range(3):
        trip = start - timedelta(hours=n)
        report = behaviour_body("metro_ride", "10", trip, evidence=SITE_CODES)
        batch = [partner_record(f"m-{n}", alice_id, "metro_ride", "10", trip + timedelta(minutes=1))]
        reported, pushed = await asyncio.gather(record(client, alice, report), partner.using(other.client).post(batch))

        assert pushed.status_code == 200, pushed.text
        outcome = pushed.json()["results"][0]
        if reported.status_code == 201:
            assert (outcome["outcome"], outcome["reason"], outcome["credited_g"]) == (
                "duplicate",
                "TRIP_ALREADY_CREDITED",
                0,
            )
        else:
            assert_problem(reported, 409, "TRIP_ALREADY_RECORDED")
            assert (outcome["outcome"], outcome["credited_g"]) == ("accepted", 468)
        assert await balance(client, alice) == 468 * (n + 1)
    await assert_ledger_invariants(api)


async def test_one_external_id_pushed_for_two_residents_at_once_is_credited_once(
    api: Api, make_api: MakeApi, client: httpx.AsyncClient, sign_in_staff: StaffSignIn, sign_in_resident: ResidentSignIn
) -> None:
    partner = await create_partner(client, await sign_in_staff(Role.admin_super))
    other = await make_api()
    residents = [await sign_in_resident("alice"), await sign_in_resident("bob")]
    ids = [await partner.link(tokens) for tokens in residents]

    for n in range(3):
        occurred = ago(hours=2 + n)
        batches = [[partner_record(f"m-{n}", rid, "metro_ride", "10", occurred)] for rid in ids]
        responses = await asyncio.gather(partner.post(batches[0]), partner.using(other.client).post(batches[1]))

        assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
        outcomes = sorted((r.json()["results"][0]["outcome"], r.json()["results"][0]["reason"]) for r in responses)
        assert outcomes == [("accepted", None), ("rejected", "DUPLICATE_CONFLICT")]
        assert sum([await balance(client, tokens) for tokens in residents]) == 468 * (n + 1)
    await assert_ledger_invariants(api)


async def test_an_approval_and_a_superseding_partner_record_at_once_credit_the_trip_once(
    api: Api, make_api: MakeApi, client: httpx.AsyncClient, alice: Tokens, sign_in_staff: StaffSignIn
) -> None:
    partner = await create_partner(client, await sign_in_staff(Role.admin_super))
    operator = await sign_in_staff(Role.admin_operator)
    alice_id = await partner.link(alice)
    other = await make_api()

    for n in range(3):
        trip = ago(hours=2 + n)
        held = await record_ok(client, alice, behaviour_body("metro_ride", "10", trip))
        batch = [partner_record(f"m-{n}", alice_id, "metro_ride", "10", trip + timedelta(minutes=1))]
        decision = {"approve": True, "reason": "gate log matches"}
        reviewed, pushed = await asyncio.gather(
            client.post(f"/v1/admin/behaviours/{held['id']}/review", json=decision, headers=bearer(operator)),
            partner.using(other.client).post(batch),
        )

        assert pushed.status_code == 200, pushed.text
        outcome = pushed.json()["results"][0]
        if reviewed.status_code == 200:
            assert (outcome["outcome"], outcome["reason"], outcome["credited_g"]) == (
                "duplicate",
                "TRIP_ALREADY_CREDITED",
                0,
            )
        else:
            assert_problem(reviewed, 409, "NOT_PENDING_REVIEW")
            assert (outcome["outcome"], outcome["credited_g"]) == ("accepted", 468)
            assert (await behaviour(client, alice, held["id"]))["status"] == "superseded"
        assert await balance(client, alice) == 468 * (n + 1)
    await assert_ledger_invariants(api)
