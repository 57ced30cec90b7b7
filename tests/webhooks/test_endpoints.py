"""Owners register, read, change and delete their endpoints, rotate secrets, and see only their own; URLs
and event types are checked."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable

import httpx
import pytest

from service.accounts.models import Role
from service.config import Environment, Settings
from service.errors import AppError
from service.webhooks import urls
from service.webhooks.endpoints import MAX_ENDPOINTS
from tests.conftest import bearer
from tests.fixtures.behaviours import PartnerClient, Tokens, create_partner
from tests.fixtures.redemption import accept, earn, publish, redeem_ok
from tests.fixtures.webhooks import (
    ENTERPRISE_WEBHOOKS,
    PARTNER_WEBHOOKS,
    Receiver,
    partner_call,
    register,
    registered,
    settled,
    verify,
)

StaffSignIn = Callable[..., Awaitable[Tokens]]
ResidentSignIn = Callable[[str], Awaitable[Tokens]]
URL = "https://hooks.example.com/tanpuhui"


async def test_an_enterprise_registers_reads_changes_and_deletes_an_endpoint(
    client: httpx.AsyncClient, sign_in_staff: StaffSignIn
) -> None:
    enterprise = await sign_in_staff(Role.enterprise)

    created = await register(client, enterprise, URL, ["voucher.accepted"], description="收银系统")

    assert created.status_code == 201, created.text
    endpoint = created.json()
    assert endpoint["secret"].startswith("whsec_")
    assert len(base64.b64decode(endpoint["secret"].removeprefix("whsec_"), validate=True)) >= 24
    assert (endpoint["url"], endpoint["event_types"], endpoint["enabled"]) == (URL, ["voucher.accepted"], True)
    path = f"{ENTERPRISE_WEBHOOKS}/{endpoint['id']}"
    listed = (await client.get(ENTERPRISE_WEBHOOKS, headers=bearer(enterprise))).json()
    assert [item["id"] for item in listed["items"]] == [endpoint["id"]]
    assert "secret" not in listed["items"][0]
    read = await client.get(path, headers=bearer(enterprise))
    assert read.json() == {k: v for k, v in endpoint.items() if k != "secret"}

    changed = await client.patch(
        path,
        json={"url": URL + "/v2", "event_types": ["voucher.cancelled", "retirement.certified"], "enabled": False},
        headers=bearer(enterprise),
    )

    assert changed.status_code == 200, changed.text
    assert changed.json()["url"] == URL + "/v2"
    assert changed.json()["event_types"] == ["voucher.cancelled", "retirement.certified"]
    assert (changed.json()["enabled"], changed.json()["description"]) == (False, "收银系统")
    nulled = await client.patch(path, json={"url": None}, headers=bearer(enterprise))
    assert nulled.json()["code"] == "VALIDATION_FAILED"

    deleted = await client.delete(path, headers=bearer(enterprise))

    assert deleted.status_code == 204
    gone = await client.get(path, headers=bearer(enterprise))
    assert (gone.status_code, gone.json()["code"]) == (404, "WEBHOOK_ENDPOINT_NOT_FOUND")
    assert (await client.get(ENTERPRISE_WEBHOOKS, headers=bearer(enterprise))).json()["items"] == []


async def test_endpoints_come_a_page_at_a_time_and_no_more_than_the_limit(
    client: httpx.AsyncClient, sign_in_staff: StaffSignIn
) -> None:
    enterprise = await sign_in_staff(Role.enterprise)
    ids = [
        (await registered(client, enterprise, f"{URL}/{n}", ["voucher.accepted"]))["id"] for n in range(MAX_ENDPOINTS)
    ]

    first = (await client.get(ENTERPRISE_WEBHOOKS, params={"limit": 15}, headers=bearer(enterprise))).json()
    rest = await client.get(
        ENTERPRISE_WEBHOOKS, params={"limit": 15, "cursor": first["next_cursor"]}, headers=bearer(enterprise)
    )
    one_more = await register(client, enterprise, URL, ["voucher.accepted"])

    assert [item["id"] for item in first["items"] + rest.json()["items"]] == ids
    assert rest.json()["next_cursor"] is None
    assert (one_more.status_code, one_more.json()["code"]) == (409, "WEBHOOK_ENDPOINT_LIMIT")


@pytest.mark.parametrize(
    ("events", "code"),
    [
        (["voucher.accepted", "voucher.exploded"], "WEBHOOK_EVENT_UNKNOWN"),
        (["link.created"], "WEBHOOK_EVENT_UNKNOWN"),
        ([], "VALIDATION_FAILED"),
    ],
)
async def test_an_enterprise_subscribes_only_to_its_own_event_types(
    client: httpx.AsyncClient, sign_in_staff: StaffSignIn, events: list[str], code: str
) -> None:
    enterprise = await sign_in_staff(Role.enterprise)

    response = await register(client, enterprise, URL, events)

    assert (response.status_code, response.json()["code"]) == (422, code)
    assert (await client.get(ENTERPRISE_WEBHOOKS, headers=bearer(enterprise))).json()["items"] == []


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.example.com/x",
        "https://user:password@hooks.example.com/",
        "hooks.example.com/x",
        "https://h:99999/",
    ],
)
async def test_a_url_that_is_no_usable_address_is_refused(
    client: httpx.AsyncClient, sign_in_staff: StaffSignIn, url: str
) -> None:
    enterprise = await sign_in_staff(Role.enterprise)

    response = await register(client, enterprise, url, ["voucher.accepted"])

    assert (response.status_code, response.json()["code"]) == (422, "WEBHOOK_URL_INVALID")


async def test_the_test_service_accepts_plain_http_on_loopback(
    client: httpx.AsyncClient, sign_in_staff: StaffSignIn
) -> None:
    enterprise = await sign_in_staff(Role.enterprise)

    response = await register(client, enterprise, "http://127.0.0.1:8080/hooks", ["voucher.accepted"])

    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://hooks.example.com/tanpuhui", "WEBHOOK_URL_NOT_HTTPS"),
        ("http://127.0.0.1:8080/hooks", "WEBHOOK_URL_NOT_HTTPS"),
        ("https://127.0.0.1/hooks", "WEBHOOK_URL_NOT_PUBLIC"),
        ("https://localhost/hooks", "WEBHOOK_URL_NOT_PUBLIC"),
        ("https://10.1.2.3/hooks", "WEBHOOK_URL_NOT_PUBLIC"),
        ("https://192.168.1.20/hooks", "WEBHOOK_URL_NOT_PUBLIC"),
        ("https://169.254.169.254/latest/meta-data", "WEBHOOK_URL_NOT_PUBLIC"),
        ("https://[::1]/hooks", "WEBHOOK_URL_NOT_PUBLIC"),
        ("https://[::ffff:10.0.0.1]/hooks", "WEBHOOK_URL_NOT_PUBLIC"),
        ("https://100.64.0.1/hooks", "WEBHOOK_URL_NOT_PUBLIC"),
        # IPv6 addresses a gateway translates to an IPv4 one that is not public: NAT64, 6to4, compatible
        ("https://[64:ff9b::a9fe:a9fe]/latest/meta-data", "WEBHOOK_URL_NOT_PUBLIC"),
        ("https://[64:ff9b:1::7f00:1]/hooks", "WEBHOOK_URL_NOT_PUBLIC"),
        ("https://[2002:a9fe:a9fe::1]/hooks", "WEBHOOK_URL_NOT_PUBLIC"),
        ("https://[::127.0.0.1]/hooks", "WEBHOOK_URL_NOT_PUBLIC"),
    ],
)
async def test_production_refuses_plain_http_and_addresses_that_are_not_public(url: str, code: str) -> None:
    production = Settings(_env_file=None, env=Environment.production)

    with pytest.raises(AppError) as refused:
        await urls.check(url, production)

    assert refused.value.code == code


async def test_production_accepts_https_to_a_public_address() -> None:
    production = Settings(_env_file=None, env=Environment.production)

    await urls.check("https://1.1.1.1/hooks", production)
    await urls.check("https://[64:ff9b::808:808]/hooks", production)  # NAT64 of a public address
    await urls.check("https://[2606:4700:4700::1111]/hooks", production)


async def test_a_partner_manages_its_endpoints_with_signed_requests(
    client: httpx.AsyncClient, sign_in_staff: StaffSignIn
) -> None:
    partner = await create_partner(client, await sign_in_staff(Role.admin_super))

    created = await partner_call(partner, "POST", PARTNER_WEBHOOKS, {"url": URL, "event_types": ["behaviour.reviewed"]})
    wrong = await partner_call(partner, "POST", PARTNER_WEBHOOKS, {"url": URL, "event_types": ["voucher.accepted"]})
    unsigned = await client.get(PARTNER_WEBHOOKS)

    assert created.status_code == 201, created.text
    assert created.json()["secret"].startswith("whsec_")
    assert (wrong.status_code, wrong.json()["code"]) == (422, "WEBHOOK_EVENT_UNKNOWN")
    assert (unsigned.status_code, unsigned.json()["code"]) == (401, "PARTNER_SIGNATURE_INVALID")
    listed = await partner_call(partner, "GET", PARTNER_WEBHOOKS, query="limit=5")
    assert [item["id"] for item in listed.json()["items"]] == [created.json()["id"]]
    path = f"{PARTNER_WEBHOOKS}/{created.json()['id']}"
    changed = await partner_call(partner, "PATCH", path, {"event_types": ["link.created", "link.revoked"]})
    assert changed.json()["event_types"] == ["link.created", "link.revoked"]
    assert (await partner_call(partner, "DELETE", path)).status_code == 204


async def _delivered_endpoint(
    client: httpx.AsyncClient, enterprise: Tokens, resident: Tokens, receiver: Receiver
) -> tuple[dict[str, object], dict[str, object]]:
    endpoint = await registered(client, enterprise, receiver.url, ["voucher.accepted"])
    await earn(client, resident, 1)
    reward = await publish(client, enterprise, price_g=400)
    voucher = (await redeem_ok(client, resident, reward["id"]))["voucher"]
    assert (await accept(client, enterprise, voucher["code"])).status_code == 200
    (delivery,) = await settled(client, enterprise, int(str(endpoint["id"])))
    return endpoint, delivery


async def test_an_owner_sees_and_touches_nothing_of_another_owners_endpoints_or_deliveries(
    client: httpx.AsyncClient, sign_in_staff: StaffSignIn, sign_in_resident: ResidentSignIn, receiver: Receiver
) -> None:
    enterprise = await sign_in_staff(Role.enterprise)
    other = await sign_in_staff(Role.enterprise, username="other-cafe")
    partner: PartnerClient = await create_partner(client, await sign_in_staff(Role.admin_super))
    endpoint, delivery = await _delivered_endpoint(client, enterprise, await sign_in_resident("alice"), receiver)
    mine = await registered(client, other, URL, ["voucher.accepted"])
    theirs = f"{ENTERPRISE_WEBHOOKS}/{endpoint['id']}"
    tries = [
        ("GET", theirs, None),
        ("PATCH", theirs, {"enabled": False}),
        ("POST", f"{theirs}/secret", None),
        ("GET", f"{theirs}/deliveries", None),
        ("GET", f"{theirs}/deliveries/{delivery['id']}", None),
        ("POST", f"{theirs}/deliveries/{delivery['id']}/redeliver", None),
        ("DELETE", theirs, None),
    ]

    for method, path, body in tries:
        response = await client.request(method, path, json=body, headers=bearer(other))
        assert (response.status_code, response.json()["code"]) == (404, "WEBHOOK_ENDPOINT_NOT_FOUND"), (method, path)
        by_partner = await partner_call(partner, method, path.replace(ENTERPRISE_WEBHOOKS, PARTNER_WEBHOOKS), body)
        assert by_partner.json()["code"] == "WEBHOOK_ENDPOINT_NOT_FOUND", (method, path)
    crossed = await client.get(f"{ENTERPRISE_WEBHOOKS}/{mine['id']}/deliveries/{delivery['id']}", headers=bearer(other))
    assert (crossed.status_code, crossed.json()["code"]) == (404, "WEBHOOK_DELIVERY_NOT_FOUND")
    assert [e["id"] for e in (await client.get(ENTERPRISE_WEBHOOKS, headers=bearer(other))).json()["items"]] == [
        mine["id"]
    ]
    assert (await partner_call(partner, "GET", PARTNER_WEBHOOKS)).json()["items"] == []
    still = await client.get(theirs, headers=bearer(enterprise))
    assert (still.status_code, still.json()["enabled"]) == (200, True)
    assert len(receiver.received) == 1


async def test_a_rotated_secret_signs_beside_the_old_one_for_a_day(
    client: httpx.AsyncClient, sign_in_staff: StaffSignIn, sign_in_resident: ResidentSignIn, receiver: Receiver
) -> None:
    enterprise = await sign_in_staff(Role.enterprise)
    endpoint, delivery = await _delivered_endpoint(client, enterprise, await sign_in_resident("alice"), receiver)
    path = f"{ENTERPRISE_WEBHOOKS}/{endpoint['id']}"

    rotated = await client.post(f"{path}/secret", headers=bearer(enterprise))

    assert rotated.status_code == 200, rotated.text
    secret = rotated.json()["secret"]
    assert secret.startswith("whsec_")
    assert secret != endpoint["secret"]
    redelivered = await client.post(f"{path}/deliveries/{delivery['id']}/redeliver", headers=bearer(enterprise))
    assert redelivered.status_code == 202
    _, again = await receiver.wait_for(2)
    assert verify(secret, again)
    assert verify(str(endpoint["secret"]), again)
    assert len(again.headers["webhook-signature"].split(" ")) == 2
