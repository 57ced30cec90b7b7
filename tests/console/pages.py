"""Steps the console's browser tests share."""

from __future__ import annotations

from playwright.async_api import Page

from tests.conftest import STAFF_PASSWORD


async def sign_in(page: Page, url: str, username: str, password: str = STAFF_PASSWORD) -> None:
    """Open `url` (a page of the console), sign in on the page it sends to, and arrive back at `url`."""
    await page.goto(url)
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码", exact=True).fill(password)
    await page.get_by_role("button", name="登录").click()


async def give_reason(page: Page, reason: str) -> None:
    """Fill in the reason a decision asks for, and confirm."""
    await page.get_by_placeholder("理由").fill(reason)
    await page.get_by_role("button", name="确定").or_(page.get_by_role("button", name="OK")).click()
