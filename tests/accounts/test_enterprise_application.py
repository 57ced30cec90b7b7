"""An applicant follows its enterprise's application: pending at first, then the operator's decision and
reason; it reads its own application only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from service.accounts.models import Role
from tests.conftest import bearer
from tests.fixtures.behaviours import Tokens
from tests.fixtures.redemption import refreshed, register_enterprise, review

APPLICATION = "/v1/enterprise/application"


async def test_an_applicant_sees_its_status_and_the_reason_for_a_rejection(
    client: httpx.AsyncClient, sign_in_staff: Callable[..., Awaitable[Tokens]]
) -> None:
    operator = await sign_in_staff(Role.admin_operator)
    enterprise_id, applicant = await register_enterprise(client, "海河低碳书店")
    other_id, _ = await register_enterprise(client, "津南低碳面包")

    pending = await client.get(APPLICATION, headers=bearer(applicant))
    assert pending.status_code == 200, pending.text
    assert (pending.json()["id"], pending.json()["status"], pending.json()["review_reason"]) == (
        enterprise_id,
        "pending",
        None,
    )
    assert "contact_phone" not in pending.json()

    assert (await review(client, operator, enterprise_id, "reject")).status_code == 200
    applicant = await refreshed(client, applicant)
    rejected = (await client.get(APPLICATION, headers=bearer(applicant))).json()
    assert (rejected["status"], rejected["review_reason"]) == ("rejected", "reject after checking the licence")
    assert rejected["reviewed_at"] is not None
    assert other_id != rejected["id"]
