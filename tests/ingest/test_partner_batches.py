"""A data partner pushes signed batches of verified records: one outcome per record, in order; one bad
record never fails the batch; keys, replays and overlapping trips never credit a trip twice."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal

import asyncpg
import httpx
import pytest

from service.accounts.models import Role
from service.ingest import batches
from service.ingest.schemas import BatchResult
from service.kit.devdb import asyncpg_dsn
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


@pytest.fixture
async def partner(client: httpx.AsyncClient, sign_in_staff: StaffSignIn) -> PartnerClient:
    return await create_partner(client, await sign_in_staff(Role.admin_super))


@pytest.fixture
async def alice(sign_in_resident: ResidentSignIn) -> Tokens:
    return await sign_in_resident("alice")


@pytest.fixture
async def alice_id(partner: PartnerClient, alice: Tokens) -> str:
    """Alice's pseudonym at the partner: she linked her account there."""
    return await partner.link(alice)


def _outcomes(result: dict[str, object]) -> list[tuple[object, ...]]:
    results = result["results"]
    assert isinstance(results, list)
    return [(r["index"], r["external_id"], r["outcome"], r["reason"]) for r in results]


async def test_a_mixed_batch_gets_one_outcome_per_record_in_order(
    api: Api, client: httpx.AsyncClient, partner: PartnerClient, alice: Tokens, alice_id: str
) -> None:
    ride = partner_record("m-1", alice_id, "metro_ride", "10", ago(hours=3))
    records = [
        ride,
        dict(ride),
        # 20,000 steps verified by a partner: 400 g against the walking cap of 296 g a day.
        partner_record("w-1", alice_id, "walking", "20000", local_day(10)),
        partner_record("u-1", f"psn_{uuid.uuid4().hex}", "metro_ride", "10", ago(hours=5)),
        {"external_id": "bad-1", "pseudonym": alice_id, "type": "metro_ride", "quantity": "-3"},
        partner_record("far-1", alice_id, "metro_ride", "200", ago(hours=7)),
    ]

    result = await partner.batch(records)

    assert _outcomes(result) == [
        (0, "m-1", "accepted", None),
        (1, "m-1", "duplicate", "ALREADY_RECEIVED"),
        (2, "w-1", "capped", "daily_cap"),
        (3, "u-1", "rejected", "PSEUDONYM_UNKNOWN"),
        (4, "bad-1", "rejected", "VALIDATION_FAILED"),
        (5, "far-1", "rejected", "QUANTITY_OUT_OF_RANGE"),
    ]
    assert (result["accepted"], result["duplicate"], result["capped"], result["rejected"]) == (1, 1, 1, 3)
    accepted, repeated, capped, _, invalid, far = result["results"]
    assert accepted["credited_g"] == 468
    assert accepted["behaviour_id"] is not None
    assert repeated["behaviour_id"] == accepted["behaviour_id"]
    assert (capped["credited_g"], capped["capped_g"]) == (296, 104)
    assert {e["field"] for e in invalid["errors"]} >= {"occurred_at", "quantity"}
    assert [e["field"] for e in far["errors"]] == ["quantity"]
    assert await balance(client, alice) == 468 + 296
    read = await behaviour(client, alice, accepted["behaviour_id"])
    assert (read["calculation"]["tier"], read["credited_g"], read["client_id"]) == ("partner", 468, None)
    await assert_ledger_invariants(api)


async def test_the_same_external_id_with_other_content_is_rejected_as_a_conflict(
    api: Api, client: httpx.AsyncClient, partner: PartnerClient, alice: Tokens, alice_id: str
) -> None:
    occurred = ago(hours=3)
    first = await partner.batch([partner_record("m-1", alice_id, "metro_ride", "10", occurred)])

    again = await partner.batch([partner_record("m-1", alice_id, "metro_ride", "12", occurred)])

    assert _outcomes(again) == [(0, "m-1", "rejected", "DUPLICATE_CONFLICT")]
    assert again["results"][0]["credited_g"] == 0
    assert first["results"][0]["credited_g"] == 468
    assert await balance(client, alice) == 468
    await assert_ledger_invariants(api)


