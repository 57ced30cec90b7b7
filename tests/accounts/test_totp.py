"""Two-factor sign-in for staff users: enrolling by QR code, signing in with a code (each accepted once)
or a one-time recovery code, turning it off, and new recovery codes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from sqlalchemy import text

from service.accounts import staff
from service.accounts.models import Role
from service.accounts.schemas import UserCreate
from tests.conftest import STAFF_PASSWORD, Api, bearer
from tests.fixtures.totp import totp_code

SignInStaff = Callable[..., Awaitable[dict[str, Any]]]
MakeApi = Callable[..., Awaitable[Api]]


async def enrol(client: httpx.AsyncClient, tokens: dict[str, Any]) -> tuple[str, list[str]]:
    """Turn TOTP on for the tokens' user; answers the secret and the recovery codes."""
    started = await client.post("/v1/staff/me/totp", headers=bearer(tokens))
    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    confirmed = await client.post("/v1/staff/me/totp/confirm", json={"code": totp_code(secret)}, headers=bearer(tokens))
    assert confirmed.status_code == 200, confirmed.text
    return secret, confirmed.json()["recovery_codes"]


def not_a_code_of(secret: str) -> str:
    """Six digits the service would not take for `secret` now."""
    taken = {totp_code(secret, steps_ahead=steps) for steps in (-1, 0, 1, 2)}
    return next(code for code in ("000000", "111111", "222222", "333333", "444444") if code not in taken)


async def login(client: httpx.AsyncClient, username: str, **extra: str) -> httpx.Response:
    return await client.post("/v1/auth/login", json={"username": username, "password": STAFF_PASSWORD, **extra})


async def test_a_user_enrols_by_qr_code_and_then_signs_in_only_with_a_code(
    api: Api, sign_in_staff: SignInStaff
) -> None:
    client = api.client
    tokens = await sign_in_staff(Role.admin_operator, "ops-lead")

    started = (await client.post("/v1/staff/me/totp", headers=bearer(tokens))).json()
    secret = started["secret"]
    assert started["otpauth_uri"].startswith("otpauth://totp/")
    assert f"secret={secret}" in started["otpauth_uri"]
    assert started["qr_svg"].startswith("<svg")
    assert (await client.get("/v1/staff/me/security", headers=bearer(tokens))).json()["totp_enabled"] is False
    # until a code confirms it, the password alone still signs in
    assert (await login(client, "ops-lead")).status_code == 200

    wrong = await client.post("/v1/staff/me/totp/confirm", json={"code": not_a_code_of(secret)}, headers=bearer(tokens))
    assert wrong.status_code == 422
    assert wrong.json()["code"] == "TOTP_CODE_WRONG"
    assert wrong.json()["errors"][0]["field"] == "code"
    confirmed = await client.post("/v1/staff/me/totp/confirm", json={"code": totp_code(secret)}, headers=bearer(tokens))
    assert confirmed.status_code == 200, confirmed.text
    codes = confirmed.json()["recovery_codes"]
    assert len(codes) == len(set(codes)) == 10
    security = (await client.get("/v1/staff/me/security", headers=bearer(tokens))).json()
    assert security == {"totp_enabled": True, "totp_required": False, "recovery_codes_left": 10}

    without = await login(client, "ops-lead")
    assert without.status_code == 401
    assert without.json()["code"] == "TOTP_REQUIRED"
    wrong_code = await login(client, "ops-lead", totp_code=not_a_code_of(secret))
    assert wrong_code.status_code == 401
    assert wrong_code.json()["code"] == "TOTP_INVALID"
    wrong_password = await client.post(
        "/v1/auth/login", json={"username": "ops-lead", "password": "not the password", "totp_code": "123456"}
    )
    assert wrong_password.json()["code"] == "INVALID_CREDENTIALS"
    signed_in = await login(client, "ops-lead", totp_code=totp_code(secret, steps_ahead=1))
    assert signed_in.status_code == 200, signed_in.text
    assert (await client.get("/v1/admin/users", headers=bearer(signed_in.json()))).status_code == 200

    async with api.db.engine.connect() as connection:
        sealed = await connection.scalar(text("SELECT secret_ciphertext FROM accounts_user_totp"))
        actions = (await connection.scalars(text("SELECT action FROM audit_action ORDER BY id"))).all()
    assert secret.encode() not in sealed
    assert "user.totp.enable" in actions


async def test_a_code_is_accepted_once(client: httpx.AsyncClient, sign_in_staff: SignInStaff) -> None:
    tokens = await sign_in_staff(Role.enterprise, "shop.zhao")
    secret, _ = await enrol(client, tokens)
    code = totp_code(secret, steps_ahead=1)

    first = await login(client, "shop.zhao", totp_code=code)
    again = await login(client, "shop.zhao", totp_code=code)

    assert first.status_code == 200, first.text
    assert again.status_code == 401
    assert again.json()["code"] == "TOTP_INVALID"


