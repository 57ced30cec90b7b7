"""A resident's profile, their data export, and deleting the account."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from sqlalchemy import text

from tests.conftest import Api, bearer

SignIn = Callable[[str], Awaitable[dict[str, Any]]]


async def _community(client: httpx.AsyncClient, code: str) -> dict[str, Any]:
    communities = (await client.get("/v1/communities")).json()
    found: dict[str, Any] = next(c for c in communities if c["code"] == code)
    return found


async def test_communities_cover_jinnan_towns_streets_and_areas(client: httpx.AsyncClient) -> None:
    communities = (await client.get("/v1/communities")).json()

    names = {c["name_zh"] for c in communities}
    assert {"咸水沽镇", "葛沽镇", "小站镇", "双港镇", "海河教育园区"} <= names
    assert {c["kind"] for c in communities} == {"town", "street", "area"}


async def test_organisations_filter_by_community_and_kind(client: httpx.AsyncClient) -> None:
    park = await _community(client, "haihe-education-park")

    schools = (await client.get("/v1/organisations", params={"community_id": park["id"], "kind": "school"})).json()

    assert {o["code"] for o in schools} == {"nankai-jinnan", "tju-peiyang-park"}
    assert all(o["community_id"] == park["id"] for o in schools)


async def test_a_new_resident_has_an_empty_profile_and_shows_on_leaderboards(
    client: httpx.AsyncClient, sign_in_resident: SignIn
) -> None:
    me = (await client.get("/v1/me", headers=bearer(await sign_in_resident("alice")))).json()

    assert me["nickname"] is None
    assert me["community"] is None
    assert me["organisation"] is None
    assert me["leaderboard_visible"] is True


async def test_a_resident_sets_nickname_community_organisation_and_visibility(
    client: httpx.AsyncClient, sign_in_resident: SignIn
) -> None:
    tokens = await sign_in_resident("alice")
    town = await _community(client, "xianshuigu")
    school = next(o for o in (await client.get("/v1/organisations")).json() if o["code"] == "nankai-jinnan")

    response = await client.patch(
        "/v1/me",
        json={
            "nickname": "  海河小绿 ",
            "community_id": town["id"],
            "organisation_id": school["id"],
            "leaderboard_visible": False,
        },
        headers=bearer(tokens),
    )

    assert response.status_code == 200, response.text
    me = (await client.get("/v1/me", headers=bearer(tokens))).json()
    assert me["nickname"] == "海河小绿"
    assert me["community"]["name_zh"] == "咸水沽镇"
    assert me["organisation"]["code"] == "nankai-jinnan"
    assert me["leaderboard_visible"] is False


async def test_a_partial_update_leaves_the_other_fields_alone(
    client: httpx.AsyncClient, sign_in_resident: SignIn
) -> None:
    tokens = await sign_in_resident("alice")
    town = await _community(client, "gegu")
    await client.patch("/v1/me", json={"nickname": "A", "community_id": town["id"]}, headers=bearer(tokens))

    await client.patch("/v1/me", json={"leaderboard_visible": False}, headers=bearer(tokens))

    me = (await client.get("/v1/me", headers=bearer(tokens))).json()
    assert (me["nickname"], me["community"]["code"], me["leaderboard_visible"]) == ("A", "gegu", False)


async def test_an_unknown_community_or_organisation_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, sign_in_resident: SignIn
) -> None:
    tokens = await sign_in_resident("alice")
    await client.patch("/v1/me", json={"nickname": "before"}, headers=bearer(tokens))

    community = await client.patch(
        "/v1/me", json={"nickname": "after", "community_id": 999_999}, headers=bearer(tokens)
    )
    organisation = await client.patch("/v1/me", json={"organisation_id": 999_999}, headers=bearer(tokens))

    assert community.status_code == organisation.status_code == 422
    assert community.json()["code"] == "UNKNOWN_COMMUNITY"
    assert organisation.json()["code"] == "UNKNOWN_ORGANISATION"
    assert (await client.get("/v1/me", headers=bearer(tokens))).json()["nickname"] == "before"


async def test_a_nickname_with_control_characters_or_too_long_is_refused(
    client: httpx.AsyncClient, sign_in_resident: SignIn
) -> None:
    tokens = await sign_in_resident("alice")

    for nickname in ("bad\nname", "x" * 33, "   "):
        response = await client.patch("/v1/me", json={"nickname": nickname}, headers=bearer(tokens))
        assert response.status_code == 422, nickname
        assert response.json()["errors"][0]["field"] == "nickname"


async def test_the_export_holds_the_profile_openid_and_sign_ins_of_its_owner_only(
    client: httpx.AsyncClient, sign_in_resident: SignIn
) -> None:
    tokens = await sign_in_resident("alice")
    await sign_in_resident("alice")
    await sign_in_resident("bob")
    await client.patch("/v1/me", json={"nickname": "Alice"}, headers=bearer(tokens))

    response = await client.get("/v1/me/export", headers=bearer(tokens))

    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    assert response.headers["cache-control"] == "no-store"
    export = response.json()
    assert export["profile"]["nickname"] == "Alice"
    assert export["wechat_openid"] == "dev:alice"
    assert len(export["sessions"]) == 2
    assert "dev:bob" not in response.text


async def test_deleting_the_account_erases_personal_data_and_signs_out_everywhere(
    api: Api, sign_in_resident: SignIn
) -> None:
    client = api.client
    tokens = await sign_in_resident("alice")
    await client.patch("/v1/me", json={"nickname": "Alice"}, headers=bearer(tokens))
    me = (await client.get("/v1/me", headers=bearer(tokens))).json()

    deleted = await client.delete("/v1/me", headers=bearer(tokens))

    assert deleted.status_code == 204
    after = await client.get("/v1/me", headers=bearer(tokens))
    assert (after.status_code, after.json()["code"]) == (401, "TOKEN_REVOKED")
    refreshed = await client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 401
    async with api.db.engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "SELECT openid, nickname, pseudonym, public_id, deleted_at FROM accounts_resident WHERE pseudonym = :h"
                ),
                {"h": me["handle"]},
            )
        ).one()
    assert row.openid is None
    assert row.nickname is None
    assert row.pseudonym.startswith("r-")
    assert row.deleted_at is not None
    assert str(row.public_id) != me["id"]


async def test_signing_in_again_after_deletion_starts_a_new_account(
    client: httpx.AsyncClient, sign_in_resident: SignIn
) -> None:
    tokens = await sign_in_resident("alice")
    old = (await client.get("/v1/me", headers=bearer(tokens))).json()
    await client.delete("/v1/me", headers=bearer(tokens))

    new = (await client.get("/v1/me", headers=bearer(await sign_in_resident("alice")))).json()

    assert new["id"] != old["id"]
    assert new["nickname"] is None


async def test_deleting_twice_is_refused_as_signed_out(client: httpx.AsyncClient, sign_in_resident: SignIn) -> None:
    tokens = await sign_in_resident("alice")
    await client.delete("/v1/me", headers=bearer(tokens))

    again = await client.delete("/v1/me", headers=bearer(tokens))

    assert (again.status_code, again.json()["code"]) == (401, "TOKEN_REVOKED")