async def test_a_record_resent_after_its_claim_window_closed_is_still_a_duplicate(
    api: Api, client: httpx.AsyncClient, partner: PartnerClient, alice: Tokens, alice_id: str
) -> None:
    # received a second before its 7-day claim window closes; the resend arrives after it has
    occurred = ago(days=7, seconds=-1.5)
    first = await partner.batch([partner_record("w-1", alice_id, "metro_ride", "10", occurred)])
    await asyncio.sleep(2)

    again = await partner.batch(
        [
            partner_record("w-1", alice_id, "metro_ride", "10", occurred),
            partner_record("w-2", alice_id, "metro_ride", "10", occurred - timedelta(hours=1)),
            partner_record("w-1", alice_id, "metro_ride", "12", occurred),
        ]
    )

    assert first["accepted"] == 1
    assert _outcomes(again) == [
        (0, "w-1", "duplicate", "ALREADY_RECEIVED"),
        (1, "w-2", "rejected", "OUTSIDE_CLAIM_WINDOW"),
        (2, "w-1", "rejected", "DUPLICATE_CONFLICT"),
    ]
    assert again["results"][0]["behaviour_id"] == first["results"][0]["behaviour_id"]
    assert await balance(client, alice) == 468
    await assert_ledger_invariants(api)


async def test_a_record_with_a_nul_character_fails_alone(
    api: Api, client: httpx.AsyncClient, partner: PartnerClient, alice: Tokens, alice_id: str
) -> None:
    result = await partner.batch(
        [
            partner_record("n-1\x00", alice_id, "metro_ride", "10", ago(hours=3)),
            partner_record("n-2", alice_id, "metro_ride", "10", ago(hours=2)),
        ]
    )

    assert [(r["outcome"], r["reason"]) for r in result["results"]] == [
        ("rejected", "VALIDATION_FAILED"),
        ("accepted", None),
    ]
    assert await balance(client, alice) == 468
    await assert_ledger_invariants(api)


async def test_replaying_a_whole_batch_credits_nothing_more(
    api: Api,
    client: httpx.AsyncClient,
    partner: PartnerClient,
    alice: Tokens,
    alice_id: str,
    sign_in_resident: ResidentSignIn,
) -> None:
    bob = await sign_in_resident("bob")
    bob_id = await partner.link(bob)
    records = [
        partner_record("r-1", alice_id, "metro_ride", "10", ago(hours=3)),
        partner_record("r-2", bob_id, "bus_ride", "10", ago(hours=3)),
        partner_record("r-3", alice_id, "waste_sorting", "2", ago(hours=2), category="recyclables"),
    ]
    first = await partner.batch(records)
    balances = (await balance(client, alice), await balance(client, bob))

    replay = await partner.batch(records)

    assert first["accepted"] == 3
    assert balances == (468 + 402, 269)
    assert (replay["accepted"], replay["duplicate"], replay["capped"], replay["rejected"]) == (0, 3, 0, 0)
    assert {r["reason"] for r in replay["results"]} == {"ALREADY_RECEIVED"}
    assert [r["behaviour_id"] for r in replay["results"]] == [r["behaviour_id"] for r in first["results"]]
    assert (await balance(client, alice), await balance(client, bob)) == balances
    assert len((await history(client, alice))["items"]) == 2
    await assert_ledger_invariants(api)


async def test_a_partner_record_supersedes_an_overlapping_self_report_still_pending_review(
    api: Api,
    client: httpx.AsyncClient,
    partner: PartnerClient,
    alice: Tokens,
    alice_id: str,
    sign_in_staff: StaffSignIn,
) -> None:
    start = ago(hours=3)
    held = await record_ok(client, alice, behaviour_body("metro_ride", "10", start))
    assert held["status"] == "pending_review"

    result = await partner.batch([partner_record("m-1", alice_id, "metro_ride", "10", start + timedelta(minutes=2))])

    assert _outcomes(result) == [(0, "m-1", "accepted", None)]
    assert result["results"][0]["credited_g"] == 468
    assert (await behaviour(client, alice, held["id"]))["status"] == "superseded"
    assert await balance(client, alice) == 468
    operator = await sign_in_staff(Role.admin_operator)
    approval = await client.post(
        f"/v1/admin/behaviours/{held['id']}/review", json={"approve": True, "reason": "late"}, headers=bearer(operator)
    )
    assert_problem(approval, 409, "NOT_PENDING_REVIEW")
    assert await balance(client, alice) == 468
    await assert_ledger_invariants(api)


