"""Factor drafts over HTTP: an operator uploads one, reads its differences from the factors in force and what
the last 30 days would have issued under it; a second administrator approves it, which publishes it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from service.accounts.models import Role
from tests.conftest import Api, bearer
from tests.factors import draft_text, latest_text
from tests.fixtures.behaviours import (
    SITE_CODES,
    Json,
    Tokens,
    ago,
    assert_ledger_invariants,
    assert_problem,
    behaviour,
    behaviour_body,
    floor_g,
    record_ok,
)

StaffSignIn = Callable[..., Awaitable[Tokens]]
DRAFTS = "/v1/admin/factor-drafts"


@pytest.fixture
async def alice(sign_in_resident: Callable[[str], Awaitable[Tokens]]) -> Tokens:
    return await sign_in_resident("alice")


@pytest.fixture
async def operator_a(sign_in_staff: StaffSignIn) -> Tokens:
    return await sign_in_staff(Role.admin_operator, "operator-a")


@pytest.fixture
async def operator_b(sign_in_staff: StaffSignIn) -> Tokens:
    return await sign_in_staff(Role.admin_operator, "operator-b")


@pytest.fixture
async def auditor(sign_in_staff: StaffSignIn) -> Tokens:
    return await sign_in_staff(Role.admin_auditor)


async def _upload(client: httpx.AsyncClient, tokens: Tokens, source: str) -> httpx.Response:
    return await client.post(DRAFTS, json={"source": source}, headers=bearer(tokens))


async def _approve(client: httpx.AsyncClient, tokens: Tokens, draft_id: int) -> httpx.Response:
    return await client.post(f"{DRAFTS}/{draft_id}/approve", headers=bearer(tokens))


async def _reject(client: httpx.AsyncClient, tokens: Tokens, draft_id: int, reason: str) -> httpx.Response:
    return await client.post(f"{DRAFTS}/{draft_id}/reject", json={"reason": reason}, headers=bearer(tokens))


async def _get(client: httpx.AsyncClient, tokens: Tokens, path: str) -> Json:
    response = await client.get(path, headers=bearer(tokens))
    assert response.status_code == 200, response.text
    result: Json = response.json()
    return result


async def _actions(client: httpx.AsyncClient, tokens: Tokens) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await _get(client, tokens, "/v1/admin/audit/actions"))["items"]
    return items


def _exact(quantity: str, reduction: str, weight: str) -> int:
    return floor_g(Decimal(quantity) * Decimal(reduction) * Decimal(weight))


async def test_a_draft_shows_its_differences_and_what_if_and_a_second_operator_publishes_it(
    api: Api, client: httpx.AsyncClient, alice: Tokens, operator_a: Tokens, operator_b: Tokens, auditor: Tokens
) -> None:
    metro = await record_ok(client, alice, behaviour_body("metro_ride", "10", ago(hours=6), evidence=SITE_CODES))
    bike = await record_ok(client, alice, behaviour_body("shared_bike", "3.7", ago(hours=4), evidence=SITE_CODES))
    walk = await record_ok(client, alice, behaviour_body("walking", "5000", ago(hours=3)))
    waste = await record_ok(
        client,
        alice,
        behaviour_body("waste_sorting", "2.3", ago(hours=2), category="recyclables", evidence=SITE_CODES),
    )
    issued = {"metro_ride": 468, "shared_bike": 276, "walking": 50, "waste_sorting": 231}
    assert [b["credited_g"] for b in (metro, bike, walk, waste)] == list(issued.values())

    uploaded = await _upload(client, operator_a, draft_text(ago(minutes=30)))
    assert uploaded.status_code == 201, uploaded.text
    draft = uploaded.json()
    assert (draft["status"], draft["version"], draft["stale"]) == ("pending", "2026.3", False)
    draft_id = draft["draft_id"]

    # The differences, figure by figure, against the factors in force.
    detail = await _get(client, auditor, f"{DRAFTS}/{draft_id}")
    rows = {(r["behaviour"], r["parameter"]): r for r in detail["diff"]}
    metro_row = rows["metro_ride", None]
    assert metro_row["change"] == "changed"
    assert set(metro_row["changed_fields"]) == {"baseline_g_per_unit", "reduction_g_per_unit", "valid_from"}
    assert (
        Decimal(metro_row["before"]["reduction_g_per_unit"]),
        Decimal(metro_row["after"]["reduction_g_per_unit"]),
    ) == (
        Decimal("46.8"),
        Decimal("50.0"),
    )
    assert metro_row["before"]["unit"] == metro_row["after"]["unit"] == "km"
    assert rows["shared_bike", None]["changed_fields"] == ["valid_from", "weights"]
    assert rows["waste_sorting", "textiles"]["change"] == "added"
    assert rows["waste_sorting", "textiles"]["before"] is None
    assert rows["waste_sorting", "hazardous"]["change"] == "removed"
    assert rows["waste_sorting", "hazardous"]["after"] is None
    assert [v["version"] for v in detail["in_force"]] == ["2026.2"]
    assert "2026.3" in detail["source"]

    # What the last 30 days would have issued, recomputed by hand.
    what_if = await _get(client, operator_a, f"{DRAFTS}/{draft_id}/what-if")
    after = {
        "metro_ride": _exact("10", "50.0", "1"),
        "shared_bike": _exact("3.7", "93.3", "0.9"),
        "walking": _exact("5000", "0.03", "0.5"),
        "waste_sorting": _exact("2.3", "250", "0.5"),
    }
    assert after == {"metro_ride": 500, "shared_bike": 310, "walking": 75, "waste_sorting": 287}
    by_type = {row["behaviour"]: row for row in what_if["by_type"]}
    assert set(by_type) == set(issued)
    for type_, row in by_type.items():
        assert (row["behaviours"], row["issued_g"], row["before_g"], row["after_g"]) == (
            1,
            issued[type_],
            issued[type_],
            after[type_],
        ), type_
        assert row["difference_g"] == after[type_] - issued[type_]
    total = what_if["total"]
    assert (total["behaviours"], total["issued_g"], total["after_g"]) == (4, 1025, 1172)
    assert total["difference_g"] == 147
    assert what_if["caps_applied"] is False

    # Not by its uploader, not by an auditor; then by a second operator.
    assert_problem(await _approve(client, operator_a, draft_id), 403, "FACTOR_DRAFT_OWN_APPROVAL")
    assert_problem(await _approve(client, auditor, draft_id), 403, "ROLE_NOT_ALLOWED")
    assert [v["version"] for v in (await client.get("/v1/factors/versions")).json()] == ["2026.1", "2026.2"]
    approved = await _approve(client, operator_b, draft_id)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    version_id = approved.json()["version_id"]
    assert_problem(await _approve(client, operator_b, draft_id), 409, "FACTOR_DRAFT_DECIDED")

    version = (await client.get(f"/v1/factors/versions/{version_id}")).json()
    assert version["version"]["version"] == "2026.3"
    entries = {(e["behaviour"], e["parameter"]): e for e in version["entries"]}
    assert Decimal(entries["metro_ride", None]["reduction_g_per_unit"]) == Decimal("50.0")
    assert version["published_by"] != draft["uploaded_by"]

    # New behaviours use the new factors; earlier credits keep theirs.
    ride = behaviour_body("metro_ride", "10", ago(minutes=14), ended_at=ago(seconds=10), evidence=SITE_CODES)
    later = await record_ok(client, alice, ride)
    assert (later["factor"]["version_id"], later["credited_g"]) == (version_id, 500)
    kept = await behaviour(client, alice, metro["id"])
    assert (kept["factor"]["version"], kept["credited_g"]) == ("2026.2", 468)
    logged = [(a["action"], a["target"]) for a in await _actions(client, auditor)]
    assert ("factor.publish", f"factor_version:{version_id}") in logged
    assert ("factor.draft.upload", f"factor_draft:{draft_id}") in logged
    await assert_ledger_invariants(api)


async def test_a_bad_draft_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, operator_a: Tokens, auditor: Tokens
) -> None:
    unbalanced = draft_text(ago(minutes=1)).replace('reduction_g_per_unit = "50.0"', 'reduction_g_per_unit = "52.0"')

    wrong = assert_problem(await _upload(client, operator_a, unbalanced), 422, "FACTOR_FILE_INVALID")
    assert_problem(await _upload(client, operator_a, "set = [unclosed"), 422, "FACTOR_FILE_INVALID")
    assert_problem(await _upload(client, operator_a, latest_text()), 409, "FACTOR_VERSION_EXISTS")
    assert_problem(await _upload(client, auditor, draft_text(ago(minutes=1))), 403, "ROLE_NOT_ALLOWED")

    assert "behaviour.metro_ride" in [e["field"] for e in wrong["errors"]]
    assert (await _get(client, auditor, DRAFTS))["items"] == []
    assert not [a for a in await _actions(client, auditor) if a["action"].startswith("factor.")]


async def test_a_draft_is_withdrawn_by_its_uploader_or_rejected_by_another_with_a_reason(
    client: httpx.AsyncClient, operator_a: Tokens, operator_b: Tokens, auditor: Tokens
) -> None:
    first = (await _upload(client, operator_a, draft_text(ago(minutes=1)))).json()["draft_id"]
    second = (await _upload(client, operator_a, draft_text(ago(minutes=1)))).json()["draft_id"]

    assert_problem(await _reject(client, auditor, first, "no"), 403, "ROLE_NOT_ALLOWED")
    assert_problem(await _reject(client, operator_b, first, ""), 422, "VALIDATION_FAILED")
    withdrawn = await _reject(client, operator_a, first, "上传错了文件")
    rejected = await _reject(client, operator_b, second, "步行系数来源未核实")

    assert withdrawn.status_code == rejected.status_code == 200, (withdrawn.text, rejected.text)
    assert (withdrawn.json()["status"], withdrawn.json()["reason"]) == ("withdrawn", "上传错了文件")
    assert (rejected.json()["status"], rejected.json()["decided_by"]) == ("rejected", rejected.json()["decided_by"])
    assert rejected.json()["decided_by"] != rejected.json()["uploaded_by"]
    assert_problem(await _approve(client, operator_b, second), 409, "FACTOR_DRAFT_DECIDED")
    page = await _get(client, auditor, f"{DRAFTS}?status=rejected")
    assert [d["draft_id"] for d in page["items"]] == [second]
    logged = [a["action"] for a in await _actions(client, auditor)]
    assert {"factor.draft.withdraw", "factor.draft.reject"} <= set(logged)
    assert [v["version"] for v in (await client.get("/v1/factors/versions")).json()] == ["2026.1", "2026.2"]


async def test_a_draft_whose_version_was_published_since_is_refused(
    client: httpx.AsyncClient, operator_a: Tokens, operator_b: Tokens
) -> None:
    first = (await _upload(client, operator_a, draft_text(ago(minutes=1)))).json()["draft_id"]
    other = draft_text(ago(minutes=1)).replace('reduction_g_per_unit = "250"', 'reduction_g_per_unit = "240"')
    other = other.replace('project_g_per_unit = "436"', 'project_g_per_unit = "446"')
    second = (await _upload(client, operator_a, other)).json()["draft_id"]
    assert (await _approve(client, operator_b, first)).status_code == 200

    assert_problem(await _approve(client, operator_b, second), 409, "FACTOR_DRAFT_STALE")

    read = await _get(client, operator_b, f"{DRAFTS}/{second}")
    assert (read["draft"]["status"], read["draft"]["stale"]) == ("pending", True)
    listed = {d["draft_id"]: d for d in (await _get(client, operator_b, DRAFTS))["items"]}
    assert listed[second]["stale"] is True
    assert listed[first]["status"] == "approved"


async def test_an_unknown_draft_or_version_is_not_found(client: httpx.AsyncClient, auditor: Tokens) -> None:
    assert_problem(await client.get(f"{DRAFTS}/999", headers=bearer(auditor)), 404, "FACTOR_DRAFT_NOT_FOUND")
    assert_problem(await client.get(f"{DRAFTS}/999/what-if", headers=bearer(auditor)), 404, "FACTOR_DRAFT_NOT_FOUND")
    assert_problem(await client.get("/v1/factors/versions/999"), 404, "FACTOR_VERSION_NOT_FOUND")
    shipped = (await client.get("/v1/factors/versions")).json()[0]
    read = (await client.get(f"/v1/factors/versions/{shipped['version_id']}")).json()
    assert len({e["behaviour"] for e in read["entries"]}) == 7
