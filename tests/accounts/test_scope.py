"""Town and community officers: a super-administrator keeps an auditor or operator to one community, the
officer's tokens and its own read say which, a change of scope ends its tokens, and whatever is not
about its community's residents is refused it (403 DISTRICT_ONLY)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from service.accounts.models import Role
from tests.conftest import Api, bearer
from tests.fixtures.behaviours import assert_problem
from tests.fixtures.towns import communities, create_officer, sign_in

SignIn = Callable[..., Awaitable[dict[str, Any]]]


async def test_an_officer_is_created_with_its_town_and_sees_it_in_its_own_read(api: Api, sign_in_staff: SignIn) -> None:
    client = api.client
    root = await sign_in_staff(Role.admin_super, "root")
    town = (await communities(client))["xianshuigu"]

    created = await create_officer(client, root, "xsg-ops", "admin-operator", town["id"])

    assert created["scope"] == town
    officer = await sign_in(client, "xsg-ops")
    me = (await client.get("/v1/staff/me", headers=bearer(officer))).json()
    assert (me["role"], me["scope"]["name_zh"], me["scope"]["name_en"]) == (
        "admin-operator",
        "咸水沽镇",
        "Xianshuigu Town",
    )
    listed = (await client.get("/v1/admin/users", headers=bearer(root))).json()["items"]
    assert {u["username"]: u["scope"] for u in listed} == {"root": None, "xsg-ops": town}
    district = (await client.get("/v1/staff/me", headers=bearer(root))).json()
    assert district["scope"] is None


async def test_only_an_auditor_or_operator_of_a_real_community_can_be_scoped(api: Api, sign_in_staff: SignIn) -> None:
    client = api.client
    root = await sign_in_staff(Role.admin_super, "root")
    town = (await communities(client))["gegu"]["id"]
    base = {"password": "correct horse battery staple", "display_name": "x"}

    super_scoped = await client.post(
        "/v1/admin/users",
        json={**base, "username": "scoped-super", "role": "admin-super", "scope_community_id": town},
        headers=bearer(root),
    )
    assert_problem(super_scoped, 422, "SCOPE_NOT_FOR_ROLE")
    unknown = await client.post(
        "/v1/admin/users",
        json={**base, "username": "nowhere-ops", "role": "admin-operator", "scope_community_id": 99999},
        headers=bearer(root),
    )
    assert_problem(unknown, 422, "UNKNOWN_COMMUNITY")
    root_id = next(u["id"] for u in (await client.get("/v1/admin/users", headers=bearer(root))).json()["items"])
    own = await client.patch(f"/v1/admin/users/{root_id}", json={"scope_community_id": town}, headers=bearer(root))
    assert_problem(own, 422, "SCOPE_NOT_FOR_ROLE")

    users = (await client.get("/v1/admin/users", headers=bearer(root))).json()["items"]
    assert [(u["username"], u["scope"]) for u in users] == [("root", None)]


async def test_changing_an_officers_town_ends_its_tokens_and_the_next_sign_in_carries_the_new_one(
    api: Api, sign_in_staff: SignIn
) -> None:
    client = api.client
    root = await sign_in_staff(Role.admin_super, "root")
    known = await communities(client)
    created = await create_officer(client, root, "xsg-audit", "admin-auditor", known["xianshuigu"]["id"])
    old = await sign_in(client, "xsg-audit")
    assert (await client.get("/v1/admin/behaviours/pending", headers=bearer(old))).status_code == 200

    moved = await client.patch(
        f"/v1/admin/users/{created['id']}", json={"scope_community_id": known["gegu"]["id"]}, headers=bearer(root)
    )

    assert moved.status_code == 200, moved.text
    assert moved.json()["scope"] == known["gegu"]
    assert_problem(await client.get("/v1/admin/behaviours/pending", headers=bearer(old)), 401, "TOKEN_REVOKED")
    assert_problem(
        await client.post("/v1/auth/refresh", json={"refresh_token": old["refresh_token"]}),
        401,
        "INVALID_REFRESH_TOKEN",
    )
    new = await sign_in(client, "xsg-audit")
    me = (await client.get("/v1/staff/me", headers=bearer(new))).json()
    assert me["scope"]["code"] == "gegu"
    gegu_only = await client.get(
        "/v1/admin/dashboard",
        params={"start": "2026-01-01", "end": "2026-02-01", "community_id": known["xianshuigu"]["id"]},
        headers=bearer(new),
    )
    assert_problem(gegu_only, 403, "OUTSIDE_SCOPE")

    # freed to the whole district, it reaches what only district administrators do
    freed = await client.patch(
        f"/v1/admin/users/{created['id']}", json={"scope_community_id": None}, headers=bearer(root)
    )
    assert freed.json()["scope"] is None
    assert_problem(await client.get("/v1/admin/enterprises", headers=bearer(new)), 401, "TOKEN_REVOKED")
    district = await sign_in(client, "xsg-audit")
    assert (await client.get("/v1/admin/enterprises", headers=bearer(district))).status_code == 200
    log = (await client.get("/v1/admin/audit/actions", params={"action": "user.scope"}, headers=bearer(root))).json()
    assert [(a["details"]["before"], a["details"]["after"]) for a in log["items"]] == [
        (known["gegu"]["id"], None),
        (known["xianshuigu"]["id"], known["gegu"]["id"]),
    ]


async def test_district_administration_is_refused_to_an_officer(api: Api, sign_in_staff: SignIn) -> None:
    client = api.client
    root = await sign_in_staff(Role.admin_super, "root")
    town = (await communities(client))["xianshuigu"]["id"]
    await create_officer(client, root, "xsg-ops", "admin-operator", town)
    officer = bearer(await sign_in(client, "xsg-ops"))

    for method, path, body in (
        ("GET", "/v1/admin/users", None),
        ("GET", "/v1/admin/enterprises", None),
        ("POST", "/v1/admin/enterprises", {"name": "津南绿色咖啡"}),
        ("GET", "/v1/admin/partners", None),
        ("GET", "/v1/admin/sites", None),
        (
            "POST",
            "/v1/admin/organisations",
            {"code": "xsg-school", "name_zh": "学校", "name_en": "School", "kind": "school"},
        ),
        ("POST", "/v1/admin/audit/verify", None),
    ):
        response = await client.request(method, path, json=body, headers=officer)
        assert_problem(response, 403, "DISTRICT_ONLY")
    enterprises = (await client.get("/v1/admin/enterprises", headers=bearer(root))).json()
    assert enterprises["items"] == []