async def test_a_partner_record_overlapping_an_already_credited_report_is_a_duplicate(
    api: Api, client: httpx.AsyncClient, partner: PartnerClient, alice: Tokens, alice_id: str
) -> None:
    start = ago(hours=3)
    credited = await record_ok(client, alice, behaviour_body("metro_ride", "10", start, evidence=SITE_CODES))

    result = await partner.batch([partner_record("m-1", alice_id, "metro_ride", "10", start + timedelta(minutes=2))])

    assert _outcomes(result) == [(0, "m-1", "duplicate", "TRIP_ALREADY_CREDITED")]
    assert result["results"][0]["credited_g"] == 0
    assert (await behaviour(client, alice, credited["id"]))["status"] == "credited"
    assert await balance(client, alice) == 468
    await assert_ledger_invariants(api)


async def test_a_residents_report_overlapping_a_partner_credited_trip_is_refused(
    api: Api, client: httpx.AsyncClient, partner: PartnerClient, alice: Tokens, alice_id: str
) -> None:
    start = ago(hours=3)
    result = await partner.batch([partner_record("m-1", alice_id, "metro_ride", "10", start)])
    assert result["accepted"] == 1

    report = behaviour_body("bus_ride", "5", start + timedelta(minutes=1), evidence=SITE_CODES)
    problem = assert_problem(await record(client, alice, report), 409, "TRIP_ALREADY_RECORDED")

    assert problem["related_behaviour_id"] == result["results"][0]["behaviour_id"]
    assert await balance(client, alice) == 468
    await assert_ledger_invariants(api)


async def test_a_batch_of_more_than_1000_records_is_refused_whole(
    api: Api, client: httpx.AsyncClient, partner: PartnerClient, alice: Tokens, alice_id: str
) -> None:
    occurred = ago(hours=3)
    records = [partner_record(f"w-{i}", alice_id, "walking", "100", occurred) for i in range(1001)]

    response = await partner.post(records)

    problem = assert_problem(response, 422, "VALIDATION_FAILED")
    assert [e["field"] for e in problem["errors"]] == ["records"]
    assert (await history(client, alice))["items"] == []
    assert await balance(client, alice) == 0


async def test_a_deleted_residents_pseudonym_names_no_one(
    api: Api, client: httpx.AsyncClient, partner: PartnerClient, alice: Tokens, alice_id: str
) -> None:
    deleted = await client.delete("/v1/me", headers=bearer(alice))
    assert deleted.status_code == 204, deleted.text

    result = await partner.batch([partner_record("m-1", alice_id, "metro_ride", "10", ago(hours=3))])

    assert _outcomes(result) == [(0, "m-1", "rejected", "PSEUDONYM_UNKNOWN")]
    assert result["results"][0]["credited_g"] == 0
    await assert_ledger_invariants(api)


async def test_hydrogen_from_coal_credits_zero_grams_never_a_negative_amount(
    api: Api, client: httpx.AsyncClient, partner: PartnerClient, alice: Tokens, alice_id: str
) -> None:
    records = [
        partner_record("h-coal", alice_id, "hydrogen_bus_ride", "20", ago(hours=5), hydrogen_source="coal"),
        partner_record("h-gas", alice_id, "hydrogen_bus_ride", "20", ago(hours=3), hydrogen_source="natural_gas"),
    ]

    result = await partner.batch(records)

    coal, gas = result["results"]
    assert (coal["outcome"], coal["credited_g"], coal["capped_g"]) == ("accepted", 0, 0)
    assert (gas["outcome"], gas["credited_g"]) == ("accepted", floor_g(20 * Decimal("24.5")))
    read = await behaviour(client, alice, coal["behaviour_id"])
    assert read["credited_g"] == 0
    assert read["calculation"]["grams"] == 0
    assert Decimal(read["calculation"]["reduction_g_per_unit"]) == 0
    assert await balance(client, alice) == 490
    await assert_ledger_invariants(api)


