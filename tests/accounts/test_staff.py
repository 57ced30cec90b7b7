"""Enterprise and administrator users: password sign-in, roles, and what each admin role may do."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from service.accounts.models import Role
from tests.conftest import STAFF_PASSWORD, bearer

StaffSignIn = Callable[..., Awaitable[dict[str, Any]]]


async def test_staff_sign_in_carries_the_role_and_whoami_shows_it(
    client: httpx.AsyncClient, sign_in_staff: StaffSignIn
) -> None:
    tokens = await sign_in_staff(Role.admin_operator, "ops.li")

    me = (await client.get("/v1/staff/me", headers=bearer(tokens))).json()

    assert tokens["role"] == "admin-operator"
    assert (me["username"], me["role"]) == ("ops.li", "admin-operator")


async def test_usernames_are_case_insensitive_at_sign_in(client: httpx.AsyncClient, sign_in_staff: StaffSignIn) -> None:
    await sign_in_staff(Role.admin_auditor, "audit.wang")

    response = await client.post("/v1/auth/login", json={"username": "Audit.Wang", "password": STAFF_PASSWORD})

    assert response.status_code == 200


async def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(
    client: httpx.AsyncClient, sign_in_staff: StaffSignIn
) -> None:
    await sign_in_staff(Role.admin_super, "root.zhang")

    wrong = await client.post("/v1/auth/login", json={"username": "root.zhang", "password": "not the password"})
    unknown = await client.post("/v1/auth/login", json={"username": "nobody.here", "password": "not the password"})

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["code"] == unknown.json()["code"] == "INVALID_CREDENTIALS"


async def test_an_enterprise_user_signs_in_with_its_enterprise(
    client: httpx.AsyncClient, sign_in_staff: StaffSignIn
) -> None:
    tokens = await sign_in_staff(Role.enterprise, "necc.counter")

    me = (await client.get("/v1/staff/me", headers=bearer(tokens))).json()

    assert me["role"] == "enterprise"
    assert me["enterprise_id"] is not None


async def test_super_admin_creates_users_that_can_then_sign_in(
    client: httpx.AsyncClient, sign_in_staff: StaffSignIn
) -> None:
    admin = await sign_in_staff(Role.admin_super)
    operator = await sign_in_staff(Role.admin_operator)
    enterprise = await client.post("/v1/admin/enterprises", json={"name": "津南绿色超市"}, headers=bearer(operator))
    assert enterprise.status_code == 201
    assert enterprise.json()["status"] == "approved"

    created = await client.post(
        "/v1/admin/users",
        json={
            "username": "shop.zhao",
            "password": "a long enough password",
            "display_name": "赵店长",
            "role": "enterprise",
            "enterprise_id": enterprise.json()["id"],
        },
        headers=bearer(admin),
    )

    assert created.status_code == 201, created.text
    assert "password" not in created.text
    signed_in = await client.post(
        "/v1/auth/login", json={"username": "shop.zhao", "password": "a long enough password"}
    )
    assert signed_in.status_code == 200
    assert signed_in.json()["role"] == "enterprise"
    listed = (await client.get("/v1/admin/users", headers=bearer(admin))).json()["items"]
    assert any(u["username"] == "shop.zhao" and u["last_login_at"] for u in listed)


async def test_user_creation_refuses_taken_names_weak_passwords_and_role_mismatches(
    client: httpx.AsyncClient, sign_in_staff: StaffSignIn
) -> None:
    admin = await sign_in_staff(Role.admin_super, "root.zhang")
    base = {"password": "a long enough password", "display_name": "X"}

    taken = await client.post(
        "/v1/admin/users", json={**base, "username": "root.zhang", "role": "admin-auditor"}, headers=bearer(admin)
    )
    weak = await client.post(
        "/v1/admin/users",
        json={**base, "username": "weak.one", "role": "admin-auditor", "password": "short"},
        headers=bearer(admin),
    )
    no_enterprise = await client.post(
        "/v1/admin/users", json={**base, "username": "shop.one", "role": "enterprise"}, headers=bearer(admin)
    )
    admin_with_enterprise = await client.post(
        "/v1/admin/users",
        json={**base, "username": "odd.one", "role": "admin-auditor", "enterprise_id": 1},
        headers=bearer(admin),
    )
    resident_role = await client.post(
        "/v1/admin/users", json={**base, "username": "res.one", "role": "resident"}, headers=bearer(admin)
    )

    assert (taken.status_code, taken.json()["code"]) == (409, "USERNAME_TAKEN")
    assert weak.status_code == 422
    assert weak.json()["errors"][0]["field"] == "password"
    assert no_enterprise.status_code == admin_with_enterprise.status_code == 422
    assert resident_role.status_code == 422
    usernames = {u["username"] for u in (await client.get("/v1/admin/users", headers=bearer(admin))).json()["items"]}
    assert usernames == {"root.zhang"}


async def test_a_disabled_user_cannot_sign_in_and_a_super_admin_cannot_disable_itself(
    client: httpx.AsyncClient, sign_in_staff: StaffSignIn
) -> None:
    admin = await sign_in_staff(Role.admin_super, "root.zhang")
    auditor = await sign_in_staff(Role.admin_auditor, "audit.wang")
    users = {
        u["username"]: u["id"] for u in (await client.get("/v1/admin/users", headers=bearer(admin))).json()["items"]
    }

    disabled = await client.patch(
        f"/v1/admin/users/{users['audit.wang']}", json={"disabled": True}, headers=bearer(admin)
    )
    itself = await client.patch(
        f"/v1/admin/users/{users['root.zhang']}", json={"disabled": True}, headers=bearer(admin)
    )

    assert disabled.json()["disabled"] is True
    assert itself.status_code == 409
    login = await client.post("/v1/auth/login", json={"username": "audit.wang", "password": STAFF_PASSWORD})
    assert (login.status_code, login.json()["code"]) == (403, "ACCOUNT_DISABLED")
    refresh = await client.post("/v1/auth/refresh", json={"refresh_token": auditor["refresh_token"]})
    assert refresh.status_code == 401


async def test_an_operator_adds_an_organisation_residents_can_join(
    client: httpx.AsyncClient, sign_in_staff: StaffSignIn
) -> None:
    operator = await sign_in_staff(Role.admin_operator)

    created = await client.post(
        "/v1/admin/organisations",
        json={
            "code": "xianshuigu-no1-middle",
            "name_zh": "咸水沽第一中学",
            "name_en": "Xianshuigu No. 1 Middle School",
            "kind": "school",
        },
        headers=bearer(operator),
    )
    again = await client.post(
        "/v1/admin/organisations",
        json={"code": "xianshuigu-no1-middle", "name_zh": "重复", "name_en": "dup", "kind": "school"},
        headers=bearer(operator),
    )

    assert created.status_code == 201
    assert again.status_code == 409
    codes = {o["code"] for o in (await client.get("/v1/organisations", params={"kind": "school"})).json()}
    assert "xianshuigu-no1-middle" in codes
