"""An operator's whole day in the console, no curl: sign in with a TOTP code, read the dashboard, approve a
filtered set of held reports, resolve a fraud flag and freeze its resident, approve an enterprise, issue a
partner key, upload a factor draft that a second administrator approves, verify the ledger to the end and
download the month's report. Each step checks what the page shows, then what the API holds."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, Page, expect

from service.accounts.models import Role
from service.ingest import fraud
from tests.conftest import Api, bearer
from tests.console.pages import give_reason, sign_in
from tests.factors import draft_text
from tests.fixtures.behaviours import (
    SHANGHAI,
    PartnerClient,
    ago,
    assert_problem,
    balance,
    behaviour_body,
    create_partner,
    held,
    partner_record,
    record,
)
from tests.fixtures.redemption import earn, refreshed, register_enterprise
from tests.fixtures.totp import totp_code

SignIn = Callable[..., Awaitable[dict[str, Any]]]
Tokens = dict[str, Any]


async def _resident(client: httpx.AsyncClient, name: str) -> Tokens:
    tokens: Tokens = (await client.post("/v1/auth/dev", json={"name": name})).json()
    return tokens


async def _with_totp(client: httpx.AsyncClient, tokens: Tokens) -> str:
    """Turn two-factor sign-in on for the signed-in user, as its account page does; answers the secret."""
    started = await client.post("/v1/staff/me/totp", headers=bearer(tokens))
    assert started.status_code == 200, started.text
    secret: str = started.json()["secret"]
    confirmed = await client.post("/v1/staff/me/totp/confirm", json={"code": totp_code(secret)}, headers=bearer(tokens))
    assert confirmed.status_code == 200, confirmed.text
    return secret


async def test_an_operators_day_runs_in_the_console(
    api: Api,
    client: httpx.AsyncClient,
    sign_in_staff: SignIn,
    page: Page,
    browser: Browser,
    console_url: str,
    tmp_path: Path,
) -> None:
    # the district's operator (a super-administrator: partner keys are theirs to issue), with TOTP on
    operator = await sign_in_staff(Role.admin_super, "ops-day")
    secret = await _with_totp(client, operator)
    await sign_in_staff(Role.admin_operator, "ops-second")
    # what the day brings: a credited ride, held reports, a flag, an application and a partner
    dave = await _resident(client, "dave")
    await earn(client, dave, rides=1)
    waste = [
        await held(client, name, behaviour_body("waste_sorting", "2", ago(hours=2), category="kitchen_waste"))
        for name in ("alice", "bob")
    ]
    _, visit_id = await held(client, "carol", behaviour_body("low_carbon_visit", "1", ago(hours=3)))
    would_credit = {
        item["id"]: item["calculation"]["grams"]
        for item in (await client.get("/v1/admin/behaviours/pending", headers=bearer(operator))).json()["items"]
    }
    mallory = await _resident(client, "mallory")
    for n in range(3):
        start = ago(hours=2 + n)
        body = behaviour_body("metro_ride", "10", start, ended_at=start + timedelta(minutes=20))
        body["evidence"] = {"start_code": f"TPH1:{n}"}
        assert_problem(await record(client, mallory, body), 422, "SITE_CODE_MALFORMED")
    scanned = await fraud.scan_once(api.db, api.app.state.factor_cache, fraud.Thresholds.of(api.settings))
    assert scanned is not None
    assert scanned.raised == 1
    cafe_id, cafe = await register_enterprise(client, "津南绿色咖啡")
    partner = await create_partner(client, operator, code="jinnan-bike")

    # signing in asks for the code from the authenticator app
    today = ago(hours=0).astimezone(SHANGHAI).date()
    figures = (
        await client.get(
            "/v1/admin/dashboard",
            params={"start": str(today - timedelta(days=29)), "end": str(today + timedelta(days=1))},
            headers=bearer(operator),
        )
    ).json()
    assert (figures["totals"]["behaviours"], figures["totals"]["active_residents"]) == (1, 1)
    await sign_in(page, console_url + "#/dashboard", "ops-day", totp_secret=secret)
    await expect(page.get_by_role("heading", name="数据看板")).to_be_visible()
    await expect(page.get_by_test_id("credited")).to_contain_text(str(float(figures["totals"]["co2e_t"])))
    await expect(page.get_by_test_id("by-behaviour")).to_contain_text("metro_ride")

    # the held reports of one type, approved at once
    await page.goto(console_url + "#/review?type=waste_sorting")
    queue = page.get_by_test_id("review-queue")
    await expect(queue.locator("tbody tr.el-table__row")).to_have_count(2)
    await queue.locator("thead .el-checkbox").click()
    await page.get_by_role("button", name="批准所选（2）").click()
    await give_reason(page, "Scale photos checked at the station")
    await expect(page.get_by_text("已批准 2 条")).to_be_visible()
    left = (await client.get("/v1/admin/behaviours/pending", headers=bearer(operator))).json()["items"]
    assert [item["id"] for item in left] == [visit_id]
    for resident, report_id in waste:
        assert await balance(client, resident) == would_credit[report_id]

    # the flag: its resident frozen, the flag confirmed
    await page.goto(console_url + "#/flags")
    flags = page.get_by_test_id("flag-queue")
    await expect(flags).to_contain_text("SITE_CODE_MALFORMED")
    await flags.get_by_role("button", name="冻结居民").click()
    await give_reason(page, "Made-up site codes, three times")
    await expect(page.get_by_text("已冻结")).to_be_visible()
    await flags.get_by_role("button", name="确认违规").click()
    await give_reason(page, "Codes no site ever showed")
    await expect(flags.locator("tbody tr.el-table__row")).to_have_count(0)
    resolved = (await client.get("/v1/admin/flags", params={"status": "all"}, headers=bearer(operator))).json()
    assert [f["resolution"] for f in resolved["items"]] == ["confirmed"]
    frozen = await record(client, mallory, behaviour_body("metro_ride", "10", ago(minutes=20)))
    assert_problem(frozen, 403, "ACCOUNT_FROZEN")

    # the application, approved
    await page.goto(console_url + "#/enterprises")
    application = page.get_by_test_id("enterprises").locator("tbody tr.el-table__row", has_text="津南绿色咖啡")
    await application.get_by_role("button", name="通过").click()
    await give_reason(page, "营业执照核验一致")
    await expect(page.get_by_text("已处理「津南绿色咖啡」")).to_be_visible()
    me = await client.get("/v1/enterprise/me", headers=bearer(await refreshed(client, cafe)))
    assert (me.status_code, me.json()["enterprise_id"], me.json()["status"]) == (200, cafe_id, "approved")

    # a new key for the bike-share partner, its secret shown once and working at once
    await page.goto(console_url + "#/partners")
    row = page.get_by_test_id("partners").locator("tbody tr.el-table__row", has_text="jinnan-bike")
    await row.locator(".el-table__expand-icon").click()
    await page.get_by_role("button", name="签发新密钥").click()
    shown = page.get_by_role("dialog", name="新密钥")
    key_id = (await shown.get_by_test_id("issued-key-id").inner_text()).strip()
    key_secret = (await shown.get_by_test_id("issued-secret").inner_text()).strip()
    await shown.get_by_role("button", name="我已保存").click()
    issued = PartnerClient(client, partner.partner_id, partner.code, key_id, key_secret)
    # dave links his account at the bike share, which redeems his code with the new key
    dave_id = await issued.link(dave)
    result = await issued.batch([partner_record("bike-1", dave_id, "shared_bike", "3", ago(minutes=40))])
    assert result["results"][0]["outcome"] == "accepted", result

    # a factor draft uploaded here, approved by a second administrator in their own browser
    draft = tmp_path / "tianjin-2026.3.toml"
    draft.write_text(draft_text(ago(minutes=30)), encoding="utf-8")
    await page.goto(console_url + "#/factors?tab=drafts")
    await page.get_by_role("button", name="上传草稿").click()
    await page.get_by_label("选择文件").set_input_files(draft)
    await page.get_by_role("button", name="上传", exact=True).click()
    await expect(page.get_by_role("heading", name="排放因子草稿 2026.3")).to_be_visible()
    await expect(page.get_by_test_id("draft-diff")).to_contain_text("修改")
    await expect(page.get_by_test_id("approve-draft")).to_have_count(0)
    draft_id = int(page.url.rsplit("/", 1)[1])
    context = await browser.new_context(
        locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1400, "height": 900}
    )
    second = await context.new_page()
    await sign_in(second, console_url + f"#/factors/drafts/{draft_id}", "ops-second")
    await second.get_by_test_id("approve-draft").click()
    await expect(second.get_by_test_id("draft-summary")).to_contain_text("已批准")
    await context.close()
    in_force = {f["version"]["version"] for f in (await client.get("/v1/factors")).json()}
    assert in_force == {"2026.3"}

    # the ledger verified to the end
    await page.goto(console_url + "#/audit?tab=verify")
    await page.get_by_role("button", name="开始核验").click()
    await expect(page.get_by_test_id("verify-progress")).to_have_attribute("aria-valuenow", "100", timeout=60_000)
    await expect(page.get_by_test_id("verify-result")).to_contain_text("全部检查通过", timeout=30_000)

    # the month's report, downloaded: its district total is the API's
    month = ago(hours=1).astimezone(SHANGHAI).strftime("%Y-%m")
    await page.goto(console_url + f"#/reports?month={month}")
    await expect(
        page.get_by_test_id("report-towns").locator("tbody tr.el-table__row", has_text="全区合计")
    ).to_be_visible()
    async with page.expect_download() as downloading:
        await page.get_by_role("button", name="下载 CSV").click()
    saved = tmp_path / "report.csv"
    await (await downloading.value).save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8"))))
    total = next(r for r in rows if r["community"] == "全区合计" and r["section"] == "total")
    report = (await client.get("/v1/admin/reports/monthly", params={"month": month}, headers=bearer(operator))).json()
    assert int(total["credited_g"]) == report["total"]["credited_g"] > 0
    assert re.fullmatch(r"\d{4}-\d{2}", total["key"])
