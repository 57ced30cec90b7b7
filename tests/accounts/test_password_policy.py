"""Staff passwords: at least 12 characters and not common or guessable, wherever one is set; changing
one's own password needs the current one and signs out every other session."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from service.accounts.models import Role
from tests.conftest import ROOT, STAFF_PASSWORD, Api, bearer

SignInStaff = Callable[..., Awaitable[dict[str, Any]]]
NEW_PASSWORD = "violet kettle harbour lantern"


@pytest.mark.parametrize(
    "password",
    ["password1234", "qwertyuiop123", "abcdefghijkl", "audit.wang2026", "111111111111"],
)
async def test_an_administrator_cannot_give_a_user_a_common_or_guessable_password(
    client: httpx.AsyncClient, sign_in_staff: SignInStaff, password: str
) -> None:
    admin = await sign_in_staff(Role.admin_super)

    response = await client.post(
        "/v1/admin/users",
        json={"username": "audit.wang", "password": password, "display_name": "王审计", "role": "admin-auditor"},
        headers=bearer(admin) | {"Accept-Language": "en"},
    )

    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "PASSWORD_TOO_WEAK"
    assert problem["errors"][0]["field"] == "password"
    assert "12 characters" in problem["detail"]
    users = (await client.get("/v1/admin/users", headers=bearer(admin))).json()["items"]
    assert "audit.wang" not in [user["username"] for user in users]


async def test_an_enterprise_cannot_register_with_a_guessable_password(client: httpx.AsyncClient) -> None:
    application = {
        "name": "天津津南绿色餐饮有限公司",
        "credit_code": "91120112MA05KXYZ3B",
        "contact_name": "王明",
        "contact_phone": "13800000000",
        "display_name": "王经理",
    }

    weak = await client.post("/v1/enterprises/register", json={**application, "password": "jinnan123456"})
    strong = await client.post("/v1/enterprises/register", json={**application, "password": NEW_PASSWORD})

    assert (weak.status_code, weak.json()["code"]) == (422, "PASSWORD_TOO_WEAK")
    assert strong.status_code == 201, strong.text  # nothing of the refused application was kept


async def test_changing_the_password_needs_the_current_one_and_signs_out_every_other_session(
    client: httpx.AsyncClient, sign_in_staff: SignInStaff
) -> None:
    here = await sign_in_staff(Role.admin_operator, "ops-lead")
    elsewhere = (await client.post("/v1/auth/login", json={"username": "ops-lead", "password": STAFF_PASSWORD})).json()

    wrong = await client.post(
        "/v1/staff/me/password",
        json={"current_password": "not the password", "new_password": NEW_PASSWORD},
        headers=bearer(here),
    )
    weak = await client.post(
        "/v1/staff/me/password",
        json={"current_password": STAFF_PASSWORD, "new_password": "ops-lead1234"},
        headers=bearer(here),
    )
    assert (wrong.status_code, wrong.json()["code"]) == (422, "CURRENT_PASSWORD_WRONG")
    assert wrong.json()["errors"][0]["field"] == "current_password"
    assert (weak.json()["code"], weak.json()["errors"][0]["field"]) == ("PASSWORD_TOO_WEAK", "new_password")
    assert (await client.get("/v1/staff/me", headers=bearer(elsewhere))).status_code == 200

    changed = await client.post(
        "/v1/staff/me/password",
        json={"current_password": STAFF_PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(here),
    )

    assert changed.status_code == 204, changed.text
    assert (await client.get("/v1/staff/me", headers=bearer(here))).status_code == 200
    ended = await client.get("/v1/staff/me", headers=bearer(elsewhere))
    assert (ended.status_code, ended.json()["code"]) == (401, "TOKEN_REVOKED")
    assert (
        await client.post("/v1/auth/refresh", json={"refresh_token": elsewhere["refresh_token"]})
    ).status_code == 401
    old = await client.post("/v1/auth/login", json={"username": "ops-lead", "password": STAFF_PASSWORD})
    new = await client.post("/v1/auth/login", json={"username": "ops-lead", "password": NEW_PASSWORD})
    assert old.json()["code"] == "INVALID_CREDENTIALS"
    assert new.status_code == 200


@pytest.mark.parametrize(("password", "created"), [("qwertyuiop123", False), (NEW_PASSWORD, True)])
async def test_the_command_line_refuses_a_guessable_password(
    api: Api, database_url: str, password: str, created: bool
) -> None:
    environment = {**os.environ, "TANPUHUI_DATABASE_URL": database_url, "TANPUHUI_ENV": "test"}
    run = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "service.cli",
        "create-user",
        "audit.wang",
        "--role",
        "admin-auditor",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment,
        cwd=ROOT,
    )
    output, errors = await run.communicate(f"{password}\n".encode())

    async with api.db.engine.connect() as connection:
        found = await connection.scalar(text("SELECT count(*) FROM accounts_user WHERE username = 'audit.wang'"))
    assert (run.returncode == 0, found) == (created, int(created)), (output, errors)
    if not created:
        assert b"refused" in errors
        assert b"Traceback" not in errors
