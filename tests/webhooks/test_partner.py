"""A partner is told when an operator decides one of its records, and receives the link events another
domain emits; it never learns who the resident is."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal

import pytest

from service.accounts.models import Role
from service.factors.model import BehaviourFactor
from service.webhooks.events import EventType, emit
from tests.conftest import Api, bearer
from tests.fixtures.behaviours import (
    LINKS,
    SITE_CODES,
    PartnerClient,
    Tokens,
    ago,
    behaviour_body,
    create_partner,
    link_code,
    partner_record,
    public_id,
    record_ok,
)
from tests.fixtures.webhooks import PARTNER_WEBHOOKS, Receiver, partner_call, verify

StaffSignIn = Callable[..., Awaitable[Tokens]]
ResidentSignIn = Callable[[str], Awaitable[Tokens]]


async def _subscribed(partner: PartnerClient, receiver: Receiver, events: list[str]) -> str:
    created = await partner_call(partner, "POST", PARTNER_WEBHOOKS, {"url": receiver.url, "event_types": events})
    assert created.status_code == 201, created.text
    secret: str = created.json()["secret"]
    return secret


async def test_an_operators_reversal_of_a_partners_record_reaches_that_partner_by_its_own_record_id(
    api: Api, sign_in_staff: StaffSignIn, sign_in_resident: ResidentSignIn, receiver: Receiver
) -> None:
    client = api.client
    partner = await create_partner(client, await sign_in_staff(Role.admin_super))
    other = await create_partner(client, await sign_in_staff(Role.admin_super, "root-2"), code="bike-share")
    resident = await sign_in_resident("alice")
    resident_id = await public_id(client, resident)
    pseudonym = await partner.link(resident)
    secret = await _subscribed(partner, receiver, ["behaviour.reviewed"])
    with Receiver() as elsewhere:
        await _subscribed(other, elsewhere, ["behaviour.reviewed"])
        result = await partner.batch([partner_record("metro-77", pseudonym, "metro_ride", "10", ago(hours=2))])
        (outcome,) = result["results"]
        credited = await client.get(f"/v1/me/behaviours/{outcome['behaviour_id']}", headers=bearer(resident))
        operator = await sign_in_staff(Role.admin_operator)

        reversed_ = await client.post(
            f"/v1/admin/transfers/{credited.json()['transfer_id']}/reverse",
            json={"reason": "the card operator withdrew the trip"},
            headers=bearer(operator),
        )

        assert reversed_.status_code == 201, reversed_.text
        (received,) = await receiver.wait_for(1)
        assert elsewhere.received == []
    assert verify(secret, received)
    assert received.json["type"] == "behaviour.reviewed"
    assert received.json["data"] == {
        "behaviour_id": outcome["behaviour_id"],
        "behaviour_type": "metro_ride",
        "decision": "reversed",
        "reversed_g": outcome["credited_g"],
    }
    assert resident_id not in received.body.decode()


async def test_an_operators_review_of_a_partners_held_record_reaches_that_partner(
    api: Api,
    sign_in_staff: StaffSignIn,
    sign_in_resident: ResidentSignIn,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No shipped factor holds a partner's records for review; a factor set that did would weigh them so.
    weight = BehaviourFactor.weight
    monkeypatch.setattr(
        BehaviourFactor, "weight", lambda self, tier: (Decimal(1), True) if tier == "partner" else weight(self, tier)
    )
    client = api.client
    partner = await create_partner(client, await sign_in_staff(Role.admin_super))
    secret = await _subscribed(partner, receiver, ["behaviour.reviewed"])
    alice = await sign_in_resident("alice")
    resident_id = await public_id(client, alice)
    result = await partner.batch(
        [partner_record("metro-78", await partner.link(alice), "metro_ride", "10", ago(hours=2))]
    )
    (outcome,) = result["results"]
    operator = await sign_in_staff(Role.admin_operator)

    decided = await client.post(
        f"/v1/admin/behaviours/{outcome['behaviour_id']}/review",
        json={"approve": False, "reason": "the card operator could not confirm the trip"},
        headers=bearer(operator),
    )

    assert decided.status_code == 200, decided.text
    (received,) = await receiver.wait_for(1)
    assert verify(secret, received)
    assert received.json["data"] == {
        "behaviour_id": outcome["behaviour_id"],
        "behaviour_type": "metro_ride",
        "decision": "rejected",
        "status": "rejected",
        "credited_g": 0,
        "capped_g": 0,
    }
    assert resident_id not in received.body.decode()


async def test_a_resident_report_reversed_tells_no_partner(
    api: Api, sign_in_staff: StaffSignIn, sign_in_resident: ResidentSignIn, receiver: Receiver
) -> None:
    client = api.client
    partner = await create_partner(client, await sign_in_staff(Role.admin_super))
    await _subscribed(partner, receiver, ["behaviour.reviewed"])
    resident = await sign_in_resident("alice")
    recorded = await record_ok(client, resident, behaviour_body("metro_ride", "10", ago(hours=1), evidence=SITE_CODES))
    operator = await sign_in_staff(Role.admin_operator)

    reversed_ = await client.post(
        f"/v1/admin/transfers/{recorded['transfer_id']}/reverse", json={"reason": "test"}, headers=bearer(operator)
    )

    assert reversed_.status_code == 201, reversed_.text
    await asyncio.sleep(0.3)
    assert receiver.received == []


async def test_a_link_made_and_revoked_reaches_the_partner_by_the_links_id(
    api: Api, sign_in_staff: StaffSignIn, sign_in_resident: ResidentSignIn, receiver: Receiver
) -> None:
    partner = await create_partner(api.client, await sign_in_staff(Role.admin_super))
    secret = await _subscribed(partner, receiver, ["link.created", "link.revoked"])
    alice = await sign_in_resident("alice")
    redeemed = await partner.redeem(await link_code(api.client, alice, partner.code))

    revoked = await api.client.delete(f"{LINKS}/{redeemed['link_id']}", headers=bearer(alice))

    assert revoked.status_code == 200, revoked.text
    # deliveries are sent side by side: the two may arrive in either order
    by_type = {received.json["type"]: received for received in await receiver.wait_for(2)}
    created, withdrawn = by_type["link.created"], by_type["link.revoked"]
    assert all(verify(secret, received) for received in (created, withdrawn))
    assert created.json["data"] == {
        "link_id": redeemed["link_id"],
        "granted_at": created.json["data"]["granted_at"],
    }
    assert withdrawn.json["data"]["link_id"] == redeemed["link_id"]
    assert withdrawn.json["data"]["reason"] == "resident"
    platform_id = await public_id(api.client, alice)
    for received in (created, withdrawn):
        assert platform_id not in received.body.decode()
        assert redeemed["pseudonym"] not in received.body.decode()


async def test_emit_refuses_a_payload_that_names_a_resident(api: Api) -> None:
    async with api.db.sessionmaker() as session:
        with pytest.raises(ValueError, match="personal data"):
            await emit(session, partner_id=1, event_type=EventType.link_created, data={"openid": "o-abc"})
        with pytest.raises(ValueError, match="is not an event"):
            await emit(session, partner_id=1, event_type=EventType.voucher_accepted, data={})
