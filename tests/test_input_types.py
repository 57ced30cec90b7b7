"""The API reads its input as the document types it and answers as the document says: no `0` for false,
no `"5"` for 5, no number for a date; the example cursors work; a 405 names every method of its path."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.accounts.models import Role
from tests.conftest import bearer
from tests.fixtures.behaviours import assert_problem, create_partner

DOCUMENT = json.loads((Path(__file__).resolve().parents[1] / "mobile_api_docs" / "openapi.json").read_text())
SignIn = Callable[..., Awaitable[dict[str, Any]]]


@pytest.mark.parametrize(
    "path", ["/v1/leaderboards/residents?on=0", "/v1/leaderboards/groups?on=20261123", "/v1/me/leaderboard?on=0"]
)
async def test_a_date_parameter_is_a_date_not_a_number(
    client: httpx.AsyncClient, sign_in_resident: SignIn, path: str
) -> None:
    response = await client.get(path, headers=bearer(await sign_in_resident("alice")))

    body = assert_problem(response, 422, "VALIDATION_FAILED")
    assert body["errors"][0]["field"] == "on"


@pytest.mark.parametrize("query", ["until=0.5", "since=1700000000", "until=2026-12-01"])
async def test_a_time_parameter_is_rfc_3339_text_not_a_number(
    client: httpx.AsyncClient, sign_in_staff: SignIn, query: str
) -> None:
    admin = bearer(await sign_in_staff(Role.admin_super))

    for path in ("/v1/admin/audit/transfers/export", "/v1/admin/audit/actions"):
        assert_problem(await client.get(f"{path}?{query}", headers=admin), 422, "VALIDATION_FAILED")
    assert (await client.get("/v1/admin/audit/actions?until=2026-12-01T00:00:00%2B08:00", headers=admin)).is_success


async def test_a_boolean_is_true_or_false_and_a_refusal_changes_nothing(
    client: httpx.AsyncClient, sign_in_staff: SignIn, sign_in_resident: SignIn
) -> None:
    admin = bearer(await sign_in_staff(Role.admin_super))
    operator = await sign_in_staff(Role.admin_operator, "ops")
    operator_id = next(
        u["id"] for u in (await client.get("/v1/admin/users", headers=admin)).json()["items"] if u["username"] == "ops"
    )
    resident = bearer(await sign_in_resident("alice"))

    for value in (0, 1, "true", "false", None):
        refused = await client.patch(f"/v1/admin/users/{operator_id}", json={"disabled": value}, headers=admin)
        assert_problem(refused, 422, "VALIDATION_FAILED")
    assert_problem(
        await client.patch("/v1/me", json={"leaderboard_visible": 0}, headers=resident), 422, "VALIDATION_FAILED"
    )

    assert (await client.get("/v1/admin/users", headers=bearer(operator))).status_code == 200
    assert (await client.get("/v1/me", headers=resident)).json()["leaderboard_visible"] is True


async def test_an_integer_is_a_json_number_not_its_text(client: httpx.AsyncClient, sign_in_resident: SignIn) -> None:
    resident = bearer(await sign_in_resident("alice"))

    refused = await client.patch("/v1/me", json={"community_id": "1"}, headers=resident)
    taken = await client.patch("/v1/me", json={"community_id": 1.0}, headers=resident)

    assert_problem(refused, 422, "VALIDATION_FAILED")
    assert taken.status_code == 200, taken.text  # 1.0 is the integer 1 to JSON
    assert taken.json()["community"]["id"] == 1


def _documented_cursors() -> list[tuple[str, str]]:
    found = []
    for path, operations in DOCUMENT["paths"].items():
        for parameter in operations.get("get", {}).get("parameters", []):
            if parameter["name"] == "cursor" and "{" not in path:
                found.append((path, parameter["schema"]["examples"][0]))
    return found


async def test_every_documented_example_cursor_is_one_the_list_takes(
    client: httpx.AsyncClient, sign_in_resident: SignIn, sign_in_staff: SignIn
) -> None:
    cursors = _documented_cursors()
    assert len(cursors) >= 8
    super_admin = await sign_in_staff(Role.admin_super)
    partner = await create_partner(client, super_admin)
    headers = {
        "/v1/admin/": bearer(super_admin),
        "/v1/staff/": bearer(await sign_in_staff(Role.admin_operator)),
        "/v1/enterprise/": bearer(await sign_in_staff(Role.enterprise)),
        "/v1/": bearer(await sign_in_resident("alice")),
    }

    for path, cursor in cursors:
        if path.startswith("/v1/partner/"):  # a partner signs its requests instead
            response = await partner.signed("GET", f"{path}?cursor={cursor}")
        else:
            caller = next(token for prefix, token in headers.items() if path.startswith(prefix))
            response = await client.get(path, params={"cursor": cursor}, headers=caller)
        assert response.status_code == 200, f"{path} refused its own example cursor {cursor}: {response.text}"


@pytest.mark.parametrize("path", ["/v1/me", "/v1/admin/users", "/v1/enterprise/rewards", "/v1/communities"])
async def test_a_405_names_every_method_its_path_serves(client: httpx.AsyncClient, path: str) -> None:
    documented = {method.upper() for method in DOCUMENT["paths"][path]}

    response = await client.request("OPTIONS", path)

    assert_problem(response, 405, "METHOD_NOT_ALLOWED")
    assert set(response.headers["allow"].split(", ")) == documented
    if path != "/v1/communities":
        assert len(documented) > 1


def test_every_operation_with_a_body_documents_its_413() -> None:
    with_body = [
        (method, path)
        for path, operations in DOCUMENT["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    ]
    assert with_body
    for method, path in with_body:
        response = DOCUMENT["paths"][path][method]["responses"].get("413")
        assert response is not None, f"{method.upper()} {path} does not document 413"
        assert {"BODY_TOO_LARGE", "PHOTO_TOO_LARGE"} & set(response["content"]["application/problem+json"]["examples"])
