"""A resident's page in a browser: an operator goes from a flag to the resident it concerns, reads their
balance and history and freezes them; the API then holds them frozen. Found by handle from the search
box too; an auditor sees the page without a freeze button."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
from playwright.async_api import Page, expect

from service.accounts.models import Role
from service.ingest import fraud
from tests.conftest import Api, bearer
from tests.console.pages import give_reason, sign_in
from tests.fixtures.behaviours import ago, assert_problem, behaviour_body, public_id, record
from tests.fixtures.redemption import RIDE_G, earn

SignIn = Callable[..., Awaitable[dict[str, Any]]]


async def _flagged_resident(api: Api, client: httpx.AsyncClient) -> dict[str, Any]:
    """A resident with one credited ride who then sent made-up site codes three times: one flag."""
    mallory: dict[str, Any] = (await client.post("/v1/auth/dev", json={"name": "mallory"})).json()
    changed = await client.patch("/v1/me", json={"nickname": "马洛里"}, headers=bearer(mallory))
    assert changed.status_code == 200, changed.text
    await earn(client, mallory, rides=1, first_hours_ago=1)
    for n in range(3):
        start = ago(hours=3 + n)
        body = behaviour_body("metro_ride", "10", start, ended_at=start + timedelta(minutes=20))
        body["evidence"] = {"start_code": f"TPH1:{n}"}
        assert_problem(await record(client, mallory, body), 422, "SITE_CODE_MALFORMED")
    scanned = await fraud.scan_once(api.db, api.app.state.factor_cache, fraud.Thresholds.of(api.settings))
    assert scanned is not None
    assert scanned.raised == 1
    return mallory


async def test_an_operator_goes_from_a_flag_to_the_resident_and_freezes_them(
    api: Api, client: httpx.AsyncClient, sign_in_staff: SignIn, page: Page, console_url: str
) -> None:
    operator = await sign_in_staff(Role.admin_operator, "ops-lead")
    mallory = await _flagged_resident(api, client)
    resident_id = await public_id(client, mallory)

    await sign_in(page, console_url + "#/flags", "ops-lead")
    queue = page.get_by_test_id("flag-queue")
    await expect(queue.locator("tbody tr.el-table__row")).to_have_count(1)
    await queue.get_by_role("link", name="查看居民").click()

    await expect(page).to_have_url(re.compile(f"#/residents/{resident_id}"))
    profile = page.get_by_test_id("resident-profile")
    await expect(profile).to_contain_text("马*里")
    await expect(page.get_by_test_id("resident-balance")).to_contain_text(str(RIDE_G))
    await expect(page.get_by_test_id("resident-state")).to_have_text("正常")
    history = page.get_by_test_id("resident-behaviours")
    await expect(history.locator("tbody tr.el-table__row")).to_have_count(1)
    await expect(history).to_contain_text("metro_ride")
    await expect(history).to_contain_text("凭证核验")
    await page.get_by_role("tab", name="积分流水").click()
    ledger = page.get_by_test_id("resident-ledger")
    await expect(ledger).to_contain_text("发放")
    await expect(ledger).to_contain_text(str(RIDE_G))
    await page.get_by_role("tab", name="风险标记").click()
    await expect(page.get_by_test_id("resident-flags")).to_contain_text("凭证屡被拒绝")

    await profile.get_by_role("button", name="冻结").click()
    await give_reason(page, "Made-up site codes, three times")

    await expect(page.get_by_test_id("resident-state")).to_have_text("已冻结")
    await expect(profile).to_contain_text("Made-up site codes, three times")
    await expect(profile.get_by_role("button", name="解冻")).to_be_visible()
    held = (await client.get(f"/v1/admin/residents/{resident_id}", headers=bearer(operator))).json()
    assert (held["frozen"], held["frozen_reason"]) == (True, "Made-up site codes, three times")
    ride = behaviour_body("metro_ride", "10", ago(minutes=20), ended_at=ago(minutes=5))
    assert_problem(await record(client, mallory, ride), 403, "ACCOUNT_FROZEN")
    views = await client.get("/v1/admin/audit/actions", params={"action": "resident.view"}, headers=bearer(operator))
    assert {a["details"]["part"] for a in views.json()["items"]} >= {"profile", "behaviours", "ledger", "flags"}


async def test_an_auditor_finds_a_resident_by_handle_and_has_no_freeze_button(
    client: httpx.AsyncClient, sign_in_staff: SignIn, page: Page, console_url: str
) -> None:
    await sign_in_staff(Role.admin_auditor, "auditor")
    alice: dict[str, Any] = (await client.post("/v1/auth/dev", json={"name": "alice"})).json()
    await earn(client, alice, rides=2, first_hours_ago=1)
    handle = (await client.get("/v1/me", headers=bearer(alice))).json()["handle"]

    await sign_in(page, console_url + "#/residents", "auditor")
    await page.get_by_label("居民编号或榜单代号").fill("r-0000000000000000")
    await page.get_by_role("button", name="查找").click()
    await expect(page.get_by_text("没有找到该居民")).to_be_visible()
    await page.get_by_label("居民编号或榜单代号").fill(handle)
    await page.get_by_role("button", name="查找").click()

    profile = page.get_by_test_id("resident-profile")
    await expect(profile).to_contain_text(handle)
    await expect(page.get_by_test_id("resident-balance")).to_contain_text(f"{2 * RIDE_G:,}")
    await expect(page.get_by_test_id("resident-behaviours").locator("tbody tr.el-table__row")).to_have_count(2)
    await expect(profile.get_by_role("button", name="冻结")).to_have_count(0)
