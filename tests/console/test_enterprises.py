"""Enterprise applications in a browser: an operator approves a pending application with a reason, and
the enterprise can then act; another application stays pending."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from playwright.async_api import Page, expect

from service.accounts.models import Role
from tests.conftest import bearer
from tests.console.pages import give_reason, sign_in
from tests.fixtures.redemption import refreshed, register_enterprise

SignIn = Callable[..., Awaitable[dict[str, Any]]]


async def test_an_operator_approves_an_enterprise_application(
    client: httpx.AsyncClient, sign_in_staff: SignIn, page: Page, console_url: str
) -> None:
    operator = await sign_in_staff(Role.admin_operator, "ops-lead")
    cafe_id, cafe = await register_enterprise(client, "津南绿色咖啡")
    bookshop_id, _ = await register_enterprise(client, "津南书店")

    await sign_in(page, console_url + "#/enterprises", "ops-lead")

    table = page.get_by_test_id("enterprises")
    await expect(page.get_by_role("heading", name="企业")).to_be_visible()
    cafe_row = table.locator("tbody tr.el-table__row", has_text="津南绿色咖啡")
    await expect(cafe_row).to_contain_text("王经理")
    await expect(table.locator("tbody tr.el-table__row")).to_have_count(2)

    await cafe_row.get_by_role("button", name="通过").click()
    await give_reason(page, "营业执照核验一致")

    await expect(page.get_by_text("已处理「津南绿色咖啡」")).to_be_visible()
    await expect(table.locator("tbody tr.el-table__row")).to_have_count(1)
    approved = (
        await client.get("/v1/admin/enterprises", params={"status": "approved"}, headers=bearer(operator))
    ).json()["items"]
    assert [(e["id"], e["review_reason"]) for e in approved] == [(cafe_id, "营业执照核验一致")]
    pending = (
        await client.get("/v1/admin/enterprises", params={"status": "pending"}, headers=bearer(operator))
    ).json()["items"]
    assert [e["id"] for e in pending] == [bookshop_id]
    me = await client.get("/v1/enterprise/me", headers=bearer(await refreshed(client, cafe)))
    assert me.status_code == 200, me.text
