"""An enterprise's day in a browser: it applies at /apply and is shown the username drawn for it, an operator
approves it, it signs in, publishes a reward with a picture uploaded from a file, takes the voucher a
resident redeemed for it at the counter, and finds the voucher in its list and in the month's statement;
each step then checked against what the API holds."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Page, expect

from service.accounts.models import Role
from service.kit.clock import SHANGHAI
from tests.conftest import STAFF_PASSWORD, bearer
from tests.console.pages import screenshot, sign_in
from tests.fixtures.photos import jpeg_with_gps
from tests.fixtures.redemption import (
    ENTERPRISE_REWARDS,
    REWARDS,
    approved_enterprise,
    earn,
    publish,
    redeem_ok,
    refreshed,
    register_enterprise,
)

SignIn = Callable[..., Awaitable[dict[str, Any]]]
NAME = "津南绿色咖啡有限公司"


async def test_an_enterprise_applies_publishes_a_pictured_reward_and_finds_its_voucher_in_the_statement(
    client: httpx.AsyncClient, sign_in_staff: SignIn, page: Page, console_url: str, tmp_path: Path
) -> None:
    operator = await sign_in_staff(Role.admin_operator, "ops-lead")
    picture = tmp_path / "coffee.jpg"
    picture.write_bytes(jpeg_with_gps(size=(240, 160)))

    # applies, with no account yet
    await page.goto(console_url)
    await page.get_by_role("link", name="企业入驻申请").click()
    await expect(page.get_by_role("heading", name="企业入驻申请")).to_be_visible()
    await page.get_by_label("企业名称").fill(NAME)
    await page.get_by_label("统一社会信用代码").fill("91120112ma05kxyz3b")
    await page.get_by_label("联系人", exact=True).fill("王经理")
    await page.get_by_label("联系人手机号").fill("13812345678")
    await page.get_by_label("您的称呼（首个账号的显示名）").fill("王经理")
    await page.get_by_label("登录密码").fill(STAFF_PASSWORD)
    await page.get_by_role("button", name="提交申请").click()
    drawn = page.get_by_test_id("drawn-username")
    await expect(drawn).to_have_text(re.compile(r"^ent-[a-z0-9]{10}$"))
    await expect(page.get_by_text("请立即记下这个用户名")).to_be_visible()
    username = (await drawn.inner_text()).strip()
    await screenshot(page, "enterprise-applied", tmp_path)

    pending = await client.get("/v1/admin/enterprises", params={"status": "pending"}, headers=bearer(operator))
    (application,) = [e for e in pending.json()["items"] if e["name"] == NAME]
    assert application["credit_code"] == "91120112MA05KXYZ3B"
    reviewed = await client.post(
        f"/v1/admin/enterprises/{application['id']}/review",
        json={"decision": "approve", "reason": "营业执照核验一致"},
        headers=bearer(operator),
    )
    assert reviewed.status_code == 200, reviewed.text

    # signs in and publishes a reward with a picture from a file
    await page.get_by_role("button", name="去登录").click()
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码", exact=True).fill(STAFF_PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await expect(page.get_by_role("heading", name="核销兑换券")).to_be_visible()
    await page.get_by_role("menuitem", name="奖励").click()
    await page.get_by_role("button", name="发布奖励").click()
    await page.get_by_label("名称", exact=True).fill("低碳拿铁一杯")
    await page.get_by_label("说明").fill("到店出示兑换码领取")
    await page.get_by_label("所需积分（克）").fill("400")
    await page.get_by_test_id("picture-file").set_input_files(str(picture))
    await expect(page.get_by_test_id("picture-preview")).to_be_visible()
    await page.get_by_role("button", name="发布", exact=True).click()
    rewards = page.get_by_test_id("rewards")
    await expect(rewards).to_contain_text("低碳拿铁一杯")
    thumb = rewards.get_by_role("img", name="低碳拿铁一杯")
    await expect(thumb).to_have_attribute("src", re.compile(r"/v1/reward-images/.+"))
    # the picture is served, turned upright as its EXIF said (240 × 160 taken sideways)
    assert await thumb.evaluate("img => img.complete && img.naturalWidth") == 160
    await screenshot(page, "enterprise-rewards", tmp_path)

    # a resident sees the picture and redeems the reward
    resident = (await client.post("/v1/auth/dev", json={"name": "alice"})).json()
    await earn(client, resident, rides=1)
    (offered,) = (await client.get(REWARDS, headers=bearer(resident))).json()["items"]
    assert offered["title"] == "低碳拿铁一杯"
    assert offered["image_url"] == await thumb.get_attribute("src")
    served = await client.get(offered["image_url"])
    assert (served.status_code, served.headers["content-type"]) == (200, "image/jpeg")
    voucher = (await redeem_ok(client, resident, offered["id"]))["voucher"]

    # the counter takes it; the list and the month's statement show it
    await page.get_by_role("menuitem", name="核销").click()
    await page.get_by_placeholder("兑换码").fill(voucher["code"])
    await page.get_by_role("button", name="核销", exact=True).click()
    await expect(page.get_by_test_id("counter-result")).to_contain_text("核销成功")

    await page.get_by_role("menuitem", name="兑换券").click()
    listed = page.get_by_test_id("vouchers")
    await expect(listed).to_contain_text("低碳拿铁一杯")
    await expect(listed).to_contain_text("已核销")
    await expect(listed).to_contain_text("…" + voucher["code"][-4:])
    await expect(listed).not_to_contain_text(voucher["code"])

    await page.get_by_role("menuitem", name="对账单").click()
    await expect(page.get_by_test_id("received_g")).to_have_text("400")
    await expect(page.get_by_test_id("closing_balance_g")).to_have_text("400")
    await expect(page.get_by_test_id("accepted")).to_have_text("1 张，400 克")
    await expect(page.get_by_test_id("statement-lines")).to_contain_text(f"#{voucher['id']} 低碳拿铁一杯")
    await screenshot(page, "enterprise-statement", tmp_path)

    login = await client.post("/v1/auth/login", json={"username": username, "password": STAFF_PASSWORD})
    enterprise = await refreshed(client, login.json())
    month = datetime.now(SHANGHAI).strftime("%Y-%m")
    statement = (
        await client.get("/v1/enterprise/statement", params={"month": month}, headers=bearer(enterprise))
    ).json()
    assert (statement["received_g"], statement["closing_balance_g"], statement["vouchers_accepted"]) == (400, 400, 1)
    assert [(line["voucher_id"], line["voucher_status"]) for line in statement["lines"]] == [(voucher["id"], "used")]
    mine = (await client.get(f"/v1/me/vouchers/{voucher['id']}", headers=bearer(resident))).json()
    assert mine["status"] == "used"


async def test_an_applicant_follows_its_application_until_it_is_approved(
    client: httpx.AsyncClient, sign_in_staff: SignIn, page: Page, console_url: str, tmp_path: Path
) -> None:
    operator = await sign_in_staff(Role.admin_operator, "ops-lead")
    enterprise_id, applicant = await register_enterprise(client, "海河低碳书店")
    username = (await client.get("/v1/staff/me", headers=bearer(applicant))).json()["username"]

    await sign_in(page, console_url + "#/rewards", username)

    await expect(page.get_by_role("heading", name="入驻申请")).to_be_visible()
    await expect(page.get_by_test_id("application-status")).to_have_text("待审核")

    async def decide(decision: str, reason: str) -> None:
        response = await client.post(
            f"/v1/admin/enterprises/{enterprise_id}/review",
            json={"decision": decision, "reason": reason},
            headers=bearer(operator),
        )
        assert response.status_code == 200, response.text

    await decide("reject", "统一社会信用代码与营业执照不一致")
    await page.get_by_role("button", name="刷新").click()
    await expect(page.get_by_test_id("application-status")).to_have_text("未通过")
    await expect(page.get_by_test_id("review-reason")).to_have_text("统一社会信用代码与营业执照不一致")
    await screenshot(page, "enterprise-application", tmp_path)
    await page.get_by_role("menuitem", name="奖励").click()
    await expect(page.get_by_role("heading", name="入驻申请")).to_be_visible()

    await decide("reinstate", "补充材料核验一致")
    await page.get_by_role("button", name="刷新").click()
    await expect(page.get_by_test_id("application-status")).to_have_text("已通过")
    await page.get_by_role("button", name="去核销台").click()
    await expect(page.get_by_role("heading", name="核销兑换券")).to_be_visible()


async def test_an_enterprise_adds_stock_and_a_picture_withdraws_a_reward_and_downloads_its_statement(
    client: httpx.AsyncClient, sign_in_staff: SignIn, page: Page, console_url: str, tmp_path: Path
) -> None:
    operator = await sign_in_staff(Role.admin_operator, "ops-lead")
    cafe = await approved_enterprise(client, operator, "津南绿色咖啡")
    username = (await client.get("/v1/staff/me", headers=bearer(cafe))).json()["username"]
    reward = await publish(client, cafe, title="低碳咖啡一杯", stock=10)
    picture = tmp_path / "coffee-2.jpg"
    picture.write_bytes(jpeg_with_gps(orientation=1))

    await sign_in(page, console_url + "#/rewards", username)
    row = page.get_by_test_id("rewards").get_by_role("row", name="低碳咖啡一杯")
    await expect(row).to_contain_text("10 / 10")
    await row.get_by_role("button", name="修改").click()
    await page.get_by_label("增加库存").fill("5")
    await page.get_by_test_id("picture-file").set_input_files(str(picture))
    await page.get_by_role("button", name="保存").click()
    await expect(row).to_contain_text("15 / 15")
    await expect(row.get_by_role("img", name="低碳咖啡一杯")).to_have_attribute(
        "src", re.compile(r"^/v1/reward-images/")
    )

    await row.get_by_role("button", name="下架").click()
    await page.get_by_role("dialog").get_by_role("button", name="下架").click()
    await expect(row).to_contain_text("已下架")
    (held,) = (await client.get(ENTERPRISE_REWARDS, headers=bearer(cafe))).json()
    assert (held["id"], held["status"], held["stock_total"]) == (reward["id"], "withdrawn", 15)
    assert held["image_id"] is not None
    resident = (await client.post("/v1/auth/dev", json={"name": "alice"})).json()
    assert (await client.get(REWARDS, headers=bearer(resident))).json()["items"] == []

    await page.get_by_role("menuitem", name="对账单").click()
    await expect(page.get_by_test_id("closing_balance_g")).to_have_text("0")
    async with page.expect_download() as downloading:
        await page.get_by_role("button", name="下载 CSV").click()
    download = await downloading.value
    month = datetime.now(SHANGHAI).strftime("%Y-%m")
    assert download.suggested_filename == f"tanpuhui-statement-{month}.csv"
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    assert f"month,{month}" in saved.read_text()
