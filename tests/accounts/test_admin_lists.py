"""The staff, enterprise and partner lists come a page at a time, oldest first, through the API's cursors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from service.accounts.models import Role
from tests.conftest import bearer
from tests.fixtures.behaviours import assert_problem
from tests.fixtures.redemption import register_enterprise, review

StaffSignIn = Callable[..., Awaitable[dict[str, Any]]]


async def _all_pages(client: httpx.AsyncClient, path: str, tokens: dict[str, Any], **params: Any) -> list[list[Any]]:
    pages: list[list[Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get(path, params=query, headers=bearer(tokens))
        assert response.status_code == 200, response.text
        pages.append(response.json()["items"])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return pages


async def test_enterprises_of_a_status_come_a_page_at_a_time(
    client: httpx.AsyncClient, sign_in_staff: StaffSignIn
) -> None:
    operator = await sign_in_staff(Role.admin_operator, "ops-li")
    ids = [(await register_enterprise(client, f"津南企业{n}"))[0] for n in range(5)]
    assert (await review(client, operator, ids[2], "approve")).status_code == 200

    pending = await _all_pages(client, "/v1/admin/enterprises", operator, status="pending", limit=2)
    everyone = await _all_pages(client, "/v1/admin/enterprises", operator, limit=3)

    assert [[e["id"] for e in page] for page in pending] == [[ids[0], ids[1]], [ids[3], ids[4]]]
    assert [e["id"] for page in everyone for e in page][-5:] == ids
    assert all(len(page) <= 3 for page in everyone)
    refused = await client.get("/v1/admin/enterprises", params={"cursor": "nonsense"}, headers=bearer(operator))
    assert_problem(refused, 400, "INVALID_CURSOR")
    assert_problem(
        await client.get("/v1/admin/enterprises", params={"limit": 101}, headers=bearer(operator)),
        422,
        "VALIDATION_FAILED",
    )


async def test_partners_come_a_page_at_a_time(client: httpx.AsyncClient, sign_in_staff: StaffSignIn) -> None:
    admin = await sign_in_staff(Role.admin_super, "root")
    auditor = await sign_in_staff(Role.admin_auditor, "auditor-wu")
    for n in range(3):
        created = await client.post(
            "/v1/admin/partners",
            json={"code": f"partner-{n}", "name": f"合作方{n}", "kind": "bike_share"},
            headers=bearer(admin),
        )
        assert created.status_code == 201, created.text

    pages = await _all_pages(client, "/v1/admin/partners", auditor, limit=2)

    assert [[p["code"] for p in page] for page in pages] == [["partner-0", "partner-1"], ["partner-2"]]


async def test_staff_users_come_a_page_at_a_time(client: httpx.AsyncClient, sign_in_staff: StaffSignIn) -> None:
    root = await sign_in_staff(Role.admin_super, "root")
    for name in ("ops-a", "ops-b", "audit-c", "audit-d"):
        await sign_in_staff(Role.admin_operator if name.startswith("ops") else Role.admin_auditor, name)

    pages = await _all_pages(client, "/v1/admin/users", root, limit=2)

    assert [len(page) for page in pages] == [2, 2, 1]
    assert [u["username"] for page in pages for u in page] == ["root", "ops-a", "ops-b", "audit-c", "audit-d"]
    assert_problem(
        await client.get("/v1/admin/users", params={"limit": 0}, headers=bearer(root)), 422, "VALIDATION_FAILED"
    )
