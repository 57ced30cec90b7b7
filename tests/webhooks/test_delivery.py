"""Events that happen through the API reach the owner's receiver, signed, once each; a receiver that fails
is retried with backoff, then the delivery is failed, and a redelivery sends it again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx

from service.accounts.models import Role
from service.webhooks import signing
from tests.conftest import bearer
from tests.fixtures.behaviours import Json, Tokens, public_id
from tests.fixtures.redemption import accept, cancel, earn, publish, redeem_ok, retire
from tests.fixtures.webhooks import ENTERPRISE_WEBHOOKS, Receiver, deliveries, registered, settled, verify

StaffSignIn = Callable[..., Awaitable[Tokens]]
ResidentSignIn = Callable[[str], Awaitable[Tokens]]
ALL_ENTERPRISE_EVENTS = ["voucher.accepted", "voucher.cancelled", "retirement.certified"]


async def _vouchers(client: httpx.AsyncClient, enterprise: Tokens, resident: Tokens, count: int = 1) -> list[Json]:
    """`count` vouchers of one 400 g reward of the enterprise, bought with as many metro rides."""
    await earn(client, resident, count)
    reward = await publish(client, enterprise, price_g=400)
    return [(await redeem_ok(client, resident, reward["id"]))["voucher"] for _ in range(count)]


async def test_a_voucher_taken_at_the_counter_reaches_the_enterprise_signed_and_names_no_resident(
    client: httpx.AsyncClient, sign_in_staff: StaffSignIn, sign_in_resident: ResidentSignIn, receiver: Receiver
) -> None:
    enterprise = await sign_in_staff(Role.enterprise)
    resident = await sign_in_resident("alice")
    endpoint = await registered(client, enterprise, receiver.url, ALL_ENTERPRISE_EVENTS)
    (voucher,) = await _vouchers(client, enterprise, resident)

    taken = await accept(client, enterprise, voucher["code"])

    assert taken.status_code == 200, taken.text
    (received,) = await receiver.wait_for(1)
    assert verify(endpoint["secret"], received)
    assert not verify(signing.new_secret(), received)
    assert received.webhook_id.startswith("msg_")
    assert received.headers["content-type"] == "application/json"
    assert received.json["type"] == "voucher.accepted"
    assert received.json["data"]["voucher_id"] == voucher["id"]
    assert received.json["data"]["price_g"] == 400
    assert await public_id(client, resident) not in received.body.decode()
    (delivery,) = await settled(client, enterprise, endpoint["id"])
    assert (delivery["status"], delivery["event_id"], delivery["attempts"]) == ("delivered", received.webhook_id, 1)
    assert delivery["payload"] == received.json
    assert [(a["status_code"], a["response_excerpt"]) for a in delivery["recent_attempts"]] == [(200, "ok")]


async def test_a_cancelled_voucher_and_a_retirement_reach_the_enterprise_they_concern(
    client: httpx.AsyncClient, sign_in_staff: StaffSignIn, sign_in_resident: ResidentSignIn, receiver: Receiver
) -> None:
    enterprise = await sign_in_staff(Role.enterprise)
    other = await sign_in_staff(Role.enterprise, username="other-cafe")
    resident = await sign_in_resident("alice")
    endpoint = await registered(client, enterprise, receiver.url, ALL_ENTERPRISE_EVENTS)
    with Receiver() as elsewhere:
        await registered(client, other, elsewhere.url, ALL_ENTERPRISE_EVENTS)
        first, second = await _vouchers(client, enterprise, resident, 2)

        assert (await cancel(client, resident, first["id"])).status_code == 200
        assert (await accept(client, enterprise, second["code"])).status_code == 200
        retired = await retire(client, enterprise, 400, "2026 海河低碳周碳中和")
        assert retired.status_code == 201, retired.text

        received = await receiver.wait_for(3)
        assert elsewhere.received == []
    by_type = {r.json["type"]: r.json["data"] for r in received}
    assert by_type["voucher.cancelled"]["voucher_id"] == first["id"]
    assert by_type["voucher.accepted"]["voucher_id"] == second["id"]
    assert by_type["retirement.certified"]["certificate_number"] == retired.json()["number"]
    assert by_type["retirement.certified"]["amount_g"] == 400
    assert all(verify(endpoint["secret"], r) for r in received)
    assert len({r.webhook_id for r in received}) == 3


async def test_only_the_event_types_chosen_are_sent(
    client: httpx.AsyncClient, sign_in_staff: StaffSignIn, sign_in_resident: ResidentSignIn, receiver: Receiver
) -> None:
    enterprise = await sign_in_staff(Role.enterprise)
    resident = await sign_in_resident("alice")
    endpoint = await registered(client, enterprise, receiver.url, ["retirement.certified"])
    (voucher,) = await _vouchers(client, enterprise, resident)

    assert (await accept(client, enterprise, voucher["code"])).status_code == 200
    assert (await retire(client, enterprise, 400)).status_code == 201

    (received,) = await receiver.wait_for(1)
    assert received.json["type"] == "retirement.certified"
    assert [d["event_type"] for d in await settled(client, enterprise, endpoint["id"])] == ["retirement.certified"]


async def test_a_receiver_that_fails_is_retried_and_every_attempt_is_listed(
    client: httpx.AsyncClient, sign_in_staff: StaffSignIn, sign_in_resident: ResidentSignIn, receiver: Receiver
) -> None:
    enterprise = await sign_in_staff(Role.enterprise)
    resident = await sign_in_resident("alice")
    endpoint = await registered(client, enterprise, receiver.url, ["voucher.accepted"])
    (voucher,) = await _vouchers(client, enterprise, resident)
    receiver.answer(500)

    assert (await accept(client, enterprise, voucher["code"])).status_code == 200

    first, second = await receiver.wait_for(2)
    assert first.webhook_id == second.webhook_id
    assert first.body == second.body
    assert verify(endpoint["secret"], second)
    (delivery,) = await settled(client, enterprise, endpoint["id"])
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 2)
    attempts = delivery["recent_attempts"]
    assert [(a["status_code"], a["response_excerpt"]) for a in attempts] == [(200, "ok"), (500, "receiver failed")]
    assert attempts[0]["attempted_at"] > attempts[1]["attempted_at"]


async def test_a_delivery_whose_retries_run_out_is_failed_and_a_redelivery_sends_it_again(
    client: httpx.AsyncClient, sign_in_staff: StaffSignIn, sign_in_resident: ResidentSignIn, receiver: Receiver
) -> None:
    enterprise = await sign_in_staff(Role.enterprise)
    resident = await sign_in_resident("alice")
    endpoint = await registered(client, enterprise, receiver.url, ["voucher.accepted"])
    (voucher,) = await _vouchers(client, enterprise, resident)
    receiver.answer(500, 503, 500)

    assert (await accept(client, enterprise, voucher["code"])).status_code == 200

    (failed,) = await settled(client, enterprise, endpoint["id"])
    assert (failed["status"], failed["attempts"]) == ("failed", 3)
    assert [a["status_code"] for a in failed["recent_attempts"]] == [500, 503, 500]
    assert await deliveries(client, enterprise, endpoint["id"], status="delivered") == []
    assert [d["id"] for d in await deliveries(client, enterprise, endpoint["id"], status="failed")] == [failed["id"]]

    redelivered = await client.post(
        f"{ENTERPRISE_WEBHOOKS}/{endpoint['id']}/deliveries/{failed['id']}/redeliver", headers=bearer(enterprise)
    )

    assert redelivered.status_code == 202, redelivered.text
    assert redelivered.json()["status"] == "pending"
    received = await receiver.wait_for(4)
    assert {r.webhook_id for r in received} == {failed["event_id"]}
    (delivery,) = await settled(client, enterprise, endpoint["id"])
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 1)
    assert [a["status_code"] for a in delivery["recent_attempts"]] == [200, 500, 503, 500]


async def test_a_delivered_event_can_be_redelivered_with_the_same_id(
    client: httpx.AsyncClient, sign_in_staff: StaffSignIn, sign_in_resident: ResidentSignIn, receiver: Receiver
) -> None:
    enterprise = await sign_in_staff(Role.enterprise)
    resident = await sign_in_resident("alice")
    endpoint = await registered(client, enterprise, receiver.url, ["voucher.accepted"])
    (voucher,) = await _vouchers(client, enterprise, resident)
    assert (await accept(client, enterprise, voucher["code"])).status_code == 200
    (delivery,) = await settled(client, enterprise, endpoint["id"])

    path = f"{ENTERPRISE_WEBHOOKS}/{endpoint['id']}/deliveries/{delivery['id']}"
    assert (await client.post(f"{path}/redeliver", headers=bearer(enterprise))).status_code == 202

    first, again = await receiver.wait_for(2)
    assert again.webhook_id == first.webhook_id == delivery["event_id"]
    assert again.body == first.body
    assert verify(endpoint["secret"], again)
    # the dispatcher records an attempt once the receiver has answered it: wait for the record
    deadline = time.monotonic() + 15
    while len((one := (await client.get(path, headers=bearer(enterprise))).json())["recent_attempts"]) < 2:
        assert time.monotonic() < deadline, one
        await asyncio.sleep(0.05)
    assert [attempt["status_code"] for attempt in one["recent_attempts"]] == [200, 200]
    assert one["status"] == "delivered"


async def test_a_disabled_endpoint_is_sent_nothing_of_what_happens_meanwhile(
    client: httpx.AsyncClient, sign_in_staff: StaffSignIn, sign_in_resident: ResidentSignIn, receiver: Receiver
) -> None:
    enterprise = await sign_in_staff(Role.enterprise)
    resident = await sign_in_resident("alice")
    endpoint = await registered(client, enterprise, receiver.url, ["voucher.accepted", "voucher.cancelled"])
    first, second, third = await _vouchers(client, enterprise, resident, 3)
    path = f"{ENTERPRISE_WEBHOOKS}/{endpoint['id']}"
    assert (await accept(client, enterprise, first["code"])).status_code == 200
    await receiver.wait_for(1)

    off = await client.patch(path, json={"enabled": False}, headers=bearer(enterprise))
    assert (off.status_code, off.json()["enabled"]) == (200, False)
    assert (await cancel(client, resident, second["id"])).status_code == 200
    on = await client.patch(path, json={"enabled": True}, headers=bearer(enterprise))
    assert on.status_code == 200
    assert (await accept(client, enterprise, third["code"])).status_code == 200

    _, later = await receiver.wait_for(2)
    assert later.json["data"]["voucher_id"] == third["id"]
    assert [d["event_type"] for d in await settled(client, enterprise, endpoint["id"])] == ["voucher.accepted"] * 2
    assert len(receiver.received) == 2
