"""An enterprise's webhooks in a browser: its user adds an endpoint pointing at a real receiver and sees the
signing secret once, finds a voucher taken at its counter delivered, watches a failing receiver's attempts
listed and redelivers the event, disables, rotates and deletes the endpoint; each step then checked
against what the receiver got and what the API holds."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from service.accounts.models import Role
from tests.conftest import Api, bearer
from tests.console.pages import screenshot, sign_in
from tests.fixtures.redemption import accept, earn, publish, redeem_ok
from tests.fixtures.webhooks import ENTERPRISE_WEBHOOKS, FAST, Receiver, deliveries, verify

SignIn = Callable[..., Awaitable[dict[str, Any]]]
Tokens = dict[str, Any]


@pytest.fixture
async def api(make_api: Callable[..., Awaitable[Api]]) -> Api:
    """The app with its dispatcher looking every 50 ms and retrying soon."""
    return await make_api(**FAST)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


async def _vouchers(client: httpx.AsyncClient, enterprise: Tokens, count: int) -> list[Tokens]:
    """`count` vouchers of one 400 g reward of the enterprise, redeemed by a resident."""
    resident = (await client.post("/v1/auth/dev", json={"name": "alice"})).json()
    await earn(client, resident, count)
    reward = await publish(client, enterprise, price_g=400)
    return [(await redeem_ok(client, resident, reward["id"]))["voucher"] for _ in range(count)]


async def _confirm(page: Page) -> None:
    await page.get_by_role("button", name="确定").or_(page.get_by_role("button", name="OK")).click()


async def test_an_enterprise_adds_a_webhook_sees_its_deliveries_and_redelivers_a_failed_one(
    client: httpx.AsyncClient, sign_in_staff: SignIn, page: Page, console_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    enterprise = await sign_in_staff(Role.enterprise, "green-cafe")
    first, second, third = await _vouchers(client, enterprise, 3)
    origin = console_url.removesuffix("/console/")
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin)

    await sign_in(page, console_url + "#/webhooks", "green-cafe")
    await expect(page.get_by_role("heading", name="Webhook 通知")).to_be_visible()
    await expect(page.get_by_role("menuitem", name="Webhook")).to_be_visible()
    await expect(page.get_by_test_id("webhooks")).to_contain_text("还没有 Webhook 端点")

    # an address the service refuses: the page says why, as the API words it
    await page.get_by_role("button", name="添加端点").click()
    dialog = page.get_by_role("dialog", name="添加端点")
    await dialog.get_by_label("接收地址").fill("ftp://hooks.example.com/tanpuhui")
    await dialog.get_by_role("button", name="保存").click()
    refused = await client.post(
        ENTERPRISE_WEBHOOKS,
        json={"url": "ftp://hooks.example.com/tanpuhui", "event_types": ["voucher.accepted"]},
        headers={**bearer(enterprise), "Accept-Language": "zh-CN"},
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "WEBHOOK_URL_INVALID")
    await expect(dialog.get_by_role("alert")).to_have_text(refused.json()["i18n"]["zh-CN"]["detail"])

    # the receiver's address, without retirements: the secret is shown once, with a button that copies it
    await dialog.get_by_label("接收地址").fill(receiver.url)
    await dialog.get_by_text("retirement.certified").click()
    await dialog.get_by_label("备注（可选）").fill("收银系统")
    await dialog.get_by_role("button", name="保存").click()
    shown = page.get_by_role("dialog", name="端点已添加")
    await expect(shown.get_by_text("签名密钥只显示这一次")).to_be_visible()
    await expect(shown.get_by_test_id("secret-url")).to_have_text(receiver.url)
    secret = (await shown.get_by_test_id("webhook-secret").inner_text()).strip()
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]+=*", secret)
    await shown.get_by_role("button", name="复制签名密钥").click()
    await expect(page.get_by_text("签名密钥已复制")).to_be_visible()
    assert await page.evaluate("navigator.clipboard.readText()") == secret
    await screenshot(page, "enterprise-webhook-secret", tmp_path)
    await shown.get_by_role("button", name="我已保存").click()
    await expect(shown).to_be_hidden()
    assert secret not in await page.content()

    endpoints = page.get_by_test_id("webhooks")
    await expect(endpoints).to_contain_text(receiver.url)
    await expect(endpoints).to_contain_text("收银系统")
    await expect(endpoints).to_contain_text("兑换券已核销")
    await expect(endpoints).to_contain_text("兑换券已取消")
    await expect(endpoints).not_to_contain_text("注销证书已出具")
    switch = endpoints.get_by_role("switch", name=f"启用 {receiver.url}")
    await expect(switch).to_be_checked()
    (endpoint,) = (await client.get(ENTERPRISE_WEBHOOKS, headers=bearer(enterprise))).json()["items"]
    assert (endpoint["url"], endpoint["event_types"], endpoint["description"], endpoint["enabled"]) == (
        receiver.url,
        ["voucher.accepted", "voucher.cancelled"],
        "收银系统",
        True,
    )

    # a voucher taken at the counter reaches the receiver, signed with the secret shown, and is listed
    await endpoints.get_by_role("button", name="投递记录").click()
    await expect(page).to_have_url(re.compile(rf"#/webhooks/{endpoint['id']}$"))
    listed = page.get_by_test_id("deliveries")
    await expect(listed).to_contain_text("还没有投递记录")
    assert (await accept(client, enterprise, first["code"])).status_code == 200
    (received,) = await receiver.wait_for(1)
    assert verify(secret, received)
    await page.get_by_role("button", name="刷新").click()
    delivered = listed.locator("tbody tr.el-table__row", has_text=received.webhook_id)
    await expect(delivered).to_contain_text("兑换券已核销")
    await expect(delivered).to_contain_text("已送达")
    await delivered.locator(".el-table__expand-icon").click()
    (delivery,) = await deliveries(client, enterprise, endpoint["id"])
    attempts = listed.get_by_test_id(f"attempts-{delivery['id']}")
    await expect(attempts).to_contain_text("200")
    await expect(attempts).to_contain_text("ok")

    # a receiver that keeps failing: every attempt listed, the delivery failed, then redelivered
    receiver.answer(500, 500, 500)
    assert (await accept(client, enterprise, second["code"])).status_code == 200
    await receiver.wait_for(4)
    await page.get_by_role("button", name="刷新").click()
    failing_id = receiver.received[1].webhook_id
    failed = listed.locator("tbody tr.el-table__row", has_text=failing_id)
    await expect(failed).to_contain_text("失败", timeout=15_000)
    await expect(failed).to_contain_text("500")
    failed_delivery = next(
        d for d in await deliveries(client, enterprise, endpoint["id"]) if d["event_id"] == failing_id
    )
    assert (failed_delivery["status"], failed_delivery["attempts"]) == ("failed", 3)
    await failed.locator(".el-table__expand-icon").click()
    failed_attempts = listed.get_by_test_id(f"attempts-{failed_delivery['id']}")
    await expect(failed_attempts.locator("tbody tr")).to_have_count(3)
    await expect(failed_attempts).to_contain_text("receiver failed")

    await page.locator(".deliveries .page-head .el-select").click()
    await page.get_by_role("option", name="失败", exact=True).click()
    await expect(page).to_have_url(re.compile(r"status=failed"))
    await expect(listed.locator("tbody tr.el-table__row", has_text="msg_")).to_have_count(1)
    await expect(listed).not_to_contain_text(received.webhook_id)
    await screenshot(page, "enterprise-webhook-deliveries", tmp_path)

    await failed.get_by_role("button", name="重新投递").click()
    await expect(page.get_by_text("已安排重新投递")).to_be_visible()
    redelivered = await receiver.wait_for(5)
    assert redelivered[-1].webhook_id == failing_id
    assert redelivered[-1].body == redelivered[1].body
    # the filter still says failed: all statuses again, and the row settles as delivered
    status_filter = page.locator(".deliveries .page-head .el-select")
    await status_filter.hover()
    await status_filter.locator(".el-select__clear").click()
    await expect(failed).to_contain_text("已送达", timeout=15_000)
    again = (
        await client.get(
            f"{ENTERPRISE_WEBHOOKS}/{endpoint['id']}/deliveries/{failed_delivery['id']}", headers=bearer(enterprise)
        )
    ).json()
    assert (again["status"], again["attempts"], again["recent_attempts"][0]["status_code"]) == ("delivered", 1, 200)

    # disabled: the switch is off, and a voucher taken meanwhile is not queued for it
    await switch.locator("xpath=..").click()
    await expect(page.get_by_text("已停用：停用期间发生的事件不会发送给它")).to_be_visible()
    await expect(switch).not_to_be_checked()
    await expect(page.get_by_text("该端点已停用")).to_be_visible()
    read = (await client.get(f"{ENTERPRISE_WEBHOOKS}/{endpoint['id']}", headers=bearer(enterprise))).json()
    assert read["enabled"] is False
    assert (await accept(client, enterprise, third["code"])).status_code == 200
    assert len(await deliveries(client, enterprise, endpoint["id"])) == 2

    # a new secret, after a confirmation, shown once; then the endpoint deleted
    await endpoints.get_by_role("button", name="更换密钥").click()
    await _confirm(page)
    rotated = page.get_by_role("dialog", name="新的签名密钥")
    await expect(rotated.get_by_text("签名密钥只显示这一次")).to_be_visible()
    new_secret = (await rotated.get_by_test_id("webhook-secret").inner_text()).strip()
    assert new_secret.startswith("whsec_")
    assert new_secret != secret
    await rotated.get_by_role("button", name="我已保存").click()
    await expect(rotated).to_be_hidden()

    await endpoints.get_by_role("button", name="删除").click()
    await _confirm(page)
    await expect(endpoints).to_contain_text("还没有 Webhook 端点")
    await expect(page).to_have_url(re.compile(r"#/webhooks$"))
    assert (await client.get(ENTERPRISE_WEBHOOKS, headers=bearer(enterprise))).json()["items"] == []
