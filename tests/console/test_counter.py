"""An enterprise's counter in a browser: it takes a voucher from a photo of the resident's voucher QR,
refuses it the second time, and retires credits for a certificate anyone can check."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import segno
from playwright.async_api import Page, expect

from service.accounts.models import Role
from tests.conftest import bearer
from tests.console.pages import sign_in
from tests.fixtures.redemption import VOUCHERS, approved_enterprise, earn, publish, redeem_ok

SignIn = Callable[..., Awaitable[dict[str, Any]]]


async def test_a_counter_takes_a_voucher_from_its_qr_and_retires_credits(
    client: httpx.AsyncClient, sign_in_staff: SignIn, page: Page, console_url: str, tmp_path: Path
) -> None:
    operator = await sign_in_staff(Role.admin_operator, "ops-lead")
    cafe = await approved_enterprise(client, operator, "津南绿色咖啡")
    username = (await client.get("/v1/staff/me", headers=bearer(cafe))).json()["username"]
    resident = (await client.post("/v1/auth/dev", json={"name": "alice"})).json()
    await earn(client, resident, rides=2)
    reward = await publish(client, cafe, price_g=400)
    voucher = (await redeem_ok(client, resident, reward["id"]))["voucher"]
    qr = tmp_path / "voucher.png"
    segno.make_qr(voucher["code"]).save(str(qr), scale=8, border=4)

    await sign_in(page, console_url, username)

    await expect(page.get_by_role("heading", name="核销兑换券")).to_be_visible()
    await page.get_by_test_id("qr-image").set_input_files(str(qr))
    result = page.get_by_test_id("counter-result")
    await expect(result).to_contain_text("核销成功")
    await expect(result).to_contain_text("低碳咖啡一杯")
    mine = (await client.get(f"{VOUCHERS}/{voucher['id']}", headers=bearer(resident))).json()
    assert mine["status"] == "used"

    await page.get_by_test_id("qr-image").set_input_files(str(qr))
    await expect(result).to_contain_text("未能核销")
    await expect(result).to_contain_text("VOUCHER_USED")

    await page.get_by_role("menuitem", name="积分与注销").click()
    await expect(page.get_by_test_id("retirable")).to_contain_text("400")
    await page.get_by_label("克数").fill("300")
    await page.get_by_label("用途（印在证书上）").fill("2026 国家会展中心绿色展会碳中和")
    await page.get_by_role("button", name="注销并出具证书").click()

    certificate = page.get_by_test_id("certificate")
    await expect(certificate).to_contain_text("已永久注销 300 克")
    number = (await certificate.locator(".number").inner_text()).strip()
    checked = (await client.get(f"/v1/certificates/{number}")).json()
    assert (checked["amount_g"], checked["purpose"]) == (300, "2026 国家会展中心绿色展会碳中和")
    await expect(page.get_by_test_id("retired")).to_contain_text("300")
    await expect(page.get_by_test_id("certificates")).to_contain_text(number)
