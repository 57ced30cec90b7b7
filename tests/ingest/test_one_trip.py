"""One trip earns one credit, whoever reports it: two travel records of one resident whose times overlap
are one trip, from one partner under two record ids, from two partners, in one batch or several, at once
or apart. The first credited keeps the credit; the others are duplicates naming it and earn nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from service.accounts.models import Role
from tests.conftest import Api
from tests.fixtures.behaviours import (
    PartnerClient,
    Tokens,
    ago,
    assert_ledger_invariants,
    balance,
    behaviour,
    behaviour_body,
    create_partner,
    floor_g,
    history,
    partner_record,
    record_ok,
)

ResidentSignIn = Callable[[str], Awaitable[Tokens]]
StaffSignIn = Callable[..., Awaitable[Tokens]]
MakeApi = Callable[..., Awaitable[Api]]

RIDE_10_KM = floor_g(10 * Decimal("46.8"))  # 468 g: a 10 km metro ride


@pytest.fixture
async def partners(client: httpx.AsyncClient, sign_in_staff: StaffSignIn) -> tuple[PartnerClient, PartnerClient]:
    super_admin = await sign_in_staff(Role.admin_super)
    return (
        await create_partner(client, super_admin, "jinnan-bus-card"),
        await create_partner(client, super_admin, "jinnan-hydrogen-line"),
    )


@pytest.fixture
async def alice(sign_in_resident: ResidentSignIn) -> Tokens:
    return await sign_in_resident("alice")


@pytest.fixture
async def alice_id(partners: tuple[PartnerClient, PartnerClient], alice: Tokens) -> str:
    """Alice's pseudonym at the bus card: she linked her account there."""
    return await partners[0].link(alice)


def _results(batch: dict[str, object]) -> list[tuple[object, ...]]:
    return [
        (r["external_id"], r["outcome"], r["reason"], r["credited_g"])
        for r in batch["results"]  # type: ignore[attr-defined]
    ]


async def test_one_ride_under_two_ids_in_one_batch_is_credited_once(
    api: Api, client: httpx.AsyncClient, partners: tuple[PartnerClient, PartnerClient], alice: Tokens, alice_id: str
) -> None:
    start, end = ago(hours=3), ago(hours=3) + timedelta(minutes=25)
    result = await partners[0].batch(
        [
            partner_record("m-1", alice_id, "metro_ride", "10", start, ended_at=end),
            partner_record("m-1-again", alice_id, "metro_ride", "10", start, ended_at=end),
        ]
    )

    assert _results(result) == [
        ("m-1", "accepted", None, RIDE_10_KM),
        ("m-1-again", "duplicate", "TRIP_ALREADY_CREDITED", 0),
    ]
    holder = result["results"][0]["behaviour_id"]
    assert result["results"][1]["related_behaviour_id"] == holder
    assert await balance(client, alice) == RIDE_10_KM
    statuses = sorted(item["status"] for item in (await history(client, alice))["items"])
    assert statuses == ["credited", "duplicate"]
    await assert_ledger_invariants(api)


async def test_one_ride_sent_four_times_across_batches_under_new_ids_is_credited_once(
    api: Api, client: httpx.AsyncClient, partners: tuple[PartnerClient, PartnerClient], alice: Tokens, alice_id: str
) -> None:
    start = ago(hours=5)
    outcomes = []
    for n in range(4):
        # the same ride under a new id each time, as a partner system resending it might
        result = await partners[0].batch([partner_record(f"ride-{n}", alice_id, "metro_ride", "10", start)])
        outcomes += _results(result)

    assert outcomes == [
        ("ride-0", "accepted", None, RIDE_10_KM),
        ("ride-1", "duplicate", "TRIP_ALREADY_CREDITED", 0),
        ("ride-2", "duplicate", "TRIP_ALREADY_CREDITED", 0),
        ("ride-3", "duplicate", "TRIP_ALREADY_CREDITED", 0),
    ]
    assert await balance(client, alice) == RIDE_10_KM
    await assert_ledger_invariants(api)


async def test_a_bus_card_and_the_hydrogen_line_reporting_the_same_minutes_are_one_trip(
    api: Api, client: httpx.AsyncClient, partners: tuple[PartnerClient, PartnerClient], alice: Tokens, alice_id: str
) -> None:
    bus_card, hydrogen_line = partners
    # the hydrogen line knows alice by the pseudonym of her link there, not the bus card's
    alice_at_line = await hydrogen_line.link(alice)
    assert alice_at_line != alice_id
    start = ago(hours=4)
    first = await bus_card.batch([partner_record("card-1", alice_id, "bus_ride", "10", start)])
    second = await hydrogen_line.batch(
        [partner_record("h2-1", alice_at_line, "hydrogen_bus_ride", "10", start + timedelta(minutes=1))]
    )

    assert _results(first) == [("card-1", "accepted", None, floor_g(10 * Decimal("26.9")))]
    assert _results(second) == [("h2-1", "duplicate", "TRIP_ALREADY_CREDITED", 0)]
    assert second["results"][0]["related_behaviour_id"] == first["results"][0]["behaviour_id"]
    assert await balance(client, alice) == floor_g(10 * Decimal("26.9"))
    await assert_ledger_invariants(api)


