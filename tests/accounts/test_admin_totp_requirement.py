"""Where TOTP is required of administrators (by default in production), one who has not enrolled gets
tokens that reach only their own account until they enrol; enterprise users are not held to it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from service.accounts import staff
from service.accounts.models import EnterpriseStatus, Role
from service.accounts.schemas import UserCreate
from service.config import Environment, Settings
from tests.accounts.test_totp import enrol
from tests.conftest import STAFF_PASSWORD, Api, bearer

SignInStaff = Callable[..., Awaitable[dict[str, Any]]]
MakeApi = Callable[..., Awaitable[Api]]


def test_the_requirement_is_on_in_production_and_off_elsewhere() -> None:
    assert Settings(_env_file=None, env=Environment.production).admin_totp_required_enabled
    assert not Settings(_env_file=None, env=Environment.development).admin_totp_required_enabled
    assert not Settings(_env_file=None, env=Environment.test).admin_totp_required_enabled
    assert not Settings(
        _env_file=None, env=Environment.production, admin_totp_required=False
    ).admin_totp_required_enabled


async def test_an_administrator_without_totp_reaches_only_their_own_account_until_enrolled(
    make_api: MakeApi,
) -> None:
    api = await make_api(admin_totp_required=True)
    client = api.client
    tokens = await _sign_in(api, Role.admin_operator, "ops-lead")

    assert tokens["totp_enrolment_required"] is True
    refused = await client.get("/v1/admin/users", headers=bearer(tokens))
    assert refused.status_code == 403
    assert refused.json()["code"] == "TOTP_ENROLMENT_REQUIRED"
    assert (await client.get("/v1/admin/dashboard", headers=bearer(tokens))).json()["code"] == "TOTP_ENROLMENT_REQUIRED"
    assert (await client.get("/v1/staff/me", headers=bearer(tokens))).status_code == 200
    security = (await client.get("/v1/staff/me/security", headers=bearer(tokens))).json()
    assert security["totp_required"] is True
    assert (await client.get("/v1/staff/me/sessions", headers=bearer(tokens))).status_code == 200

    await enrol(client, tokens)
    refreshed = await client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})

    assert refreshed.json()["totp_enrolment_required"] is False
    assert (await client.get("/v1/admin/users", headers=bearer(refreshed.json()))).status_code == 200


async def test_an_enterprise_user_is_not_held_to_the_administrators_requirement(make_api: MakeApi) -> None:
    api = await make_api(admin_totp_required=True)

    tokens = await _sign_in(api, Role.enterprise, "shop.zhao")

    assert tokens["totp_enrolment_required"] is False
    assert (await api.client.get("/v1/enterprise/me", headers=bearer(tokens))).status_code == 200


async def _sign_in(api: Api, role: Role, username: str) -> dict[str, Any]:
    async with api.db.sessionmaker.begin() as session:
        enterprise_id = None
        if role is Role.enterprise:
            enterprise_id = (await staff.create_enterprise(session, name="Shop", status=EnterpriseStatus.approved)).id
        await staff.create_user(
            session,
            data=UserCreate(
                username=username,
                password=STAFF_PASSWORD,
                display_name=username,
                role=role,  # type: ignore[arg-type]
                enterprise_id=enterprise_id,
            ),
        )
    response = await api.client.post("/v1/auth/login", json={"username": username, "password": STAFF_PASSWORD})
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens
