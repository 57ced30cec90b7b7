"""A town officer in a browser: Xianshuigu's operator sees its town's name, its town's held report, flag
and figures and none of Gegu's, has no district page in its menu, and approves its town's report; the API
then holds exactly that. A super administrator keeps a new officer to a town on the users page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from playwright.async_api import Page, expect

from service.accounts.models import Role
from tests.conftest import STAFF_PASSWORD, Api, bearer
from tests.console.pages import give_reason, screenshot, sign_in
from tests.fixtures.towns import communities, two_towns

SignIn = Callable[..., Awaitable[dict[str, Any]]]
DISTRICT_PAGES = ("企业", "数据合作方", "站点", "用户")


async def test_a_town_officer_sees_its_own_town_and_not_another(
    api: Api, sign_in_staff: SignIn, page: Page, console_url: str, tmp_path: Path
) -> None:
    client = api.client
    towns = await two_towns(api, await sign_in_staff(Role.admin_super, "root"))
    xsg, gegu = towns.xsg, towns.gegu

    await sign_in(page, console_url + "#/review", "xsg-ops")

    await expect(page.get_by_test_id("scope")).to_have_text("负责：咸水沽镇")
    queue = page.get_by_test_id("review-queue")
    rows = queue.locator("tbody tr.el-table__row")
    await expect(rows).to_have_count(1)
    await expect(queue).to_contain_text("2 kg")
    await expect(queue).to_contain_text(str(xsg.held["calculation"]["grams"]))
    await expect(queue).not_to_contain_text("3.5 kg")
    await expect(queue).not_to_contain_text(str(gegu.held["calculation"]["grams"]))
    for name in ("数据看板", "待审核", "风险标记", "审计", "居民", "月度报告"):
        await expect(page.get_by_role("menuitem", name=name)).to_be_visible()
    for name in DISTRICT_PAGES:
        await expect(page.get_by_role("menuitem", name=name)).to_have_count(0)

    await page.get_by_role("menuitem", name="风险标记").click()
    await expect(page.get_by_test_id("flag-queue").locator("tbody tr.el-table__row")).to_have_count(1)

    await page.get_by_role("menuitem", name="数据看板").click()
    by_community = page.get_by_test_id("by-community")
    await expect(by_community).to_contain_text("咸水沽镇")
    await expect(by_community).to_contain_text(str(xsg.walk["credited_g"]))
    await expect(by_community).not_to_contain_text("葛沽镇")
    await expect(page.get_by_test_id("registered")).to_contain_text("1")
    await expect(page.get_by_test_id("behaviours")).to_contain_text("1")
    assert (await screenshot(page, "town-officer-dashboard", tmp_path)).read_bytes().startswith(b"\x89PNG")

    await page.get_by_role("menuitem", name="审计").click()
    await expect(page.get_by_test_id("transfers").locator("tbody tr.el-table__row")).to_have_count(1)
    await expect(page.get_by_role("tab", name="账本核验")).to_have_count(0)

    await page.get_by_role("menuitem", name="月度报告").click()
    await page.goto(console_url + f"#/reports?month={xsg.walk['occurred_at'][:7]}")
    report = page.get_by_test_id("report-towns")
    await expect(report).to_contain_text("咸水沽镇")
    await expect(report).not_to_contain_text("葛沽镇")
    await page.goto(console_url + f"#/residents/{gegu.resident_public_id}")
    await expect(page.get_by_role("alert")).to_contain_text("居民不存在")
    await page.goto(console_url + f"#/residents/{xsg.resident_public_id}")
    await expect(page.get_by_text("咸水沽镇").first).to_be_visible()

    await page.get_by_role("menuitem", name="待审核").click()
    await queue.locator("thead .el-checkbox").click()
    await page.get_by_role("button", name="批准所选（1）").click()
    await give_reason(page, "Scale photo checked")
    await expect(page.get_by_text("已批准 1 条")).to_be_visible()
    await expect(rows).to_have_count(0)

    # what the pages showed is what the API holds: Xianshuigu's report credited, Gegu's still held
    pending = (await client.get("/v1/admin/behaviours/pending", headers=bearer(towns.root))).json()["items"]
    assert [item["id"] for item in pending] == [gegu.held_id]
    officer = (await client.get("/v1/admin/behaviours/pending", headers=bearer(towns.operator))).json()["items"]
    assert officer == []
    balance = (await client.get("/v1/me/balance", headers=bearer(xsg.resident))).json()["balance_g"]
    assert balance == xsg.walk["credited_g"] + xsg.held["calculation"]["grams"]
    window = {"start": "2020-01-01", "end": "2030-01-01"}
    figures = (await client.get("/v1/admin/dashboard", params=window, headers=bearer(towns.operator))).json()
    assert [c["community_id"] for c in figures["by_community"]] == [xsg.community_id]
    assert figures["totals"]["credited_g"] == balance


async def test_a_super_administrator_keeps_a_new_officer_to_a_town(
    api: Api, sign_in_staff: SignIn, page: Page, console_url: str, tmp_path: Path
) -> None:
    client = api.client
    root = await sign_in_staff(Role.admin_super, "root")
    gegu = (await communities(client))["gegu"]

    await sign_in(page, console_url + "#/users", "root")
    await page.get_by_role("button", name="新增管理员").click()
    dialog = page.get_by_role("dialog", name="新增管理员")
    await dialog.get_by_label("用户名").fill("gegu-audit")
    await dialog.get_by_label("显示名称").fill("葛沽镇审计员")
    await dialog.get_by_label("密码").fill(STAFF_PASSWORD)
    await dialog.locator(".el-form-item", has_text="角色").locator(".el-select").click()
    await page.get_by_role("option", name="审计员").click()
    await dialog.locator(".el-form-item", has_text="负责范围").locator(".el-select").click()
    await page.get_by_role("option", name="葛沽镇").click()
    await dialog.get_by_role("button", name="保存").click()

    table = page.get_by_test_id("users")
    row = table.locator("tbody tr", has_text="gegu-audit")
    await expect(row).to_contain_text("葛沽镇")
    assert (await screenshot(page, "users", tmp_path)).read_bytes().startswith(b"\x89PNG")
    await expect(row).to_contain_text("审计员")
    users = (await client.get("/v1/admin/users", headers=bearer(root))).json()["items"]
    created = next(u for u in users if u["username"] == "gegu-audit")
    assert (created["role"], created["scope"]) == ("admin-auditor", gegu)

    await row.get_by_role("button", name="更改负责范围").click()
    mover = page.get_by_role("dialog", name="更改负责范围")
    await mover.locator(".el-select").click()
    await page.get_by_role("option", name="咸水沽镇").click()
    await mover.get_by_role("button", name="保存").click()
    await expect(page.get_by_text("负责范围已更改，该用户已退出登录")).to_be_visible()
    await expect(row).to_contain_text("咸水沽镇")
    users = (await client.get("/v1/admin/users", headers=bearer(root))).json()["items"]
    assert next(u for u in users if u["username"] == "gegu-audit")["scope"]["code"] == "xianshuigu"