async def test_rides_that_do_not_overlap_are_each_credited(
    api: Api, client: httpx.AsyncClient, partners: tuple[PartnerClient, PartnerClient], alice: Tokens, alice_id: str
) -> None:
    start = ago(hours=6)
    result = await partners[0].batch(
        [
            partner_record("out", alice_id, "metro_ride", "10", start, ended_at=start + timedelta(minutes=20)),
            partner_record(
                "back",
                alice_id,
                "metro_ride",
                "10",
                start + timedelta(minutes=20),
                ended_at=start + timedelta(minutes=40),
            ),
        ]
    )

    assert [r[1] for r in _results(result)] == ["accepted", "accepted"]
    assert await balance(client, alice) == 2 * RIDE_10_KM


async def test_two_partners_batches_at_once_for_the_same_residents_credit_each_trip_once(
    api: Api,
    make_api: MakeApi,
    client: httpx.AsyncClient,
    partners: tuple[PartnerClient, PartnerClient],
    sign_in_resident: ResidentSignIn,
) -> None:
    other = await make_api()
    residents = [await sign_in_resident(f"resident-{i}") for i in range(6)]
    # each resident linked their account at both partners, which know them by different pseudonyms
    at_card = [await partners[0].link(tokens) for tokens in residents]
    at_line = [await partners[1].link(tokens) for tokens in residents]
    everyone = list(range(len(residents)))

    def batch(prefix: str, type_: str, pseudonyms: list[str], order: list[int]) -> list[dict[str, object]]:
        # each resident's three rides an hour apart; both partners report every one of them
        return [
            partner_record(f"{prefix}-{pseudonyms[n]}-{k}", pseudonyms[n], type_, "10", ago(hours=2 + k, minutes=n))
            for n in order
            for k in range(3)
        ]

    sends = []
    for round_ in range(3):
        sends.append(partners[0].using(api.client).post(batch(f"card{round_}", "bus_ride", at_card, everyone)))
        sends.append(
            partners[1]
            .using(other.client)
            .post(batch(f"h2{round_}", "hydrogen_bus_ride", at_line, list(reversed(everyone))))
        )
    responses = await asyncio.gather(*sends)

    assert [r.status_code for r in responses] == [200] * 6
    replies = [r.json() for r in responses]
    assert sum(reply["accepted"] for reply in replies) == 6 * 3
    assert sum(reply["duplicate"] for reply in replies) == 6 * 3 * 5
    credits = {floor_g(10 * Decimal("26.9")), floor_g(10 * Decimal("24.5"))}
    for tokens in residents:
        items = (await history(client, tokens, limit=100))["items"]
        credited = [item for item in items if item["status"] == "credited"]
        assert len(credited) == 3
        assert {item["credited_g"] for item in credited} <= credits
        assert await balance(client, tokens) == sum(item["credited_g"] for item in credited)
    await assert_ledger_invariants(api)


async def test_a_report_waiting_for_review_does_not_let_one_batch_credit_its_trip_twice(
    api: Api, client: httpx.AsyncClient, partners: tuple[PartnerClient, PartnerClient], alice: Tokens, alice_id: str
) -> None:
    start, end = ago(hours=3), ago(hours=3) + timedelta(minutes=25)
    held = await record_ok(client, alice, behaviour_body("metro_ride", "10", start, ended_at=end))
    assert held["status"] == "pending_review"

    result = await partners[0].batch(
        [
            partner_record("m-1", alice_id, "metro_ride", "10", start, ended_at=end),
            partner_record("m-1-again", alice_id, "metro_ride", "10", start, ended_at=end),
        ]
    )

    assert _results(result) == [
        ("m-1", "accepted", None, RIDE_10_KM),
        ("m-1-again", "duplicate", "TRIP_ALREADY_CREDITED", 0),
    ]
    assert await balance(client, alice) == RIDE_10_KM
    assert (await behaviour(client, alice, held["id"]))["status"] == "superseded"
    await assert_ledger_invariants(api)


async def test_in_one_batch_a_ride_overlapping_only_a_duplicate_is_its_own_trip(
    api: Api, client: httpx.AsyncClient, partners: tuple[PartnerClient, PartnerClient], alice: Tokens, alice_id: str
) -> None:
    start = ago(hours=4)

    def ride(external_id: str, begins: int, ends: int) -> dict[str, object]:
        return partner_record(
            external_id,
            alice_id,
            "metro_ride",
            "10",
            start + timedelta(minutes=begins),
            ended_at=start + timedelta(minutes=ends),
        )

    # k, then j overlapping k (a duplicate of it), then l overlapping j alone: as if sent one by one
    result = await partners[0].batch([ride("k", 0, 30), ride("j", 20, 60), ride("l", 45, 75)])

    assert _results(result) == [
        ("k", "accepted", None, RIDE_10_KM),
        ("j", "duplicate", "TRIP_ALREADY_CREDITED", 0),
        ("l", "accepted", None, RIDE_10_KM),
    ]
    assert result["results"][1]["related_behaviour_id"] == result["results"][0]["behaviour_id"]
    assert await balance(client, alice) == 2 * RIDE_10_KM
    await assert_ledger_invariants(api)