async def test_a_recovery_code_signs_in_once_and_an_administrators_use_is_logged(
    api: Api, sign_in_staff: SignInStaff
) -> None:
    client = api.client
    tokens = await sign_in_staff(Role.admin_super, "root-user")
    _, codes = await enrol(client, tokens)

    typed = codes[0].upper().replace("-", " ")
    first = await login(client, "root-user", recovery_code=typed)
    again = await login(client, "root-user", recovery_code=codes[0])

    assert first.status_code == 200, first.text
    assert again.status_code == 401
    assert again.json()["code"] == "TOTP_INVALID"
    security = (await client.get("/v1/staff/me/security", headers=bearer(first.json()))).json()
    assert security["recovery_codes_left"] == 9
    log = await client.get(
        "/v1/admin/audit/actions", params={"action": "user.totp.recovery_code.use"}, headers=bearer(tokens)
    )
    assert [entry["actor"] for entry in log.json()["items"]] == [f"user:{(await _me(client, tokens))['id']}"]


async def _me(client: httpx.AsyncClient, tokens: dict[str, Any]) -> dict[str, Any]:
    me: dict[str, Any] = (await client.get("/v1/staff/me", headers=bearer(tokens))).json()
    return me


async def test_turning_totp_off_needs_the_password_or_a_code(
    client: httpx.AsyncClient, sign_in_staff: SignInStaff
) -> None:
    tokens = await sign_in_staff(Role.admin_auditor, "audit.wang")
    secret, _ = await enrol(client, tokens)

    wrong = await client.post(
        "/v1/staff/me/totp/disable", json={"password": "not the password"}, headers=bearer(tokens)
    )
    neither = await client.post("/v1/staff/me/totp/disable", json={}, headers=bearer(tokens))
    assert (wrong.status_code, wrong.json()["code"]) == (422, "CURRENT_PASSWORD_WRONG")
    assert neither.status_code == 422
    assert (await login(client, "audit.wang")).json()["code"] == "TOTP_REQUIRED"

    off = await client.post(
        "/v1/staff/me/totp/disable", json={"code": totp_code(secret, steps_ahead=1)}, headers=bearer(tokens)
    )

    assert off.status_code == 204, off.text
    assert (await login(client, "audit.wang")).status_code == 200
    again = await client.post("/v1/staff/me/totp/disable", json={"password": STAFF_PASSWORD}, headers=bearer(tokens))
    assert again.json()["code"] == "TOTP_NOT_ENABLED"


async def test_new_recovery_codes_replace_the_old_ones(client: httpx.AsyncClient, sign_in_staff: SignInStaff) -> None:
    tokens = await sign_in_staff(Role.enterprise, "shop.qian")
    _, old = await enrol(client, tokens)

    renewed = await client.post(
        "/v1/staff/me/totp/recovery-codes", json={"password": STAFF_PASSWORD}, headers=bearer(tokens)
    )

    assert renewed.status_code == 200, renewed.text
    new = renewed.json()["recovery_codes"]
    assert not set(new) & set(old)
    assert (await login(client, "shop.qian", recovery_code=old[1])).json()["code"] == "TOTP_INVALID"
    assert (await login(client, "shop.qian", recovery_code=new[1])).status_code == 200


async def test_starting_again_while_totp_is_on_is_refused(
    client: httpx.AsyncClient, sign_in_staff: SignInStaff
) -> None:
    tokens = await sign_in_staff(Role.enterprise, "shop.sun")
    await enrol(client, tokens)

    again = await client.post("/v1/staff/me/totp", headers=bearer(tokens))
    unstarted = await client.post("/v1/staff/me/totp/confirm", json={"code": "123456"}, headers=bearer(tokens))

    assert (again.status_code, again.json()["code"]) == (409, "TOTP_ALREADY_ENABLED")
    assert unstarted.json()["code"] == "TOTP_ALREADY_ENABLED"


async def test_wrong_codes_count_against_the_sign_in_limit(make_api: MakeApi) -> None:
    api = await make_api(rate_signin_per_username_per_hour=4)
    client = api.client
    async with api.db.sessionmaker.begin() as session:
        await staff.create_user(
            session,
            data=UserCreate(username="ops-lead", password=STAFF_PASSWORD, display_name="Ops", role=Role.admin_operator),
        )
    tokens = (await login(client, "ops-lead")).json()
    secret, _ = await enrol(client, tokens)
    wrong = not_a_code_of(secret)

    answers = [(await login(client, "ops-lead", totp_code=wrong)).status_code for _ in range(5)]

    assert answers[0] == 401
    assert answers[-1] == 429
    # from an address the user signs in from, the password still reaches the second factor
    assert (await login(client, "ops-lead")).json()["code"] == "TOTP_REQUIRED"
