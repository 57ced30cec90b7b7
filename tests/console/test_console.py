"""The console in a real browser: served by the service with nothing from another origin, built from the
sources in console/, an operator signs in and reads the dashboard in Chinese or English, and a refused
sign-in says why in the user's language."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from playwright.async_api import Page, expect

from service.accounts.models import Role
from service.kit import console
from service.kit.clock import local_date
from tests.conftest import Api, bearer
from tests.console.pages import screenshot, sign_in
from tests.fixtures.behaviours import now
from tests.fixtures.redemption import RIDE_G, earn

ROOT = Path(__file__).resolve().parents[2]
SignIn = Callable[..., Awaitable[dict[str, Any]]]


def test_the_shipped_bundle_was_built_from_the_console_sources() -> None:
    assert console.built_from() == console.sources_digest(ROOT / "console"), (
        "service/console/ was not built from console/ as it is: run `make console`"
    )


async def test_the_console_loads_nothing_from_another_origin(page: Page, console_url: str) -> None:
    origin = urlsplit(console_url)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    response = await page.goto(console_url)

    assert response is not None
    assert response.status == 200
    assert "default-src 'none'" in (await response.all_headers())["content-security-policy"]
    await expect(page.get_by_role("heading", name="登录管理后台")).to_be_visible()
    assert requested
    foreign = [url for url in requested if urlsplit(url)[:2] != origin[:2] and not url.startswith("data:")]
    assert not foreign


async def test_an_operator_signs_in_and_reads_the_dashboard_in_either_language(
    api: Api, client: httpx.AsyncClient, sign_in_staff: SignIn, page: Page, console_url: str, tmp_path: Path
) -> None:
    operator = await sign_in_staff(Role.admin_operator, "ops-lead")
    for name in ("alice", "bob"):
        resident = (await client.post("/v1/auth/dev", json={"name": name})).json()
        await earn(client, resident, rides=2)
    today = local_date(now())
    figures = (
        await client.get(
            "/v1/admin/dashboard",
            params={"start": str(today - timedelta(days=29)), "end": str(today + timedelta(days=1))},
            headers=bearer(operator),
        )
    ).json()
    assert figures["totals"]["behaviours"] == 4

    await sign_in(page, console_url, "ops-lead")

    await expect(page.get_by_role("heading", name="数据看板")).to_be_visible()
    await expect(page.get_by_test_id("behaviours")).to_contain_text("4")
    await expect(page.get_by_test_id("active")).to_contain_text("2")
    await expect(page.get_by_test_id("credited")).to_contain_text(str(float(figures["totals"]["co2e_t"])))
    behaviours = page.get_by_test_id("by-behaviour")
    await expect(behaviours).to_contain_text("metro_ride")
    await expect(behaviours).to_contain_text(str(4 * RIDE_G))
    await expect(page.get_by_test_id("trend-chart").locator("canvas")).to_have_count(1)
    assert "start=" not in page.url  # the default range, until the user picks another
    shot = await screenshot(page, "dashboard", tmp_path)
    assert shot.read_bytes().startswith(b"\x89PNG")

    await page.get_by_role("button", name="English").click()

    await expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    await expect(page.get_by_text("Low-carbon behaviours")).to_be_visible()

    await page.get_by_text("By month", exact=True).click()

    await expect(page).to_have_url(re.compile(r"group_by=month"))
    await expect(page.get_by_text("Reduced per month (kg CO₂e)")).to_be_visible()
    await expect(page.get_by_test_id("behaviours")).to_contain_text("4")


async def test_a_refused_sign_in_says_why_in_the_users_language(
    client: httpx.AsyncClient, sign_in_staff: SignIn, page: Page, console_url: str
) -> None:
    await sign_in_staff(Role.admin_operator, "ops-lead")
    refused = await client.post("/v1/auth/login", json={"username": "ops-lead", "password": "not the password"})
    problem = refused.json()
    assert refused.status_code == 401

    await sign_in(page, console_url, "ops-lead", "not the password")

    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text(problem["i18n"]["zh-CN"]["detail"])
    await page.get_by_role("button", name="English").click()
    await expect(alert).to_contain_text(problem["i18n"]["en"]["detail"])
    await expect(page.get_by_role("heading", name="Sign in to the console")).to_be_visible()
