"""The monthly report in a browser: an operator picks a town and reads its figures, downloads the CSV
that holds them, and prints a page without the navigation."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from service.accounts.models import Role
from tests.conftest import bearer
from tests.console.pages import sign_in
from tests.fixtures.behaviours import SHANGHAI, ago, now
from tests.fixtures.redemption import RIDE_G, earn

SignIn = Callable[..., Awaitable[dict[str, Any]]]


def _month(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m")


async def test_the_report_shows_a_towns_figures_downloads_them_and_prints_without_the_navigation(
    client: httpx.AsyncClient, sign_in_staff: SignIn, page: Page, console_url: str, tmp_path: Path
) -> None:
    if _month(ago(hours=3)) != _month(now()):
        pytest.skip("in a month's first hours the rides would fall in the month before")
    operator = await sign_in_staff(Role.admin_operator, "ops-lead")
    first, second = (await client.get("/v1/communities")).json()[:2]
    for name, town, rides in (("alice", first, 2), ("bob", second, 1)):
        tokens = (await client.post("/v1/auth/dev", json={"name": name})).json()
        changed = await client.patch("/v1/me", json={"community_id": town["id"]}, headers=bearer(tokens))
        assert changed.status_code == 200, changed.text
        await earn(client, tokens, rides=rides, first_hours_ago=1)
    month = _month(now())

    await sign_in(page, console_url + f"#/reports?month={month}", "ops-lead")

    towns = page.get_by_test_id("report-towns")
    first_row = towns.locator("tbody tr.el-table__row", has_text=first["name_zh"])
    await expect(first_row).to_contain_text(f"{2 * RIDE_G:,}")
    await expect(towns.locator("tbody tr.el-table__row", has_text="全区合计")).to_contain_text(f"{3 * RIDE_G:,}")
    await expect(page.get_by_test_id("report-actions")).to_contain_text("交通运输绿色低碳行动")

    await page.locator(".page-head .el-select").click()
    await page.get_by_role("option", name=second["name_zh"], exact=True).click()
    await expect(towns.locator("tbody tr.el-table__row")).to_have_count(2)
    await expect(towns.locator("tbody tr.el-table__row", has_text=second["name_zh"])).to_contain_text(str(RIDE_G))
    await expect(page.get_by_test_id("report-heading")).to_contain_text(second["name_zh"])

    async with page.expect_download() as downloading:
        await page.get_by_role("button", name="下载 CSV").click()
    download = await downloading.value
    saved = tmp_path / "report.csv"
    await download.save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8"))))
    town = next(r for r in rows if r["community"] == second["name_zh"] and r["section"] == "total")
    assert (town["key"], town["active_residents"], town["credited_g"]) == (month, "1", str(RIDE_G))
    assert all(r["community"] != first["name_zh"] for r in rows)
    api_report = await client.get(
        "/v1/admin/reports/monthly",
        params={"month": month, "community_id": second["id"]},
        headers=bearer(operator),
    )
    assert api_report.json()["total"]["credited_g"] == RIDE_G

    navigation = page.get_by_role("menubar")
    await expect(navigation).to_be_visible()
    await page.emulate_media(media="print")
    await expect(navigation).to_be_hidden()
    await expect(page.get_by_role("button", name="打印")).to_be_hidden()
    await expect(page.get_by_test_id("report-heading")).to_be_visible()
    await expect(towns).to_be_visible()
