"""The review queue in a browser: an operator narrows the held reports to one behaviour type, approves the
whole selection with one reason, and the residents are credited; the rest stay held."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Page, expect

from service.accounts.models import Role
from tests.conftest import bearer
from tests.console.pages import give_reason, screenshot, sign_in
from tests.fixtures.behaviours import ago, balance, behaviour_body, held

SignIn = Callable[..., Awaitable[dict[str, Any]]]


async def test_an_operator_approves_the_held_reports_of_one_type_at_once(
    client: httpx.AsyncClient, sign_in_staff: SignIn, page: Page, console_url: str, tmp_path: Path
) -> None:
    operator = await sign_in_staff(Role.admin_operator, "ops-lead")
    waste = [
        await held(client, name, behaviour_body("waste_sorting", "2", ago(hours=2), category="kitchen_waste"))
        for name in ("alice", "bob")
    ]
    _, visit_id = await held(client, "carol", behaviour_body("low_carbon_visit", "1", ago(hours=3)))
    pending = (await client.get("/v1/admin/behaviours/pending", headers=bearer(operator))).json()["items"]
    would_credit = {item["id"]: item["calculation"]["grams"] for item in pending}
    assert len(pending) == 3

    await sign_in(page, console_url + "#/review?type=waste_sorting", "ops-lead")

    queue = page.get_by_test_id("review-queue")
    await expect(page.get_by_role("heading", name="待审核的行为")).to_be_visible()
    await expect(page).to_have_url(re.compile(r"type=waste_sorting"))
    rows = queue.locator("tbody tr.el-table__row")
    await expect(rows).to_have_count(2)
    await expect(queue).not_to_contain_text("low_carbon_visit")
    for _, report_id in waste:
        await expect(queue).to_contain_text(str(would_credit[report_id]))

    await queue.locator("thead .el-checkbox").click()
    await expect(queue.locator("tbody .el-checkbox.is-checked")).to_have_count(2)
    shot = await screenshot(page, "review-queue", tmp_path)
    assert shot.read_bytes().startswith(b"\x89PNG")
    await page.get_by_role("button", name="批准所选（2）").click()
    await give_reason(page, "Scale photos checked at the station")

    await expect(page.get_by_text("已批准 2 条")).to_be_visible()
    await expect(rows).to_have_count(0)
    left = (await client.get("/v1/admin/behaviours/pending", headers=bearer(operator))).json()["items"]
    assert [item["id"] for item in left] == [visit_id]
    for resident, report_id in waste:
        assert await balance(client, resident) == would_credit[report_id]
