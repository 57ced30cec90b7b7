"""Audit in a browser: an auditor-minded operator searches the ledger's transfers by kind, downloads them
as CSV (the same file the API streams), reads the action log, and runs verification to the end, its
progress bar reaching the end."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Page, expect

from service.accounts.models import Role
from tests.conftest import bearer
from tests.console.pages import sign_in
from tests.fixtures.redemption import RIDE_G, earn

SignIn = Callable[..., Awaitable[dict[str, Any]]]


async def test_an_operator_searches_exports_and_verifies_the_ledger(
    client: httpx.AsyncClient, sign_in_staff: SignIn, page: Page, console_url: str, tmp_path: Path
) -> None:
    operator = await sign_in_staff(Role.admin_operator, "ops-lead")
    resident = (await client.post("/v1/auth/dev", json={"name": "alice"})).json()
    await earn(client, resident, rides=2)
    public_id = (await client.get("/v1/me", headers=bearer(resident))).json()["id"]
    frozen = await client.post(
        f"/v1/admin/residents/{public_id}/freeze", json={"reason": "checking a report"}, headers=bearer(operator)
    )
    assert frozen.status_code == 200, frozen.text
    exported = await client.get(
        "/v1/admin/audit/transfers/export", params={"format": "csv", "kind": "issuance"}, headers=bearer(operator)
    )

    await sign_in(page, console_url + "#/audit?kind=issuance", "ops-lead")

    transfers = page.get_by_test_id("transfers")
    await expect(transfers.locator("tbody tr.el-table__row")).to_have_count(2)
    await expect(transfers).to_contain_text(str(RIDE_G))
    async with page.expect_download() as downloading:
        await page.get_by_role("button", name="导出 CSV").click()
    download = await downloading.value
    saved = tmp_path / "transfers.csv"
    await download.save_as(saved)
    assert saved.read_bytes() == exported.content

    await page.get_by_role("tab", name="操作日志").click()
    await expect(page).to_have_url(re.compile(r"tab=actions"))
    await expect(page.get_by_test_id("actions")).to_contain_text("resident.freeze")
    await expect(page.get_by_test_id("actions")).to_contain_text("checking a report")

    await page.get_by_role("tab", name="账本核验").click()
    await page.get_by_role("button", name="开始核验").click()

    progress = page.get_by_test_id("verify-progress")
    await expect(progress).to_have_attribute("aria-valuenow", "100", timeout=30_000)
    await expect(page.get_by_test_id("verify-step")).to_contain_text("核验完成")
    await expect(page.get_by_test_id("verify-result")).to_contain_text("全部检查通过")
    checks = page.get_by_test_id("verify-checks")
    await expect(checks.locator("tbody tr.el-table__row")).not_to_have_count(0)
    await expect(checks).not_to_contain_text("未通过")
