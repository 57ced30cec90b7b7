"""Sites in a browser: an operator registers a recycling station, gets its private key once, and later
revokes that key with a reason; the registry then holds the public key of the key shown, revoked."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from playwright.async_api import Page, expect

from service.accounts.models import Role
from service.sites import keypairs
from tests.conftest import bearer
from tests.console.pages import give_reason, sign_in

SignIn = Callable[..., Awaitable[dict[str, Any]]]


async def test_an_operator_registers_a_site_and_revokes_its_key(
    client: httpx.AsyncClient, sign_in_staff: SignIn, page: Page, console_url: str
) -> None:
    operator = await sign_in_staff(Role.admin_operator, "ops-lead")

    await sign_in(page, console_url + "#/sites", "ops-lead")
    await page.get_by_role("button", name="新增站点").click()
    dialog = page.get_by_role("dialog", name="新增站点")
    await dialog.get_by_label("代码").fill("xianshuigu-recycling-1")
    await dialog.get_by_label("中文名称").fill("咸水沽智能回收站一号")
    await dialog.get_by_label("英文名称").fill("Xianshuigu smart recycling station 1")
    await dialog.locator(".el-select").click()
    await page.get_by_role("option", name="回收站").click()
    await dialog.get_by_role("button", name="保存").click()

    shown = page.get_by_role("dialog", name="站点私钥")
    await expect(shown).to_contain_text("私钥只显示这一次")
    private_key = (await shown.get_by_test_id("issued-private-key").inner_text()).strip()
    await shown.get_by_role("button", name="我已保存").click()
    await expect(shown).to_be_hidden()

    sites = (await client.get("/v1/admin/sites", headers=bearer(operator))).json()["items"]
    site = next(s for s in sites if s["code"] == "xianshuigu-recycling-1")
    assert site["kind"] == "recycling_station"
    detail = (await client.get(f"/v1/admin/sites/{site['id']}", headers=bearer(operator))).json()
    assert [k["public_key"] for k in detail["keys"]] == [
        keypairs.encode(keypairs.public_key_of(keypairs.decode(private_key)))
    ]

    await page.locator(".page-head .el-select").click()
    await page.get_by_role("option", name="回收站").click()
    await expect(page).to_have_url(re.compile(r"kind=recycling_station"))
    row = page.get_by_test_id("sites").locator("tbody tr.el-table__row", has_text="xianshuigu-recycling-1")
    await row.locator(".el-table__expand-icon").click()
    keys = page.get_by_test_id("site-keys-xianshuigu-recycling-1")
    await keys.get_by_role("button", name="吊销").click()
    await give_reason(page, "The station's display was stolen")

    await expect(keys).to_contain_text("已吊销：The station's display was stolen")
    detail = (await client.get(f"/v1/admin/sites/{site['id']}", headers=bearer(operator))).json()
    assert [(k["revoke_reason"], k["revoked_at"] is not None) for k in detail["keys"]] == [
        ("The station's display was stolen", True)
    ]
