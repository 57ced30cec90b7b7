"""Administrators read one resident: found by public id or board pseudonym, their page (masked nickname,
community, frozen state, balance, what expires soon, counts), behaviours, ledger entries and flags, each
read logged. Auditors read and cannot freeze; residents and enterprises read nothing; no reply carries a
WeChat id."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx

from service.accounts.models import Role
from service.ingest import fraud
from tests.conftest import Api, bearer
from tests.fixtures.behaviours import (
    Json,
    Tokens,
    ago,
    assert_problem,
    behaviour_body,
    public_id,
    record,
    record_ok,
)
from tests.fixtures.redemption import RIDE_G, earn

StaffSignIn = Callable[..., Awaitable[dict[str, Any]]]
RESIDENTS = "/v1/admin/residents"
NAME = "admin-reads-probe"
OPENID = f"dev:{NAME}"


async def _resident_with_history(api: Api, client: httpx.AsyncClient) -> tuple[Tokens, str, Json]:
    """A resident of the first community, nicknamed, with two credited rides, one report held for review,
    and a flag for three made-up site codes."""
    tokens: Tokens = (await client.post("/v1/auth/dev", json={"name": NAME})).json()
    community = (await client.get("/v1/communities")).json()[0]
    changed = await client.patch(
        "/v1/me", json={"nickname": "张晓丰", "community_id": community["id"]}, headers=bearer(tokens)
    )
    assert changed.status_code == 200, changed.text
    await earn(client, tokens, rides=2, first_hours_ago=3)
    held = await record_ok(client, tokens, behaviour_body("waste_sorting", "2", ago(hours=1), category="kitchen_waste"))
    assert held["status"] == "pending_review", held
    for n in range(3):
        start = ago(hours=8 + n)
        body = behaviour_body("metro_ride", "10", start, ended_at=start + timedelta(minutes=20))
        body["evidence"] = {"start_code": f"TPH1:{n}"}
        assert_problem(await record(client, tokens, body), 422, "SITE_CODE_MALFORMED")
    scanned = await fraud.scan_once(api.db, api.app.state.factor_cache, fraud.Thresholds.of(api.settings))
    assert scanned is not None
    assert scanned.raised == 1
    return tokens, await public_id(client, tokens), community


async def test_an_auditor_reads_a_residents_page_history_ledger_and_flags(
    api: Api, client: httpx.AsyncClient, sign_in_staff: StaffSignIn
) -> None:
    tokens, resident_id, community = await _resident_with_history(api, client)
    handle = (await client.get("/v1/me", headers=bearer(tokens))).json()["handle"]
    auditor = await sign_in_staff(Role.admin_auditor, "auditor-wu")
    replies: list[httpx.Response] = []

    async def read(path: str, **params: Any) -> Json:
        response = await client.get(path, params=params, headers=bearer(auditor))
        assert response.status_code == 200, response.text
        replies.append(response)
        body: Json = response.json()
        return body

    by_handle = await read(RESIDENTS, q=handle)
    by_id = await read(RESIDENTS, q=resident_id)
    assert [r["id"] for r in by_handle["items"]] == [resident_id] == [r["id"] for r in by_id["items"]]
    assert (await read(RESIDENTS, q="r-0000000000000000"))["items"] == []

    profile = await read(f"{RESIDENTS}/{resident_id}")
    assert profile["nickname"] == "张*丰"
    assert profile["handle"] == handle
    assert profile["community"]["id"] == community["id"]
    assert (profile["frozen"], profile["frozen_reason"], profile["deleted_at"]) == (False, None, None)
    assert profile["balance"] == {"balance_g": 2 * RIDE_G, "credited_total_g": 2 * RIDE_G}
    assert profile["expiring"]["total_g"] == 0
    assert profile["counts"] == {"behaviours": 3, "pending_review": 1, "flags": 1, "open_flags": 1}

    first = await read(f"{RESIDENTS}/{resident_id}/behaviours", limit=2)
    rest = await read(f"{RESIDENTS}/{resident_id}/behaviours", limit=2, cursor=first["next_cursor"])
    behaviours = first["items"] + rest["items"]
    assert rest["next_cursor"] is None
    assert [(b["type"], b["status"], b["credited_g"]) for b in behaviours] == [
        ("waste_sorting", "pending_review", 0),
        ("metro_ride", "credited", RIDE_G),
        ("metro_ride", "credited", RIDE_G),
    ]
    assert {b["calculation"]["tier"] for b in behaviours[1:]} == {"evidence"}
    assert all(b["factor"]["version"] for b in behaviours)

    ledger = await read(f"{RESIDENTS}/{resident_id}/ledger")
    assert [(e["kind"], e["amount_g"]) for e in ledger["items"]] == [("issuance", RIDE_G), ("issuance", RIDE_G)]
    assert ledger["items"][0]["id"] > ledger["items"][1]["id"]
    assert {e["behaviour_id"] for e in ledger["items"]} == {b["id"] for b in behaviours[1:]}

    flags = await read(f"{RESIDENTS}/{resident_id}/flags")
    assert [(f["kind"], f["resident_id"], f["resolution"]) for f in flags["items"]] == [
        ("refused_evidence", resident_id, None)
    ]

    for reply in replies:
        assert OPENID not in reply.text
        assert "openid" not in reply.text
    logged = await client.get(
        "/v1/admin/audit/actions", params={"action": "resident.view", "limit": 50}, headers=bearer(auditor)
    )
    views = [(a["target"], a["details"]["part"]) for a in logged.json()["items"]]
    assert sorted(views) == sorted(
        [(f"resident:{handle}", part) for part in ("search", "search", "profile", "behaviours")]
        + [(f"resident:{handle}", part) for part in ("behaviours", "ledger", "flags")]
    )


async def test_the_page_follows_a_reversal_and_the_review_queue_names_the_resident(
    api: Api, client: httpx.AsyncClient, sign_in_staff: StaffSignIn
) -> None:
    _, resident_id, _ = await _resident_with_history(api, client)
    operator = await sign_in_staff(Role.admin_operator, "ops-li")
    ledger = (await client.get(f"{RESIDENTS}/{resident_id}/ledger", headers=bearer(operator))).json()
    reversed_ = await client.post(
        f"/v1/admin/transfers/{ledger['items'][0]['transfer_id']}/reverse",
        json={"reason": "Duplicate of a gate record"},
        headers=bearer(operator),
    )
    assert reversed_.status_code == 201, reversed_.text

    ledger = (await client.get(f"{RESIDENTS}/{resident_id}/ledger", headers=bearer(operator))).json()
    profile = (await client.get(f"{RESIDENTS}/{resident_id}", headers=bearer(operator))).json()
    queue = await client.get("/v1/admin/behaviours/pending", headers=bearer(operator))

    newest = ledger["items"][0]
    assert (newest["kind"], newest["amount_g"], newest["reason"]) == (
        "reversal",
        -RIDE_G,
        "Duplicate of a gate record",
    )
    assert profile["balance"] == {"balance_g": RIDE_G, "credited_total_g": 2 * RIDE_G}
    assert [item["resident_id"] for item in queue.json()["items"]] == [resident_id]
    assert OPENID not in queue.text


async def test_an_auditor_cannot_freeze_and_an_operators_freeze_shows_on_the_page(
    client: httpx.AsyncClient, sign_in_staff: StaffSignIn
) -> None:
    tokens: Tokens = (await client.post("/v1/auth/dev", json={"name": NAME})).json()
    resident_id = await public_id(client, tokens)
    auditor = await sign_in_staff(Role.admin_auditor, "auditor-wu")
    operator = await sign_in_staff(Role.admin_operator, "ops-li")
    reason = {"reason": "同一设备注册多个账号"}

    refused = await client.post(f"{RESIDENTS}/{resident_id}/freeze", json=reason, headers=bearer(auditor))
    assert_problem(refused, 403, "ROLE_NOT_ALLOWED")
    assert (await client.get(f"{RESIDENTS}/{resident_id}", headers=bearer(auditor))).json()["frozen"] is False

    frozen = await client.post(f"{RESIDENTS}/{resident_id}/freeze", json=reason, headers=bearer(operator))
    assert frozen.status_code == 200, frozen.text
    page = (await client.get(f"{RESIDENTS}/{resident_id}", headers=bearer(auditor))).json()
    assert (page["frozen"], page["frozen_reason"]) == (True, "同一设备注册多个账号")
    found = (await client.get(RESIDENTS, params={"q": resident_id}, headers=bearer(auditor))).json()
    assert found["items"][0]["frozen"] is True

    thawed = await client.post(f"{RESIDENTS}/{resident_id}/unfreeze", json=reason, headers=bearer(operator))
    assert thawed.status_code == 200, thawed.text
    page = (await client.get(f"{RESIDENTS}/{resident_id}", headers=bearer(auditor))).json()
    assert (page["frozen"], page["frozen_at"], page["frozen_reason"]) == (False, None, None)


async def test_residents_and_enterprises_read_no_resident(
    client: httpx.AsyncClient, sign_in_staff: StaffSignIn
) -> None:
    alice: Tokens = (await client.post("/v1/auth/dev", json={"name": "alice"})).json()
    resident_id = await public_id(client, alice)
    enterprise = await sign_in_staff(Role.enterprise, "counter")

    for tokens in (alice, enterprise):
        for path in (
            RESIDENTS + f"?q={resident_id}",
            *(f"{RESIDENTS}/{resident_id}{p}" for p in ("", "/behaviours", "/ledger", "/flags")),
        ):
            assert_problem(await client.get(path, headers=bearer(tokens)), 403, "ROLE_NOT_ALLOWED")


async def test_an_unknown_resident_is_not_found_and_bad_input_is_refused(
    client: httpx.AsyncClient, sign_in_staff: StaffSignIn
) -> None:
    auditor = await sign_in_staff(Role.admin_auditor, "auditor-wu")
    nobody = uuid.uuid4()

    for part in ("", "/behaviours", "/ledger", "/flags"):
        assert_problem(await client.get(f"{RESIDENTS}/{nobody}{part}", headers=bearer(auditor)), 404, "NOT_FOUND")
    assert_problem(await client.get(f"{RESIDENTS}/not-an-id", headers=bearer(auditor)), 422, "VALIDATION_FAILED")
    assert_problem(await client.get(RESIDENTS, params={"q": ""}, headers=bearer(auditor)), 422, "VALIDATION_FAILED")
    assert_problem(
        await client.get(f"{RESIDENTS}/{nobody}/ledger", params={"cursor": "nonsense"}, headers=bearer(auditor)),
        404,
        "NOT_FOUND",
    )
    logged = await client.get("/v1/admin/audit/actions", params={"action": "resident.view"}, headers=bearer(auditor))
    assert logged.json()["items"] == []
