"""Partners and their keys in a browser: a super administrator adds a partner and issues a key whose
secret the page shows once; the partner signs with it, and once revoked on the page it is refused."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from playwright.async_api import Page, expect

from service.accounts.models import Role
from tests.conftest import bearer
from tests.console.pages import sign_in
from tests.fixtures.behaviours import PartnerClient, ago, partner_record

SignIn = Callable[..., Awaitable[dict[str, Any]]]


async def test_a_super_administrator_adds_a_partner_and_issues_and_revokes_its_key(
    client: httpx.AsyncClient, sign_in_staff: SignIn, page: Page, console_url: str
) -> None:
    admin = await sign_in_staff(Role.admin_super, "root")
    alice = (await client.post("/v1/auth/dev", json={"name": "alice"})).json()

    await sign_in(page, console_url + "#/partners", "root")
    await page.get_by_role("button", name="新增合作方").click()
    dialog = page.get_by_role("dialog", name="新增合作方")
    await dialog.get_by_label("代码").fill("jinnan-metro")
    await dialog.get_by_label("名称").fill("天津城市一卡通（津南）")
    await dialog.get_by_role("button", name="保存").click()

    row = page.get_by_test_id("partners").locator("tbody tr.el-table__row", has_text="jinnan-metro")
    await expect(row).to_contain_text("交通卡")
    await row.locator(".el-table__expand-icon").click()
    await page.get_by_role("button", name="签发新密钥").click()
    shown = page.get_by_role("dialog", name="新密钥")
    await expect(shown).to_contain_text("密钥只显示这一次")
    key_id = (await shown.get_by_test_id("issued-key-id").inner_text()).strip()
    secret = (await shown.get_by_test_id("issued-secret").inner_text()).strip()
    await shown.get_by_role("button", name="我已保存").click()
    await expect(shown).to_be_hidden()

    partners = (await client.get("/v1/admin/partners", headers=bearer(admin))).json()["items"]
    listed = next(p for p in partners if p["code"] == "jinnan-metro")
    partner_id = listed["id"]
    partner = PartnerClient(client, partner_id, listed["code"], key_id, secret)
    # alice links her account at the new partner, which redeems her code with its new key
    alice_id = await partner.link(alice)
    result = await partner.batch([partner_record("m-1", alice_id, "metro_ride", "10", ago(hours=2))])
    assert (result["results"][0]["outcome"], result["results"][0]["credited_g"] > 0) == ("accepted", True)

    keys = page.get_by_test_id("keys-jinnan-metro")
    await keys.get_by_role("button", name="吊销").click()
    await page.get_by_role("button", name="确定").or_(page.get_by_role("button", name="OK")).click()

    await expect(keys).to_contain_text("已吊销")
    refused = await partner.post([partner_record("m-2", alice_id, "metro_ride", "10", ago(hours=1))])
    assert refused.status_code == 401, refused.text
    assert secret not in (await client.get(f"/v1/admin/partners/{partner_id}/keys", headers=bearer(admin))).text
