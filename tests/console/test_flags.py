"""The fraud-flag queue in a browser: an operator finds the flag the scan raised, freezes the resident it
concerns and confirms it; the API then holds the resident frozen and the flag resolved."""

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
from tests.fixtures.behaviours import ago, assert_problem, behaviour_body, record

SignIn = Callable[..., Awaitable[dict[str, Any]]]


async def _made_up_codes(client: httpx.AsyncClient, resident: dict[str, Any]) -> None:
    """Three rides with codes no site made: the evidence is refused each time."""
    for n in range(3):
        start = ago(hours=2 + n)
        body = behaviour_body("metro_ride", "10", start, ended_at=start + timedelta(minutes=20))
        body["evidence"] = {"start_code": f"TPH1:{n}"}
        assert_problem(await record(client, resident, body), 422, "SITE_CODE_MALFORMED")


async def test_an_operator_freezes_the_resident_of_a_flag_and_confirms_it(
    api: Api, client: httpx.AsyncClient, sign_in_staff: SignIn, page: Page, console_url: str
) -> None:
    operator = await sign_in_staff(Role.admin_operator, "ops-lead")
    mallory = (await client.post("/v1/auth/dev", json={"name": "mallory"})).json()
    await _made_up_codes(client, mallory)
    scanned = await fraud.scan_once(api.db, api.app.state.factor_cache, fraud.Thresholds.of(api.settings))
    assert scanned is not None
    assert scanned.raised == 1

    await sign_in(page, console_url + "#/flags?kind=refused_evidence", "ops-lead")

    queue = page.get_by_test_id("flag-queue")
    await expect(page.get_by_role("heading", name="风险标记")).to_be_visible()
    await expect(page).to_have_url(re.compile(r"kind=refused_evidence"))
    await expect(queue.locator("tbody tr.el-table__row")).to_have_count(1)
    await expect(queue).to_contain_text("凭证屡被拒绝")
    await expect(queue).to_contain_text("SITE_CODE_MALFORMED")

    await queue.get_by_role("button", name="冻结居民").click()
    await give_reason(page, "Made-up site codes, three times")
    await expect(page.get_by_text("已冻结")).to_be_visible()

    await queue.get_by_role("button", name="确认违规").click()
    await give_reason(page, "Codes no site ever showed")

    await expect(queue.locator("tbody tr.el-table__row")).to_have_count(0)
    flags = (await client.get("/v1/admin/flags", params={"status": "all"}, headers=bearer(operator))).json()["items"]
    assert [(flag["kind"], flag["resolution"]) for flag in flags] == [("refused_evidence", "confirmed")]
    handle = (await client.get("/v1/me", headers=bearer(mallory))).json()["handle"]
    actions = (
        await client.get("/v1/admin/audit/actions", params={"action": "resident.freeze"}, headers=bearer(operator))
    ).json()["items"]
    assert [(a["target"], a["reason"]) for a in actions] == [(f"resident:{handle}", "Made-up site codes, three times")]
