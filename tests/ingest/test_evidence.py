"""Evidence that cannot be typed: a report earns the evidence tier only through codes a registered site
signed, checked offline against the site, its kind, the report's times and distance; anything made up
earns nothing at once, and every failed check has its own stable code and is counted for the fraud scan."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import text

from load_tests.common.sites import SeededSite
from service.accounts.models import Role
from service.ingest import fraud
from service.sites import codes
from tests.conftest import Api, bearer
from tests.fixtures.behaviours import (
    SITE_CODES,
    Tokens,
    ago,
    assert_ledger_invariants,
    assert_problem,
    balance,
    behaviour,
    behaviour_body,
    floor_g,
    history,
    record,
    record_ok,
)
from tests.fixtures.evidence import BUS, METRO_A, METRO_B

ResidentSignIn = Callable[[str], Awaitable[Tokens]]
StaffSignIn = Callable[..., Awaitable[Tokens]]

RIDE_10_KM = floor_g(10 * Decimal("46.8"))


@pytest.fixture
async def alice(sign_in_resident: ResidentSignIn) -> Tokens:
    return await sign_in_resident("alice")


def _ride(*, hours_ago: float = 2) -> dict[str, object]:
    """A 10 km metro ride of twenty minutes, its evidence still to be given."""
    start = ago(hours=hours_ago)
    return behaviour_body("metro_ride", "10", start, ended_at=start + timedelta(minutes=20))


def _made_up(start_code: str) -> dict[str, object]:
    return {**_ride(), "evidence": {"start_code": start_code}}


def _codes_for(body: dict[str, object], start: SeededSite = METRO_A, end: SeededSite = METRO_B) -> dict[str, str]:
    """The codes the two sites showed when the ride started and ended."""
    return {
        "start_code": start.code_at(datetime.fromisoformat(str(body["occurred_at"]))),
        "end_code": end.code_at(datetime.fromisoformat(str(body["ended_at"]))),
    }


async def _refusals(api: Api) -> list[str]:
    async with api.db.sessionmaker() as session:
        rows = await session.execute(text("SELECT code FROM ingest_evidence_refusal ORDER BY id"))
        return [row.code for row in rows]


async def test_a_ride_backed_by_the_codes_of_its_two_stations_earns_the_evidence_tier_at_once(
    api: Api, client: httpx.AsyncClient, alice: Tokens
) -> None:
    recorded = await record_ok(client, alice, behaviour_body("metro_ride", "10", ago(hours=2), evidence=SITE_CODES))

    assert recorded["status"] == "credited"
    assert recorded["credited_g"] == RIDE_10_KM
    assert recorded["calculation"]["tier"] == "evidence"
    assert recorded["verified_evidence"] == "site_code"
    assert recorded["transfer_id"] is not None
    read = await behaviour(client, alice, recorded["id"])
    assert (read["transfer_id"], read["verified_evidence"]) == (recorded["transfer_id"], "site_code")
    assert await balance(client, alice) == RIDE_10_KM
    await assert_ledger_invariants(api)


async def test_made_up_evidence_earns_nothing_at_once(
    api: Api, client: httpx.AsyncClient, alice: Tokens, subtests: pytest.Subtests
) -> None:
    with subtests.test("a made-up code is refused"):
        assert_problem(await record(client, alice, _made_up("x")), 422, "SITE_CODE_MALFORMED")
    with subtests.test("an earlier app's unchecked QR text is a self-report, held for review"):
        body = behaviour_body("metro_ride", "10", ago(hours=3), evidence={"station_qr": "x"})
        held = await record_ok(client, alice, body)
        assert (held["status"], held["credited_g"], held["calculation"]["tier"]) == ("pending_review", 0, "self")
        assert held["verified_evidence"] == "none"
    with subtests.test("an earlier app's photo hash verifies nothing"):
        body = behaviour_body(
            "waste_sorting", "2", ago(hours=4), category="recyclables", evidence={"photo_sha256": "0" * 64}
        )
        held = await record_ok(client, alice, body)
        assert (held["status"], held["credited_g"], held["verified_evidence"]) == ("pending_review", 0, "none")
    assert await balance(client, alice) == 0
    await assert_ledger_invariants(api)


async def test_each_failed_check_has_its_own_code_and_credits_nothing(
    api: Api, client: httpx.AsyncClient, alice: Tokens, subtests: pytest.Subtests
) -> None:
    def forged() -> dict[str, object]:
        body = _ride()
        genuine = _codes_for(body)
        signature_char = genuine["start_code"][-1]
        genuine["start_code"] = genuine["start_code"][:-1] + ("A" if signature_char != "A" else "B")
        body["evidence"] = genuine
        return body

    def unknown_site() -> dict[str, object]:
        body = _ride()
        evidence = _codes_for(body)
        start = codes.window_start_for(ago(hours=2), 1)
        evidence["start_code"] = codes.sign(METRO_A.key, 123_456, 1, start, 1)
        body["evidence"] = evidence
        return body

    def wrong_kind() -> dict[str, object]:
        body = _ride()
        body["evidence"] = _codes_for(body, start=BUS)
        return body

    def wrong_time() -> dict[str, object]:
        body = _ride()
        evidence = _codes_for(body)
        evidence["start_code"] = METRO_A.code_at(ago(hours=2, minutes=30))
        body["evidence"] = evidence
        return body

    def no_end_code() -> dict[str, object]:
        body = _ride()
        body["evidence"] = {"start_code": _codes_for(body)["start_code"]}
        return body

    def too_far() -> dict[str, object]:
        body = _ride()
        body["evidence"] = _codes_for(body, start=METRO_A, end=METRO_A)  # 10 km, in and out at one station
        return body

    def days_old() -> dict[str, object]:
        body = _ride(hours_ago=50)
        body["evidence"] = _codes_for(body)
        return body

    def walking_with_a_code() -> dict[str, object]:
        body = behaviour_body("walking", "3000", ago(hours=2))
        body["evidence"] = {"start_code": METRO_A.code_at(ago(hours=2))}
        return body

    cases = {
        "SITE_CODE_SIGNATURE": forged,
        "SITE_CODE_UNKNOWN": unknown_site,
        "SITE_KIND_MISMATCH": wrong_kind,
        "SITE_CODE_WINDOW": wrong_time,
        "SITE_CODE_MISSING": no_end_code,
        "SITE_DISTANCE_IMPLAUSIBLE": too_far,
        "SITE_CODE_EXPIRED": days_old,
        "EVIDENCE_NOT_ACCEPTED": walking_with_a_code,
    }
    for expected, make in cases.items():
        with subtests.test(expected):
            problem = assert_problem(await record(client, alice, make()), 422, expected)
            assert problem["errors"][0]["field"].startswith("evidence.")
    assert await balance(client, alice) == 0
    assert (await history(client, alice))["items"] == []
    assert sorted(await _refusals(api)) == sorted(cases)
    await assert_ledger_invariants(api)


async def test_a_revoked_key_s_codes_are_refused_and_a_site_s_new_key_works(
    api: Api, client: httpx.AsyncClient, alice: Tokens, sign_in_staff: StaffSignIn
) -> None:
    operator = await sign_in_staff(Role.admin_super)
    revoked = await client.post(
        f"/v1/admin/sites/{METRO_A.id}/keys/1/revoke", json={"reason": "kiosk stolen"}, headers=bearer(operator)
    )
    assert revoked.status_code == 200, revoked.text

    body = behaviour_body("metro_ride", "10", ago(hours=2), evidence=SITE_CODES)
    assert_problem(await record(client, alice, body), 422, "SITE_INACTIVE")
    assert await balance(client, alice) == 0


async def test_a_phone_that_sends_its_ride_hours_later_is_still_credited(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    recorded = await record_ok(client, alice, behaviour_body("metro_ride", "10", ago(hours=20), evidence=SITE_CODES))

    assert (recorded["status"], recorded["verified_evidence"]) == ("credited", "site_code")


async def test_one_code_backs_one_trip(api: Api, client: httpx.AsyncClient, alice: Tokens) -> None:
    shown = codes.window_start_for(ago(hours=2), 1)
    first = behaviour_body("bus_ride", "3", shown, ended_at=shown + timedelta(minutes=3), evidence=SITE_CODES)
    recorded = await record_ok(client, alice, first)
    # the same boarding code sent for another ride, after the first ended, within the code's tolerance
    second = behaviour_body("bus_ride", "3", shown + timedelta(minutes=4), ended_at=shown + timedelta(minutes=9))
    second["evidence"] = first["evidence"]

    problem = assert_problem(await record(client, alice, second), 409, "EVIDENCE_REUSED")

    assert problem["related_behaviour_id"] == recorded["id"]
    assert await balance(client, alice) == floor_g(3 * Decimal("26.9"))
    assert len((await history(client, alice))["items"]) == 1
    await assert_ledger_invariants(api)


async def test_another_residents_scan_of_the_same_screen_is_their_own(
    client: httpx.AsyncClient, alice: Tokens, sign_in_resident: ResidentSignIn
) -> None:
    bob = await sign_in_resident("bob")
    body = behaviour_body("bus_ride", "3", ago(hours=2), evidence=SITE_CODES)
    await record_ok(client, alice, body)

    recorded = await record_ok(client, bob, {**body, "client_id": "6f1c1f0e-1d7e-4c55-9d55-0c6c1c9b2f10"})

    assert recorded["verified_evidence"] == "site_code"


async def test_refused_codes_raise_a_flag_for_the_operators(
    api: Api, client: httpx.AsyncClient, alice: Tokens, sign_in_staff: StaffSignIn
) -> None:
    for n in range(3):
        assert_problem(await record(client, alice, _made_up(f"TPH1:{n}")), 422, "SITE_CODE_MALFORMED")

    scanned = await fraud.scan_once(api.db, api.app.state.factor_cache, fraud.Thresholds.of(api.settings))

    assert scanned is not None
    assert scanned.raised == 1
    operator = await sign_in_staff(Role.admin_operator)
    flags = (await client.get("/v1/admin/flags", params={"kind": "refused_evidence"}, headers=bearer(operator))).json()
    assert [(f["kind"], f["details"]["refusals"], f["details"]["codes"]) for f in flags["items"]] == [
        ("refused_evidence", 3, ["SITE_CODE_MALFORMED"])
    ]
