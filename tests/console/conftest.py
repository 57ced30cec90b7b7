"""A real browser on the console: Debian's Chromium, headless, driven by Playwright; the service under
uvicorn on loopback against the test's database."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.conftest import Api
from tests.fixtures.serving import serving

CHROMIUM = Path(os.environ.get("TANPUHUI_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def chromium() -> Path:
    assert CHROMIUM.is_file(), f"the console's tests need Chromium at {CHROMIUM}: apt-get install chromium"
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def console_url(api: Api) -> AsyncIterator[str]:
    async with serving(api.app) as base_url:
        yield f"{base_url}/console/"


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(
        locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1400, "height": 900}
    )
    opened = await context.new_page()
    try:
        yield opened
    finally:
        await context.close()
