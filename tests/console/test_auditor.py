"""An auditor in a browser sees what an operator sees and has no button to change it; the API refuses
the auditor the same changes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from playwright.async_api import Page, expect

from service.accounts.models import Role
from tests.conftest import bearer
from tests.console.pages import sign_in
from tests.fixtures.behaviours import ago, assert_problem, behaviour_body, record_ok
from tests.fixtures.redemption import register_enterprise

SignIn = Callable[..., Awaitable[dict[str, Any]]]


async def test_an_auditor_reads_every_queue_and_can_change_nothing(
    client: httpx.AsyncClient, sign_in_staff: SignIn, page: Page, console_url: str
) -> None:
    admin = await sign_in_staff(Role.admin_super, "root")
    auditor = await sign_in_staff(Role.admin_auditor, "auditor")
    resident = (await client.post("/v1/auth/dev", json={"name": "alice"})).json()
    held = await record_ok(
        client, resident, behaviour_body("waste_sorting", "2", ago(hours=2), category="kitchen_waste")
    )
    enterprise_id, _ = await register_enterprise(client, "津南绿色咖啡")
    partner = await client.post(
        "/v1/admin/partners",
        json={"code": "jinnan-metro", "name": "一卡通", "kind": "transit_card"},
        headers=bearer(admin),
    )
    assert partner.status_code == 201, partner.text
    issued = await client.post(f"/v1/admin/partners/{partner.json()['id']}/keys", headers=bearer(admin))
    assert issued.status_code == 201, issued.text

    await sign_in(page, console_url + "#/review", "auditor")

    queue = page.get_by_test_id("review-queue")
    await expect(queue).to_contain_text("waste_sorting")
    await expect(page.get_by_role("button", name="批准所选（0）")).to_have_count(0)
    await expect(queue.locator(".el-checkbox")).to_have_count(0)

    await page.get_by_role("menuitem", name="企业").click()
    table = page.get_by_test_id("enterprises")
    await expect(table).to_contain_text("津南绿色咖啡")
    await expect(table.get_by_role("button")).to_have_count(0)

    await page.get_by_role("menuitem", name="数据合作方").click()
    partners = page.get_by_test_id("partners")
    await expect(partners).to_contain_text("jinnan-metro")
    await expect(page.get_by_role("button", name="新增合作方")).to_have_count(0)
    await partners.locator(".el-table__expand-icon").click()
    keys = page.get_by_test_id("keys-jinnan-metro")
    await expect(keys).to_contain_text(issued.json()["key_id"])
    await expect(keys).to_contain_text("有效")
    await expect(page.get_by_role("button", name="签发新密钥")).to_have_count(0)
    await expect(keys.get_by_role("button")).to_have_count(0)

    # what the pages do not offer, the API refuses
    review = await client.post(
        f"/v1/admin/behaviours/{held['id']}/review", json={"approve": True, "reason": "x"}, headers=bearer(auditor)
    )
    assert_problem(review, 403, "ROLE_NOT_ALLOWED")
    decide = await client.post(
        f"/v1/admin/enterprises/{enterprise_id}/review",
        json={"decision": "approve", "reason": "x"},
        headers=bearer(auditor),
    )
    assert_problem(decide, 403, "ROLE_NOT_ALLOWED")
    pending = (await client.get("/v1/admin/behaviours/pending", headers=bearer(auditor))).json()["items"]
    assert [item["id"] for item in pending] == [held["id"]]
