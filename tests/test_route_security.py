"""Every endpoint checks who calls it. A new route fails here until it is given its roles below."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from service.accounts.models import Role
from tests.conftest import STAFF_PASSWORD, Api, bearer

PUBLIC = "public"
PARTNER = "partner"
# A link the service signed and gave an operator: the signature in its query is the credential.
SIGNED_LINK = "signed link"
ADMINS = {Role.admin_auditor, Role.admin_operator, Role.admin_super}
OPERATORS = {Role.admin_operator, Role.admin_super}

ROUTES: dict[tuple[str, str], str | set[Role]] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/.well-known/jwks.json"): PUBLIC,
    ("POST", "/v1/auth/wechat"): PUBLIC,
    ("POST", "/v1/auth/dev"): PUBLIC,
    ("POST", "/v1/auth/login"): PUBLIC,
    ("POST", "/v1/auth/refresh"): PUBLIC,
    ("POST", "/v1/auth/logout"): PUBLIC,
    ("GET", "/v1/communities"): PUBLIC,
    ("GET", "/v1/organisations"): PUBLIC,
    ("GET", "/v1/me"): {Role.resident},
    ("PATCH", "/v1/me"): {Role.resident},
    ("POST", "/v1/me"): {Role.resident},
    ("GET", "/v1/me/export"): {Role.resident},
    ("DELETE", "/v1/me"): {Role.resident},
    ("GET", "/v1/staff/me"): {Role.enterprise, *ADMINS},
    ("GET", "/v1/staff/me/security"): {Role.enterprise, *ADMINS},
    ("POST", "/v1/staff/me/password"): {Role.enterprise, *ADMINS},
    ("POST", "/v1/staff/me/totp"): {Role.enterprise, *ADMINS},
    ("POST", "/v1/staff/me/totp/confirm"): {Role.enterprise, *ADMINS},
    ("POST", "/v1/staff/me/totp/disable"): {Role.enterprise, *ADMINS},
    ("POST", "/v1/staff/me/totp/recovery-codes"): {Role.enterprise, *ADMINS},
    ("GET", "/v1/staff/me/signins"): {Role.enterprise, *ADMINS},
    ("GET", "/v1/staff/me/sessions"): {Role.enterprise, *ADMINS},
    ("DELETE", "/v1/staff/me/sessions/{session_id}"): {Role.enterprise, *ADMINS},
    ("POST", "/v1/admin/users"): {Role.admin_super},
    ("GET", "/v1/admin/users"): ADMINS,
    ("PATCH", "/v1/admin/users/{user_id}"): {Role.admin_super},
    ("POST", "/v1/admin/enterprises"): OPERATORS,
    ("POST", "/v1/admin/organisations"): OPERATORS,
    ("POST", "/v1/admin/partners"): {Role.admin_super},
    ("GET", "/v1/admin/partners"): ADMINS,
    ("GET", "/v1/admin/retention/runs"): ADMINS,
    ("POST", "/v1/admin/partners/{partner_id}/keys"): {Role.admin_super},
    ("GET", "/v1/admin/partners/{partner_id}/keys"): ADMINS,
    ("DELETE", "/v1/admin/partners/{partner_id}/keys/{key_id}"): {Role.admin_super},
    ("POST", "/v1/partner/ping"): PARTNER,
    ("GET", "/v1/factors"): PUBLIC,
    ("GET", "/v1/factors/versions"): PUBLIC,
    ("GET", "/v1/factors/versions/{version_id}"): PUBLIC,
    ("POST", "/v1/admin/factor-drafts"): OPERATORS,
    ("GET", "/v1/admin/factor-drafts"): ADMINS,
    ("GET", "/v1/admin/factor-drafts/{draft_id}"): ADMINS,
    ("GET", "/v1/admin/factor-drafts/{draft_id}/what-if"): ADMINS,
    ("POST", "/v1/admin/factor-drafts/{draft_id}/approve"): OPERATORS,
    ("POST", "/v1/admin/factor-drafts/{draft_id}/reject"): OPERATORS,
    ("POST", "/v1/admin/sites"): OPERATORS,
    ("GET", "/v1/admin/sites"): ADMINS,
    ("GET", "/v1/admin/sites/{site_id}"): ADMINS,
    ("PATCH", "/v1/admin/sites/{site_id}"): OPERATORS,
    ("POST", "/v1/admin/sites/{site_id}/keys"): OPERATORS,
    ("POST", "/v1/admin/sites/{site_id}/keys/{key_number}/revoke"): OPERATORS,
    ("POST", "/v1/behaviours"): {Role.resident},
    ("GET", "/v1/me/behaviours"): {Role.resident},
    ("GET", "/v1/me/behaviours/{behaviour_id}"): {Role.resident},
    ("GET", "/v1/me/balance"): {Role.resident},
    ("GET", "/v1/me/leaderboard"): {Role.resident},
    ("GET", "/v1/leaderboards/residents"): set(Role),
    ("GET", "/v1/leaderboards/residents/{handle}"): set(Role),
    ("GET", "/v1/leaderboards/groups"): set(Role),
    ("POST", "/v1/partner/behaviours"): PARTNER,
    ("POST", "/v1/partner/links"): PARTNER,
    ("GET", "/v1/partner/links"): PARTNER,
    ("GET", "/v1/partners"): {Role.resident},
    ("GET", "/v1/partners/{code}/consent"): {Role.resident},
    ("POST", "/v1/me/links"): {Role.resident},
    ("GET", "/v1/me/links"): {Role.resident},
    ("DELETE", "/v1/me/links/{link_id}"): {Role.resident},
    ("GET", "/v1/me/links/{link_id}/receipts/{kind}"): {Role.resident},
    ("GET", "/v1/admin/behaviours/pending"): ADMINS,
    ("POST", "/v1/admin/behaviours/{behaviour_id}/review"): OPERATORS,
    ("POST", "/v1/admin/transfers/{transfer_id}/reverse"): OPERATORS,
    ("GET", "/v1/me/credits/expiring"): {Role.resident},
    ("POST", "/v1/enterprises/register"): PUBLIC,
    ("GET", "/v1/admin/enterprises"): ADMINS,
    ("POST", "/v1/admin/enterprises/{enterprise_id}/review"): OPERATORS,
    ("GET", "/v1/rewards"): set(Role),
    ("GET", "/v1/rewards/{reward_id}"): set(Role),
    ("POST", "/v1/rewards/{reward_id}/redeem"): {Role.resident},
    ("GET", "/v1/me/vouchers"): {Role.resident},
    ("GET", "/v1/me/vouchers/{voucher_id}"): {Role.resident},
    ("POST", "/v1/me/vouchers/{voucher_id}/cancel"): {Role.resident},
    ("GET", "/v1/enterprise/me"): {Role.enterprise},
    ("POST", "/v1/enterprise/rewards"): {Role.enterprise},
    ("GET", "/v1/enterprise/rewards"): {Role.enterprise},
    ("PATCH", "/v1/enterprise/rewards/{reward_id}"): {Role.enterprise},
    ("POST", "/v1/enterprise/vouchers/accept"): {Role.enterprise},
    ("POST", "/v1/enterprise/retirements"): {Role.enterprise},
    ("GET", "/v1/enterprise/retirements"): {Role.enterprise},
    ("GET", "/v1/enterprise/application"): {Role.enterprise},
    ("GET", "/v1/enterprise/vouchers"): {Role.enterprise},
    ("GET", "/v1/enterprise/statement"): {Role.enterprise},
    ("GET", "/v1/enterprise/statement.csv"): {Role.enterprise},
    ("POST", "/v1/enterprise/reward-images"): {Role.enterprise},
    ("GET", "/v1/reward-images/{image_id}"): PUBLIC,
    ("GET", "/v1/certificates/{number}"): PUBLIC,
    ("GET", "/v1/me/behaviours/{behaviour_id}/receipt"): {Role.resident},
    ("GET", "/v1/me/receipts/{entry_id}"): {Role.resident},
    ("GET", "/v1/transparency/checkpoint"): PUBLIC,
    ("GET", "/v1/transparency/checkpoints/{tree_size}"): PUBLIC,
    ("GET", "/v1/transparency/consistency"): PUBLIC,
    ("GET", "/v1/transparency/key"): PUBLIC,
    ("POST", "/v1/admin/audit/verify"): ADMINS,
    ("GET", "/v1/admin/audit/actions"): ADMINS,
    ("GET", "/v1/admin/audit/transfers"): ADMINS,
    ("GET", "/v1/admin/audit/transfers/export"): ADMINS,
    ("GET", "/v1/admin/dashboard"): ADMINS,
    ("GET", "/v1/admin/dashboard.csv"): ADMINS,
    ("GET", "/v1/admin/flags"): ADMINS,
    ("POST", "/v1/admin/flags/{flag_id}/resolve"): OPERATORS,
    ("POST", "/v1/admin/residents/{public_id}/freeze"): OPERATORS,
    ("POST", "/v1/admin/residents/{public_id}/unfreeze"): OPERATORS,
    ("GET", "/v1/admin/residents"): ADMINS,
    ("GET", "/v1/admin/residents/{public_id}"): ADMINS,
    ("GET", "/v1/admin/residents/{public_id}/behaviours"): ADMINS,
    ("GET", "/v1/admin/residents/{public_id}/ledger"): ADMINS,
    ("GET", "/v1/admin/residents/{public_id}/flags"): ADMINS,
    ("GET", "/v1/admin/reports/monthly"): ADMINS,
    ("GET", "/v1/admin/reports/monthly.csv"): ADMINS,
    ("POST", "/v1/me/photos"): {Role.resident},
    ("GET", "/v1/admin/photos/{photo_id}"): ADMINS,
    ("GET", "/v1/admin/photos/{photo_id}/content"): SIGNED_LINK,
    ("POST", "/v1/partner/webhooks"): PARTNER,
    ("GET", "/v1/partner/webhooks"): PARTNER,
    ("GET", "/v1/partner/webhooks/{endpoint_id}"): PARTNER,
    ("PATCH", "/v1/partner/webhooks/{endpoint_id}"): PARTNER,
    ("DELETE", "/v1/partner/webhooks/{endpoint_id}"): PARTNER,
    ("POST", "/v1/partner/webhooks/{endpoint_id}/secret"): PARTNER,
    ("GET", "/v1/partner/webhooks/{endpoint_id}/deliveries"): PARTNER,
    ("GET", "/v1/partner/webhooks/{endpoint_id}/deliveries/{delivery_id}"): PARTNER,
    ("POST", "/v1/partner/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver"): PARTNER,
    ("POST", "/v1/enterprise/webhooks"): {Role.enterprise},
    ("GET", "/v1/enterprise/webhooks"): {Role.enterprise},
    ("GET", "/v1/enterprise/webhooks/{endpoint_id}"): {Role.enterprise},
    ("PATCH", "/v1/enterprise/webhooks/{endpoint_id}"): {Role.enterprise},
    ("DELETE", "/v1/enterprise/webhooks/{endpoint_id}"): {Role.enterprise},
    ("POST", "/v1/enterprise/webhooks/{endpoint_id}/secret"): {Role.enterprise},
    ("GET", "/v1/enterprise/webhooks/{endpoint_id}/deliveries"): {Role.enterprise},
    ("GET", "/v1/enterprise/webhooks/{endpoint_id}/deliveries/{delivery_id}"): {Role.enterprise},
    ("POST", "/v1/enterprise/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver"): {Role.enterprise},
}


# Administrator routes a town or community officer may call: each keeps to the officer's community
# (tests/accounts/test_scope.py, tests/audit/test_scope.py). Every other one is the district's.
SCOPED = {
    ("GET", "/v1/admin/behaviours/pending"),
    ("POST", "/v1/admin/behaviours/{behaviour_id}/review"),
    ("GET", "/v1/admin/flags"),
    ("POST", "/v1/admin/flags/{flag_id}/resolve"),
    ("POST", "/v1/admin/residents/{public_id}/freeze"),
    ("POST", "/v1/admin/residents/{public_id}/unfreeze"),
    ("GET", "/v1/admin/photos/{photo_id}"),
    ("POST", "/v1/admin/transfers/{transfer_id}/reverse"),
    ("GET", "/v1/admin/dashboard"),
    ("GET", "/v1/admin/dashboard.csv"),
    ("GET", "/v1/admin/audit/transfers"),
    ("GET", "/v1/admin/audit/transfers/export"),
    ("GET", "/v1/admin/audit/actions"),
    ("GET", "/v1/admin/residents"),
    ("GET", "/v1/admin/residents/{public_id}"),
    ("GET", "/v1/admin/residents/{public_id}/behaviours"),
    ("GET", "/v1/admin/residents/{public_id}/ledger"),
    ("GET", "/v1/admin/residents/{public_id}/flags"),
    ("GET", "/v1/admin/reports/monthly"),
    ("GET", "/v1/admin/reports/monthly.csv"),
}


def _api_routes(api: Api) -> set[tuple[str, str]]:
    paths: dict[str, dict[str, Any]] = api.app.openapi()["paths"]
    return {(method.upper(), path) for path, operations in paths.items() for method in operations}


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


async def test_every_route_has_its_roles_declared_here(api: Api) -> None:
    assert _api_routes(api) == set(ROUTES)


async def test_every_protected_route_refuses_anonymous_callers(client: httpx.AsyncClient) -> None:
    for (method, path), allowed in ROUTES.items():
        if allowed in (PUBLIC, SIGNED_LINK):
            continue
        response = await client.request(method, _concrete(path), json={})
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"


async def test_every_signed_link_route_refuses_a_link_the_service_did_not_sign(client: httpx.AsyncClient) -> None:
    unsigned = "?expires=4102444800&signature=" + "0" * 64
    for (method, path), allowed in ROUTES.items():
        if allowed != SIGNED_LINK:
            continue
        concrete = re.sub(r"\{[^}]+\}", "0b6f3c1e-7d2a-4f8b-9e15-6a4c2d8b3f70", path)
        response = await client.request(method, concrete + unsigned)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["code"] == "PHOTO_LINK_INVALID"


async def test_every_role_protected_route_refuses_every_other_role(
    api: Api,
    sign_in_resident: Callable[[str], Awaitable[dict[str, Any]]],
    sign_in_staff: Callable[..., Awaitable[dict[str, Any]]],
) -> None:
    tokens = {Role.resident: await sign_in_resident("matrix")}
    for role in (Role.enterprise, Role.admin_auditor, Role.admin_operator, Role.admin_super):
        tokens[role] = await sign_in_staff(role)

    for (method, path), allowed in ROUTES.items():
        if not isinstance(allowed, set):
            continue
        for role, pair in tokens.items():
            if role in allowed:
                continue
            response = await api.client.request(method, _concrete(path), json={}, headers=bearer(pair))
            assert response.status_code == 403, (method, path, role, response.text)
            assert response.json()["code"] == "ROLE_NOT_ALLOWED"


async def test_every_district_route_refuses_an_officer_of_one_community(
    api: Api, sign_in_staff: Callable[..., Awaitable[dict[str, Any]]]
) -> None:
    root = await sign_in_staff(Role.admin_super, "root")
    officers = {}
    for role in (Role.admin_auditor, Role.admin_operator):
        username = f"town-{role.value}"
        created = await api.client.post(
            "/v1/admin/users",
            json={
                "username": username,
                "password": STAFF_PASSWORD,
                "display_name": username,
                "role": role.value,
                "scope_community_id": 1,
            },
            headers=bearer(root),
        )
        assert created.status_code == 201, created.text
        login = await api.client.post("/v1/auth/login", json={"username": username, "password": STAFF_PASSWORD})
        officers[role] = login.json()

    assert set(ROUTES) >= SCOPED
    for (method, path), allowed in ROUTES.items():
        if not isinstance(allowed, set) or not allowed <= ADMINS:
            continue  # not administration: a route every staff user or everyone signed in may call
        for role, pair in officers.items():
            if role not in allowed:
                continue
            response = await api.client.request(method, _concrete(path), json={}, headers=bearer(pair))
            refused = response.status_code == 403 and response.json()["code"] == "DISTRICT_ONLY"
            assert refused == ((method, path) not in SCOPED), (method, path, role, response.text)


async def test_a_staff_token_cannot_open_the_partner_endpoint(
    client: httpx.AsyncClient, sign_in_staff: Callable[..., Awaitable[dict[str, Any]]]
) -> None:
    tokens = await sign_in_staff(Role.admin_super)

    response = await client.post("/v1/partner/ping", json={}, headers=bearer(tokens))

    assert response.status_code == 401
    assert response.json()["code"] == "PARTNER_SIGNATURE_INVALID"
