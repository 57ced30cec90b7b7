"""The admin action log: each admin write leaves one line with who, when, what and why, in the same
transaction — a refused action leaves none — and auditors read it; nobody can change it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from service.accounts.models import Role
from tests.conftest import Api, bearer
from tests.fixtures.behaviours import SITE_CODES, Tokens, ago, assert_problem, behaviour, behaviour_body, record_ok
from tests.fixtures.redemption import register_enterprise, review

StaffSignIn = Callable[..., Awaitable[Tokens]]
ACTIONS = "/v1/admin/audit/actions"


async def test_admin_actions_are_logged_with_who_what_and_why_and_refusals_are_not(
    api: Api, sign_in_staff: StaffSignIn, sign_in_resident: Callable[[str], Awaitable[Tokens]]
) -> None:
    client = api.client
    operator = await sign_in_staff(Role.admin_operator)
    auditor = await sign_in_staff(Role.admin_auditor)
    alice = await sign_in_resident("alice")
    ride = await behaviour(
        client,
        alice,
        (await record_ok(client, alice, behaviour_body("metro_ride", "10", ago(hours=2), evidence=SITE_CODES)))["id"],
    )
    enterprise_id, _ = await register_enterprise(client, "津南绿色超市")

    assert (await review(client, operator, enterprise_id, "approve")).status_code == 200
    reversed_ = await client.post(
        f"/v1/admin/transfers/{ride['transfer_id']}/reverse",
        json={"reason": "duplicate ride"},
        headers=bearer(operator),
    )
    assert reversed_.status_code == 201
    again = await client.post(
        f"/v1/admin/transfers/{ride['transfer_id']}/reverse", json={"reason": "again"}, headers=bearer(operator)
    )
    assert_problem(again, 409, "ALREADY_REVERSED")

    page = (await client.get(ACTIONS, headers=bearer(auditor))).json()
    lines = [(a["action"], a["target"], a["reason"]) for a in page["items"]]
    assert lines == [
        ("transfer.reverse", f"transfer:{ride['transfer_id']}", "duplicate ride"),
        ("enterprise.review", f"enterprise:{enterprise_id}", "approve after checking the licence"),
    ]
    operator_id = (await client.get("/v1/staff/me", headers=bearer(operator))).json()["id"]
    assert {a["actor"] for a in page["items"]} == {f"user:{operator_id}"}
    assert page["items"][0]["details"]["reversal"] == reversed_.json()["reversal_transfer_id"]
    assert page["items"][0]["request_id"]

    only = await client.get(ACTIONS, params={"action": "enterprise.review"}, headers=bearer(auditor))
    assert [a["target"] for a in only.json()["items"]] == [f"enterprise:{enterprise_id}"]
    paged = await client.get(ACTIONS, params={"limit": 1}, headers=bearer(auditor))
    rest = await client.get(
        ACTIONS, params={"limit": 1, "cursor": paged.json()["next_cursor"]}, headers=bearer(auditor)
    )
    assert [a["action"] for a in (*paged.json()["items"], *rest.json()["items"])] == [
        "transfer.reverse",
        "enterprise.review",
    ]
    assert_problem(await client.get(ACTIONS, headers=bearer(alice)), 403, "ROLE_NOT_ALLOWED")

    for statement in ("UPDATE audit_action SET reason = 'tidied'", "DELETE FROM audit_action", "TRUNCATE audit_action"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with api.db.engine.begin() as connection:
                await connection.execute(text(statement))
