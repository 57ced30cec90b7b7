"""A staff user's account security in a browser: turning on two-factor sign-in from the QR page, signing
in with a code, and signing out another session; an administrator held to TOTP is sent to set it up."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from playwright.async_api import Page, expect

from service.accounts import staff
from service.accounts.models import Role
from service.accounts.schemas import UserCreate
from tests.conftest import STAFF_PASSWORD, Api, bearer
from tests.console.pages import sign_in
from tests.fixtures.serving import serving
from tests.fixtures.totp import totp_code

SignIn = Callable[..., Awaitable[dict[str, Any]]]
MakeApi = Callable[..., Awaitable[Api]]


async def test_a_user_turns_on_two_factor_signs_in_with_a_code_and_signs_out_another_session(
    client: httpx.AsyncClient, sign_in_staff: SignIn, page: Page, console_url: str
) -> None:
    elsewhere = await sign_in_staff(Role.admin_operator, "ops-lead")

    await sign_in(page, console_url + "#/account", "ops-lead")
    card = page.get_by_test_id("totp-card")
    await expect(card.get_by_test_id("totp-state")).to_have_text("未启用")
    await card.get_by_role("button", name="启用两步验证").click()
    await expect(card.get_by_test_id("totp-qr")).to_be_visible()
    secret = (await card.get_by_test_id("totp-secret").inner_text()).strip()
    await card.get_by_label("验证码").fill(totp_code(secret))
    await card.get_by_role("button", name="确定").click()
    shown = page.get_by_role("dialog", name="恢复码")
    await expect(shown).to_contain_text("恢复码只显示这一次")
    recovery = (await shown.get_by_test_id("recovery-code-0").inner_text()).strip()
    await shown.get_by_role("button", name="我已保存").click()
    await expect(card.get_by_test_id("totp-state")).to_have_text("已启用")
    assert (await client.get("/v1/staff/me/security", headers=bearer(elsewhere))).json()["totp_enabled"] is True

    await page.get_by_role("button", name="退出登录").click()
    await expect(page.get_by_role("heading", name="登录管理后台")).to_be_visible()
    await sign_in(page, console_url + "#/account", "ops-lead", totp_secret=secret)

    sessions = page.get_by_test_id("sessions")
    rows = sessions.locator("tbody tr.el-table__row")
    await expect(rows).to_have_count(2)
    await expect(rows.filter(has_text="当前会话")).to_have_count(1)
    await rows.filter(has_not_text="当前会话").get_by_role("button", name="退出该会话").click()
    await page.get_by_role("button", name="确定").or_(page.get_by_role("button", name="OK")).click()
    await expect(rows).to_have_count(1)
    await expect(rows).to_contain_text("当前会话")
    signins = page.get_by_test_id("signins")
    await expect(signins.locator("tbody tr.el-table__row").first).to_contain_text("登录成功")
    await expect(signins.locator("tbody tr.el-table__row").first).to_contain_text("验证码")

    refused = await client.get("/v1/staff/me", headers=bearer(elsewhere))
    assert (refused.status_code, refused.json()["code"]) == (401, "TOKEN_REVOKED")
    # the recovery code shown once still signs in, once
    by_recovery = {"username": "ops-lead", "password": STAFF_PASSWORD, "recovery_code": recovery}
    assert (await client.post("/v1/auth/login", json=by_recovery)).status_code == 200


async def test_an_administrator_held_to_two_factor_is_sent_to_set_it_up(make_api: MakeApi, page: Page) -> None:
    api = await make_api(admin_totp_required=True)
    async with api.db.sessionmaker.begin() as session:
        await staff.create_user(
            session,
            data=UserCreate(username="ops-lead", password=STAFF_PASSWORD, display_name="Ops", role=Role.admin_operator),
        )

    async with serving(api.app) as base_url:
        await sign_in(page, f"{base_url}/console/#/review", "ops-lead")
        await expect(page.get_by_test_id("must-enrol")).to_contain_text("管理员须启用两步验证")
        await page.goto(f"{base_url}/console/#/dashboard")
        await expect(page.get_by_test_id("must-enrol")).to_be_visible()

        card = page.get_by_test_id("totp-card")
        await card.get_by_role("button", name="启用两步验证").click()
        secret = (await card.get_by_test_id("totp-secret").inner_text()).strip()
        await card.get_by_label("验证码").fill(totp_code(secret))
        await card.get_by_role("button", name="确定").click()
        await page.get_by_role("dialog", name="恢复码").get_by_role("button", name="我已保存").click()

        await expect(page.get_by_test_id("must-enrol")).to_be_hidden()
        await page.get_by_role("menuitem", name="待审核").click()
        await expect(page).to_have_url(f"{base_url}/console/#/review")
