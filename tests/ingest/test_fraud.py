"""Fraud review: operators freeze and unfreeze residents (recording and redemption refused meanwhile, the
balance kept), and a background scan flags implausible speed, bursts of records, the same trip from two
sources and many residents on one device, for operators to confirm or dismiss."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from service.accounts.models import Role
from service.ingest import fraud
from tests.conftest import Api, bearer
from tests.fixtures.behaviours import (
    SITE_CODES,
    Tokens,
    ago,
    assert_ledger_invariants,
    assert_problem,
    balance,
    behaviour_body,
    create_partner,
    partner_record,
    public_id,
    record,
    record_ok,
)
from tests.fixtures.redemption import approved_enterprise, publish, redeem

MakeApi = Callable[..., Awaitable[Api]]
StaffSignIn = Callable[..., Awaitable[Tokens]]


async def _dev(api: Api, name: str, device_id: str | None = None) -> Tokens:
    body = {"name": name} | ({"device_id": device_id} if device_id else {})
    response = await api.client.post("/v1/auth/dev", json=body)
    assert response.status_code == 200, response.text
    tokens: Tokens = response.json()
    return tokens


async def test_a_frozen_resident_records_and_redeems_nothing_and_keeps_the_balance(
    api: Api, sign_in_staff: StaffSignIn
) -> None:
    client = api.client
    alice = await _dev(api, "alice")
    await record_ok(client, alice, behaviour_body("metro_ride", "10", ago(hours=5), evidence=SITE_CODES))
    operator = await sign_in_staff(Role.admin_operator)
    superuser = await sign_in_staff(Role.admin_super, "root-user")
    partner = await create_partner(client, superuser)
    reward = await publish(client, await approved_enterprise(client, operator, "津南咖啡"), price_g=100)
    alice_id = await public_id(client, alice)
    alice_at_partner = await partner.link(alice)

    frozen = await client.post(
        f"/v1/admin/residents/{alice_id}/freeze",
        json={"reason": "many accounts on one phone"},
        headers=bearer(operator),
    )

    assert frozen.status_code == 200, frozen.text
    assert frozen.json()["frozen"] is True
    refused = await record(client, alice, behaviour_body("metro_ride", "10", ago(hours=3), evidence=SITE_CODES))
    assert_problem(refused, 403, "ACCOUNT_FROZEN")
    assert_problem(await redeem(client, alice, reward["id"]), 403, "ACCOUNT_FROZEN")
    batch = await partner.batch([partner_record("f-1", alice_at_partner, "bus_ride", "5", ago(hours=2))])
    assert (batch["results"][0]["outcome"], batch["results"][0]["reason"]) == ("rejected", "ACCOUNT_FROZEN")
    assert await balance(client, alice) == 468
    again = await client.post(f"/v1/admin/residents/{alice_id}/freeze", json={"reason": "x"}, headers=bearer(operator))
    assert_problem(again, 409, "CONFLICT")
    unknown = await client.post(
        f"/v1/admin/residents/{uuid.uuid4()}/freeze", json={"reason": "x"}, headers=bearer(operator)
    )
    assert_problem(unknown, 404, "NOT_FOUND")

    thawed = await client.post(
        f"/v1/admin/residents/{alice_id}/unfreeze", json={"reason": "checked: a family phone"}, headers=bearer(operator)
    )
    assert thawed.json()["frozen"] is False
    await record_ok(client, alice, behaviour_body("metro_ride", "10", ago(hours=3), evidence=SITE_CODES))
    assert await balance(client, alice) == 936
    auditor = await sign_in_staff(Role.admin_auditor)
    logged = (await client.get("/v1/admin/audit/actions", headers=bearer(auditor))).json()["items"]
    assert [a["action"] for a in logged[:2]] == ["resident.unfreeze", "resident.freeze"]
    await assert_ledger_invariants(api)


async def test_a_retry_after_a_freeze_answers_what_was_recorded_before_it(api: Api, sign_in_staff: StaffSignIn) -> None:
    client = api.client
    alice = await _dev(api, "alice")
    ride = behaviour_body("metro_ride", "10", ago(hours=5), evidence=SITE_CODES)
    first = await record_ok(client, alice, ride)
    operator = await sign_in_staff(Role.admin_operator)
    partner = await create_partner(client, await sign_in_staff(Role.admin_super, "root-user"))
    alice_id = await public_id(client, alice)
    alice_at_partner = await partner.link(alice)
    delivered = partner_record("f-0", alice_at_partner, "bus_ride", "5", ago(hours=2))
    assert (await partner.batch([delivered]))["results"][0]["outcome"] == "accepted"
    frozen = await client.post(
        f"/v1/admin/residents/{alice_id}/freeze",
        json={"reason": "many accounts on one phone"},
        headers=bearer(operator),
    )
    assert frozen.status_code == 200, frozen.text

    retried = await record(client, alice, ride)
    resent = await partner.batch([delivered, partner_record("f-1", alice_at_partner, "bus_ride", "5", ago(hours=1))])

    assert retried.status_code == 200, retried.text
    assert (retried.json()["id"], retried.json()["replayed"]) == (first["id"], True)
    outcomes = [(r["outcome"], r["reason"]) for r in resent["results"]]
    assert outcomes[0][0] == "duplicate"
    assert outcomes[1] == ("rejected", "ACCOUNT_FROZEN")
    assert_problem(
        await record(client, alice, behaviour_body("metro_ride", "10", ago(hours=3), evidence=SITE_CODES)),
        403,
        "ACCOUNT_FROZEN",
    )
    await assert_ledger_invariants(api)


async def test_the_scan_flags_speed_bursts_two_sources_and_shared_devices_for_review(
    make_api: MakeApi, sign_in_staff: StaffSignIn
) -> None:
    api = await make_api(fraud_scan=False, fraud_burst_records=3, fraud_burst_window_s=900, fraud_device_residents=2)
    client = api.client
    alice, bob = await _dev(api, "alice"), await _dev(api, "bob")
    carol, dave = await _dev(api, "carol", "phone-0001"), await _dev(api, "dave", "phone-0001")
    started = ago(hours=6)
    fast = await record_ok(  # 19 km in 12 minutes: 95 km/h, under the 100 km/h limit
        client,
        alice,
        behaviour_body("metro_ride", "19", started, ended_at=started + timedelta(minutes=12), evidence=SITE_CODES),
    )
    await record_ok(
        client, alice, behaviour_body("metro_ride", "19", ago(hours=2), evidence=SITE_CODES)
    )  # no end given
    steady = ago(hours=4)
    await record_ok(  # 10 km in 20 minutes: 30 km/h, an ordinary ride
        client,
        alice,
        behaviour_body("metro_ride", "10", steady, ended_at=steady + timedelta(minutes=20), evidence=SITE_CODES),
    )
    for minutes in (20, 14, 8):  # three rides in twelve minutes
        await record_ok(client, bob, behaviour_body("metro_ride", "5", ago(minutes=minutes), evidence=SITE_CODES))
    superuser = await sign_in_staff(Role.admin_super, "root-user")
    partner = await create_partner(client, superuser)
    shared_trip = ago(hours=9)
    reported = await record_ok(client, carol, behaviour_body("metro_ride", "8", shared_trip, evidence=SITE_CODES))
    await partner.batch([partner_record("t-9", await partner.link(carol), "metro_ride", "8", shared_trip)])
    del dave

    scanned = await fraud.scan_once(api.db, api.app.state.factor_cache, fraud.Thresholds.of(api.settings))

    assert scanned == fraud.Scanned(raised=4, behind=False)
    operator = await sign_in_staff(Role.admin_operator)
    queue = (await client.get("/v1/admin/flags", headers=bearer(operator))).json()["items"]
    by_kind = {f["kind"]: f for f in queue}
    assert set(by_kind) == {"implausible_speed", "burst", "two_sources", "shared_device"}
    assert by_kind["implausible_speed"]["behaviour_id"] == fast["id"]
    assert by_kind["implausible_speed"]["details"]["speed_kmh"] == "95.0"
    assert by_kind["burst"]["resident_id"] == await public_id(client, bob)
    assert by_kind["two_sources"]["details"]["same_trip_as"] == reported["id"]
    assert by_kind["shared_device"]["details"]["residents"] == 2
    assert "phone" not in str(by_kind["burst"])  # a device id appears only on the device's own flag
    # a second scan raises nothing new; a third resident on the phone renews the device's flag
    again = await fraud.scan_once(api.db, api.app.state.factor_cache, fraud.Thresholds.of(api.settings))
    assert again == fraud.Scanned(raised=0, behind=False)
    await _dev(api, "erin", "phone-0001")
    renewed = await fraud.scan_once(api.db, api.app.state.factor_cache, fraud.Thresholds.of(api.settings))
    assert renewed == fraud.Scanned(raised=1, behind=False)
    device = (await client.get("/v1/admin/flags", params={"kind": "shared_device"}, headers=bearer(operator))).json()
    assert device["items"][0]["details"]["residents"] == 3

    flag_id = by_kind["burst"]["id"]
    resolved = await client.post(
        f"/v1/admin/flags/{flag_id}/resolve",
        json={"resolution": "dismissed", "reason": "commuter with three legs"},
        headers=bearer(operator),
    )
    assert resolved.status_code == 200, resolved.text
    operator_id = (await client.get("/v1/staff/me", headers=bearer(operator))).json()["id"]
    assert (resolved.json()["resolution"], resolved.json()["resolved_by"]) == ("dismissed", f"user:{operator_id}")
    twice = await client.post(
        f"/v1/admin/flags/{flag_id}/resolve", json={"resolution": "confirmed", "reason": "x"}, headers=bearer(operator)
    )
    assert_problem(twice, 404, "NOT_FOUND")
    open_now = (await client.get("/v1/admin/flags", headers=bearer(operator))).json()["items"]
    assert flag_id not in [f["id"] for f in open_now]
    auditor = await sign_in_staff(Role.admin_auditor)
    denied = await client.post(
        f"/v1/admin/flags/{by_kind['two_sources']['id']}/resolve",
        json={"resolution": "confirmed", "reason": "x"},
        headers=bearer(auditor),
    )
    assert_problem(denied, 403, "ROLE_NOT_ALLOWED")


async def test_a_burst_is_found_by_when_the_behaviours_happened_however_they_were_recorded(
    make_api: MakeApi, sign_in_staff: StaffSignIn
) -> None:
    api = await make_api(fraud_scan=False, fraud_burst_records=3, fraud_burst_window_s=900)
    client = api.client
    alice, bob, carol, dave = [await _dev(api, name) for name in ("alice", "bob", "carol", "dave")]
    thresholds = fraud.Thresholds.of(api.settings)
    # alice: three rides dated into twelve minutes of a day and a half ago, a ride of this morning
    # reported between the first and the second of them
    backdated = []
    for m in (20, 14, 8):
        ride = behaviour_body("metro_ride", "5", ago(hours=36, minutes=m), evidence=SITE_CODES)
        backdated.append(await record_ok(client, alice, ride))
        if m == 20:
            await record_ok(client, alice, behaviour_body("metro_ride", "5", ago(hours=1), evidence=SITE_CODES))
    # bob: a partner's upload of his day, eight rides an hour apart, recorded in one go
    partner = await create_partner(client, await sign_in_staff(Role.admin_super, "root-user"))
    bob_at_partner = await partner.link(bob)
    day = [partner_record(f"d-{h}", bob_at_partner, "bus_ride", "3", ago(hours=h + 2)) for h in range(8)]
    assert {r["outcome"] for r in (await partner.batch(day))["results"]} == {"accepted"}
    # dave: a partner's upload holding two runs of three rides, on two days of last week
    dave_id = await public_id(client, dave)
    dave_at_partner = await partner.link(dave)
    runs = [
        partner_record(f"r-{d}-{m}", dave_at_partner, "bus_ride", "3", ago(days=d, minutes=m))
        for d in (4, 3)
        for m in (20, 14, 8)
    ]
    uploaded = (await partner.batch(runs))["results"]
    assert {r["outcome"] for r in uploaded} == {"accepted"}
    # carol: the first and the last of three rides in twelve minutes; the middle one comes later
    earliest = await record_ok(
        client, carol, behaviour_body("metro_ride", "5", ago(hours=5, minutes=20), evidence=SITE_CODES)
    )
    await record_ok(client, carol, behaviour_body("metro_ride", "5", ago(hours=5, minutes=8), evidence=SITE_CODES))

    first = await fraud.scan_once(api.db, api.app.state.factor_cache, thresholds)

    operator = await sign_in_staff(Role.admin_operator)
    listed = await client.get("/v1/admin/flags", params={"kind": "burst"}, headers=bearer(operator))
    bursts = listed.json()["items"]
    assert first == fraud.Scanned(raised=3, behind=False)
    alice_id = await public_id(client, alice)
    assert sorted((f["resident_id"], f["behaviour_id"]) for f in bursts) == sorted(
        [(alice_id, backdated[0]["id"]), (dave_id, uploaded[0]["behaviour_id"]), (dave_id, uploaded[3]["behaviour_id"])]
    )
    (alices,) = [f for f in bursts if f["resident_id"] == alice_id]
    latest = alices["details"]["latest_at"]
    assert datetime.fromisoformat(latest) == datetime.fromisoformat(backdated[-1]["occurred_at"])

    await record_ok(client, carol, behaviour_body("metro_ride", "5", ago(hours=5, minutes=14), evidence=SITE_CODES))
    second = await fraud.scan_once(api.db, api.app.state.factor_cache, thresholds)

    assert second == fraud.Scanned(raised=1, behind=False)
    listed = await client.get("/v1/admin/flags", params={"kind": "burst"}, headers=bearer(operator))
    carols = [f for f in listed.json()["items"] if f["resident_id"] == await public_id(client, carol)]
    assert [f["behaviour_id"] for f in carols] == [earliest["id"]]  # the run starts with the earliest ride
