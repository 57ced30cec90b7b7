"""Linking a partner account with the resident's consent: the code, the pseudonym, records by pseudonym,
revocation, and what a partner may never learn."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from service.accounts.models import Role
from tests.conftest import Api, bearer
from tests.fixtures.behaviours import (
    LINKS,
    PARTNER_LINKS,
    PartnerClient,
    Tokens,
    ago,
    assert_ledger_invariants,
    assert_problem,
    balance,
    create_partner,
    link_code,
    partner_record,
    public_id,
)

ResidentSignIn = Callable[[str], Awaitable[Tokens]]
StaffSignIn = Callable[..., Awaitable[Tokens]]
Json = dict[str, Any]


@pytest.fixture
async def super_admin(sign_in_staff: StaffSignIn) -> Tokens:
    return await sign_in_staff(Role.admin_super)


@pytest.fixture
async def metro(client: httpx.AsyncClient, super_admin: Tokens) -> PartnerClient:
    return await create_partner(client, super_admin, code="jinnan-metro-card", kind="transit_card")


@pytest.fixture
async def bikes(client: httpx.AsyncClient, super_admin: Tokens) -> PartnerClient:
    return await create_partner(client, super_admin, code="haihe-bikes", kind="bike_share")


async def _links(client: httpx.AsyncClient, resident: Tokens) -> list[Json]:
    response = await client.get(LINKS, headers=bearer(resident))
    assert response.status_code == 200, response.text
    links: list[Json] = response.json()["items"]
    return links


async def test_a_linked_partner_credits_by_pseudonym_until_the_resident_revokes(
    api: Api, client: httpx.AsyncClient, metro: PartnerClient, sign_in_resident: ResidentSignIn
) -> None:
    alice = await sign_in_resident("alice")
    shown = (await client.get("/v1/partners/jinnan-metro-card/consent", headers=bearer(alice))).json()
    assert "每次乘车的进站、出站时间" in shown["data"]
    assert shown["text"].startswith(shown["title"])

    pseudonym = await metro.link(alice)
    (link,) = await _links(client, alice)
    assert (link["status"], link["partner"]["code"], link["text_sha256"]) == (
        "active",
        "jinnan-metro-card",
        shown["text_sha256"],
    )
    ride_at = ago(hours=3)
    accepted = await metro.batch([partner_record("m-1", pseudonym, "metro_ride", "10", ride_at)])
    assert accepted["results"][0]["outcome"] == "accepted"
    assert await balance(client, alice) == 468

    revoked = await client.delete(f"{LINKS}/{link['id']}", headers=bearer(alice))
    assert revoked.status_code == 200, revoked.text
    assert (revoked.json()["status"], revoked.json()["revoked_by"]) == ("revoked", "resident")
    refused = await metro.batch([partner_record("m-2", pseudonym, "metro_ride", "10", ago(hours=1))])

    assert [(r["outcome"], r["reason"], r["credited_g"]) for r in refused["results"]] == [
        ("rejected", "LINK_REVOKED", 0)
    ]
    assert await balance(client, alice) == 468, "what was credited before the revocation stays"
    # a resend of the record credited before answers as it did then
    resent = await metro.batch([partner_record("m-1", pseudonym, "metro_ride", "10", ride_at)])
    assert [(r["outcome"], r["reason"], r["credited_g"]) for r in resent["results"]] == [
        ("duplicate", "ALREADY_RECEIVED", 468)
    ]
    assert await balance(client, alice) == 468
    listed = (await metro.signed("GET", f"{PARTNER_LINKS}?status=revoked")).json()
    assert [(i["pseudonym"], i["status"]) for i in listed["items"]] == [(pseudonym, "revoked")]
    assert_problem(await client.delete(f"{LINKS}/{link['id']}", headers=bearer(alice)), 409, "LINK_REVOKED")
    await assert_ledger_invariants(api)


async def test_a_pseudonym_unknown_or_of_another_partner_credits_nothing(
    client: httpx.AsyncClient, metro: PartnerClient, bikes: PartnerClient, sign_in_resident: ResidentSignIn
) -> None:
    alice = await sign_in_resident("alice")
    at_metro, at_bikes = await metro.link(alice), await bikes.link(alice)
    assert at_metro != at_bikes

    result = await metro.batch(
        [
            partner_record("m-1", at_bikes, "metro_ride", "10", ago(hours=3)),
            partner_record("m-2", "psn_nobodyhasthisone0000000000", "metro_ride", "10", ago(hours=5)),
        ]
    )

    assert [(r["outcome"], r["reason"]) for r in result["results"]] == [
        ("rejected", "PSEUDONYM_NOT_YOURS"),
        ("rejected", "PSEUDONYM_UNKNOWN"),
    ]
    assert await balance(client, alice) == 0


async def test_the_partner_never_sees_the_residents_platform_id(
    api: Api, client: httpx.AsyncClient, metro: PartnerClient, sign_in_resident: ResidentSignIn
) -> None:
    alice = await sign_in_resident("alice")
    platform_id = await public_id(client, alice)
    async with api.db.sessionmaker() as session:
        openid = await session.scalar(
            text("SELECT openid FROM accounts_resident WHERE public_id = :p"), {"p": platform_id}
        )
    code = await link_code(client, alice, metro.code)

    seen = [await metro.signed("POST", PARTNER_LINKS, {"code": code})]
    pseudonym = seen[0].json()["pseudonym"]
    seen.append(await metro.post([partner_record("m-1", pseudonym, "metro_ride", "10", ago(hours=3))]))
    seen.append(await metro.signed("GET", PARTNER_LINKS))

    assert [r.status_code for r in seen] == [201, 200, 200]
    for response in seen:
        assert platform_id not in response.text
        assert str(openid) not in response.text
    assert pseudonym.startswith("psn_")
    assert platform_id.replace("-", "") not in pseudonym


async def test_a_link_code_is_good_once_for_its_partner_until_it_expires(
    api: Api, client: httpx.AsyncClient, metro: PartnerClient, bikes: PartnerClient, sign_in_resident: ResidentSignIn
) -> None:
    alice, bob = await sign_in_resident("alice"), await sign_in_resident("bob")
    code = await link_code(client, alice, metro.code)

    assert_problem(await bikes.signed("POST", PARTNER_LINKS, {"code": code}), 404, "LINK_CODE_UNKNOWN")
    assert_problem(await metro.signed("POST", PARTNER_LINKS, {"code": "0000-0000-0000"}), 404, "LINK_CODE_UNKNOWN")
    typed = code.lower().replace("-", " ")
    assert (await metro.signed("POST", PARTNER_LINKS, {"code": typed})).status_code == 201
    assert_problem(await metro.signed("POST", PARTNER_LINKS, {"code": code}), 409, "LINK_CODE_USED")

    late = await link_code(client, bob, metro.code)
    async with api.db.sessionmaker() as session, session.begin():
        await session.execute(
            text("UPDATE consent_link_code SET expires_at = now() - interval '1 second' WHERE used_at IS NULL")
        )
    assert_problem(await metro.signed("POST", PARTNER_LINKS, {"code": late}), 409, "LINK_CODE_EXPIRED")
    assert await _links(client, bob) == []
    assert [link["status"] for link in await _links(client, alice)] == ["active"]


async def test_consent_must_be_to_the_current_text_and_once_per_partner(
    client: httpx.AsyncClient, metro: PartnerClient, sign_in_resident: ResidentSignIn
) -> None:
    alice = await sign_in_resident("alice")
    shown = (await client.get(f"/v1/partners/{metro.code}/consent?lang=en", headers=bearer(alice))).json()
    body = {
        "partner": metro.code,
        "text_version": shown["version"],
        "locale": "en",
        "text_sha256": "0" * 64,
        "method": "h5",
    }

    assert_problem(await client.post(LINKS, json=body, headers=bearer(alice)), 409, "CONSENT_TEXT_OUTDATED")
    zh = (await client.get(f"/v1/partners/{metro.code}/consent", headers=bearer(alice))).json()
    assert_problem(
        await client.post(LINKS, json={**body, "text_sha256": zh["text_sha256"]}, headers=bearer(alice)),
        409,
        "CONSENT_TEXT_OUTDATED",
    )
    assert (
        await client.post(LINKS, json={**body, "text_sha256": shown["text_sha256"]}, headers=bearer(alice))
    ).status_code == 201
    await metro.link(alice)
    assert_problem(
        await client.post(LINKS, json={**body, "text_sha256": shown["text_sha256"]}, headers=bearer(alice)),
        409,
        "ALREADY_LINKED",
    )
    assert_problem(
        await client.get("/v1/partners/no-such-partner/consent", headers=bearer(alice)), 404, "LINK_PARTNER_UNKNOWN"
    )
    (link,) = await _links(client, alice)
    assert (link["locale"], link["method"]) == ("zh-CN", "wechat_mini_program")


async def test_a_resident_sees_and_revokes_only_their_own_links(
    client: httpx.AsyncClient, metro: PartnerClient, sign_in_resident: ResidentSignIn
) -> None:
    alice, bob = await sign_in_resident("alice"), await sign_in_resident("bob")
    await metro.link(alice)
    (link,) = await _links(client, alice)

    assert await _links(client, bob) == []
    assert_problem(await client.delete(f"{LINKS}/{link['id']}", headers=bearer(bob)), 404, "LINK_NOT_FOUND")
    assert [item["status"] for item in await _links(client, alice)] == ["active"]
    partners = (await client.get("/v1/partners", headers=bearer(alice))).json()
    assert {"code": metro.code, "name": f"{metro.code} 合作方", "kind": "transit_card"} in partners
