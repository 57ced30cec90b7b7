"""Factor versions in a browser: one operator uploads a draft from the page, reads its differences from the
factors in force and what the last 30 days would have issued under it, and cannot approve it; a second
operator approves it, and the versions list shows it in force, as the API does."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, Page, expect

from service.accounts.models import Role
from tests.conftest import bearer
from tests.console.pages import sign_in
from tests.factors import draft_text
from tests.fixtures.behaviours import ago
from tests.fixtures.redemption import earn

SignIn = Callable[..., Awaitable[dict[str, Any]]]


async def test_one_operator_uploads_a_factor_draft_and_a_second_approves_it(
    client: httpx.AsyncClient,
    sign_in_staff: SignIn,
    page: Page,
    browser: Browser,
    console_url: str,
    tmp_path: Path,
) -> None:
    uploader = await sign_in_staff(Role.admin_operator, "factors-a")
    await sign_in_staff(Role.admin_operator, "factors-b")
    resident = (await client.post("/v1/auth/dev", json={"name": "alice"})).json()
    await earn(client, resident, rides=2, first_hours_ago=3)
    file = tmp_path / "tianjin-2026.3.toml"
    file.write_text(draft_text(ago(minutes=30)), encoding="utf-8")

    await sign_in(page, console_url + "#/factors?tab=drafts", "factors-a")
    await page.get_by_role("button", name="上传草稿").click()
    await page.get_by_label("选择文件").set_input_files(file)
    await expect(page.get_by_label("排放因子文件内容")).to_have_value(file.read_text(encoding="utf-8"))
    await page.get_by_role("button", name="上传", exact=True).click()

    await expect(page.get_by_role("heading", name="排放因子草稿 2026.3")).to_be_visible()
    diff = page.get_by_test_id("draft-diff")
    metro = diff.locator("tbody tr", has_text="地铁出行")
    await expect(metro).to_contain_text("修改")
    await expect(metro).to_contain_text("46.8")
    await expect(metro).to_contain_text("50.0")
    await expect(diff.locator("tbody tr", has_text="textiles")).to_contain_text("新增")
    await expect(diff.locator("tbody tr", has_text="hazardous")).to_contain_text("删除")
    what_if = page.get_by_test_id("draft-what-if")
    # two rides of 10 km: 2 × 468 g issued, 2 × 500 g under the draft
    await expect(what_if.locator("tbody tr", has_text="地铁出行")).to_contain_text("936")
    await expect(what_if.locator("tbody tr", has_text="合计")).to_contain_text("1000")
    await expect(what_if.locator("tbody tr", has_text="合计")).to_contain_text("+64")
    await expect(page.get_by_text("这是您上传的草稿")).to_be_visible()
    await expect(page.get_by_test_id("approve-draft")).to_have_count(0)
    draft_id = int(page.url.rsplit("/", 1)[1])
    refused = await client.post(f"/v1/admin/factor-drafts/{draft_id}/approve", headers=bearer(uploader))
    assert (refused.status_code, refused.json()["code"]) == (403, "FACTOR_DRAFT_OWN_APPROVAL")

    second = await (
        await browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1400, "height": 900})
    ).new_page()
    await sign_in(second, console_url + f"#/factors/drafts/{draft_id}", "factors-b")
    await second.get_by_test_id("approve-draft").click()
    await expect(second.get_by_test_id("draft-summary")).to_contain_text("已批准")
    await expect(second.get_by_test_id("approve-draft")).to_have_count(0)

    await second.goto(console_url + "#/factors")
    versions = second.get_by_test_id("factor-versions")
    await expect(versions.locator("tbody tr.el-table__row", has_text="2026.3")).to_contain_text("现行")
    await expect(versions.locator("tbody tr.el-table__row", has_text="2026.2")).not_to_contain_text("现行")
    in_force = {f["behaviour"]: f["version"]["version"] for f in (await client.get("/v1/factors")).json()}
    assert set(in_force.values()) == {"2026.3"}
    draft = (await client.get(f"/v1/admin/factor-drafts/{draft_id}", headers=bearer(uploader))).json()["draft"]
    assert draft["status"] == "approved"
    assert draft["decided_by"] != draft["uploaded_by"]
