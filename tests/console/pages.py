"""Steps the console's browser tests share."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

from playwright.async_api import Page

from tests.conftest import STAFF_PASSWORD
from tests.fixtures.totp import totp_code


async def sign_in(
    page: Page, url: str, username: str, password: str = STAFF_PASSWORD, *, totp_secret: str | None = None
) -> None:
    """Open `url` (a page of the console), sign in on the page it sends to, and arrive back at `url`. With
    `totp_secret`, the user has two-factor sign-in: the page asks for a code, and gets the one an
    authenticator app shows for the next 30-second step (the service takes it unless that step's code was
    used already: a code used to turn TOTP on a moment ago is of the current step)."""
    await page.goto(url)
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码", exact=True).fill(password)
    await page.get_by_role("button", name="登录").click()
    if totp_secret is not None:
        await page.get_by_label("验证码").fill(totp_code(totp_secret, steps_ahead=1))
        await page.get_by_role("button", name="登录").click()


async def give_reason(page: Page, reason: str) -> None:
    """Fill in the reason a decision asks for, and confirm."""
    await page.get_by_placeholder("理由").fill(reason)
    await page.get_by_role("button", name="确定").or_(page.get_by_role("button", name="OK")).click()


async def screenshot(page: Page, name: str, tmp_path: Path) -> Path:
    """A full-page screenshot of what the user sees, kept with the test's files; with
    CONSOLE_SCREENSHOTS set (`make screenshots`), also written there for the README."""
    shot = tmp_path / f"{name}.png"
    # the page as it settles: Element Plus's transitions take up to 0.3 s
    await page.wait_for_timeout(500)
    await page.screenshot(path=str(shot), full_page=True)
    folder = os.environ.get("CONSOLE_SCREENSHOTS")
    if folder:
        await asyncio.to_thread(_keep, shot, Path(folder))
    return shot


def _keep(shot: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, folder / shot.name)