async def test_caps_apply_in_record_order_within_one_batch(
    api: Api, client: httpx.AsyncClient, partner: PartnerClient, alice: Tokens, alice_id: str
) -> None:
    # Three verified walks of 10,000 steps (200 g each) on one local day, against the cap of 296 g.
    records = [partner_record(f"w-{h}", alice_id, "walking", "10000", local_day(h)) for h in (8, 12, 16)]

    result = await partner.batch(records)

    assert _outcomes(result) == [
        (0, "w-8", "accepted", None),
        (1, "w-12", "capped", "daily_cap"),
        (2, "w-16", "capped", "daily_cap"),
    ]
    assert [(r["credited_g"], r["capped_g"]) for r in result["results"]] == [(200, 0), (96, 104), (0, 200)]
    assert await balance(client, alice) == 296
    await assert_ledger_invariants(api)


async def test_one_external_id_twice_in_a_batch_with_other_content_is_credited_once(
    api: Api, client: httpx.AsyncClient, partner: PartnerClient, alice: Tokens, alice_id: str
) -> None:
    occurred = ago(hours=3)
    records = [
        partner_record("m-1", alice_id, "metro_ride", "10", occurred),
        partner_record("m-1", alice_id, "metro_ride", "20", occurred),
    ]

    result = await partner.batch(records)

    assert _outcomes(result) == [(0, "m-1", "accepted", None), (1, "m-1", "rejected", "DUPLICATE_CONFLICT")]
    assert result["results"][1]["credited_g"] == 0
    assert await balance(client, alice) == 468
    assert len((await history(client, alice))["items"]) == 1
    await assert_ledger_invariants(api)


async def test_a_session_that_first_recorded_on_an_empty_ledger_still_reads_it_by_index(
    api: Api, partner: PartnerClient, sign_in_resident: ResidentSignIn
) -> None:
    """The recording function plans its statements once per session. A session whose first batch met
    nearly empty tables (a new deployment, just analysed) must not keep plans that scan them whole for
    every record: as the ledger grew each record scanned it, and batches ran into the statement timeout."""
    residents = [await partner.link(await sign_in_resident(name)) for name in ("alice", "bob", "carol")]
    assert api.settings.database_url is not None
    connection = await asyncpg.connect(**asyncpg_dsn(api.settings.database_url.get_secret_value()))
    try:
        await connection.execute("ANALYZE")

        async def push(prefix: str, hours: int) -> BatchResult:
            # each resident's rides ten minutes apart, so that no two are one trip
            records = [
                partner_record(
                    f"{prefix}-{n}", residents[n % 3], "bus_ride", "2", ago(hours=hours, minutes=10 * n // 3)
                )
                for n in range(30)
            ]
            reply = await batches.submit(
                connection,
                sessions=api.db.sessionmaker,
                cache=api.app.state.factor_cache,
                recorder=api.app.state.recorder,
                partner_id=partner.partner_id,
                records=records,
            )
            return BatchResult.model_validate_json(reply)

        first = await push("first", 2)
        async with connection.transaction():
            second = await push("second", 8)
            scans = await connection.fetch(
                "SELECT relname, seq_scan FROM pg_stat_xact_user_tables WHERE relname = ANY($1::text[])",
                [
                    "ingest_behaviour",
                    "ingest_cap_usage",
                    "ledger_account",
                    "accounts_resident",
                    "ledger_transfer",
                    "consent_link",
                ],
            )
    finally:
        await connection.close()

    assert (first.accepted, second.accepted) == (30, 30)
    assert {row["relname"]: row["seq_scan"] for row in scans} == {
        "ingest_behaviour": 0,
        "ingest_cap_usage": 0,
        "ledger_account": 0,
        "accounts_resident": 0,
        "ledger_transfer": 0,
        "consent_link": 0,
    }
    await assert_ledger_invariants(api)
