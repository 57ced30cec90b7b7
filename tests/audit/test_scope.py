"""A town officer reaches its own town's residents only: their held reports, flags, photos, credits and
figures. Another town's are absent from every list, count and export, answer 404 when named, and are
left unchanged; asking for another town's figures is 403 OUTSIDE_SCOPE."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from service.accounts.models import Role
from tests.conftest import Api, bearer
from tests.fixtures.behaviours import assert_problem
from tests.fixtures.towns import Towns, two_towns

SignIn = Callable[..., Awaitable[dict[str, Any]]]
REASON = {"reason": "checked against the station's scale log"}


@pytest.fixture
async def towns(api: Api, sign_in_staff: SignIn) -> Towns:
    return await two_towns(api, await sign_in_staff(Role.admin_super, "root"))


async def test_an_officer_lists_its_own_towns_held_reports_and_flags_only(api: Api, towns: Towns) -> None:
    client = api.client
    for officer in (towns.operator, towns.auditor):
        pending = (await client.get("/v1/admin/behaviours/pending", headers=bearer(officer))).json()["items"]
        assert [item["id"] for item in pending] == [towns.xsg.held_id]
        flags = (await client.get("/v1/admin/flags", params={"status": "all"}, headers=bearer(officer))).json()
        assert [flag["id"] for flag in flags["items"]] == [towns.xsg.flag_id]
    district = (await client.get("/v1/admin/behaviours/pending", headers=bearer(towns.root))).json()["items"]
    assert {item["id"] for item in district} == {towns.xsg.held_id, towns.gegu.held_id}

    own = await client.get(
        "/v1/admin/behaviours/pending", params={"community_id": towns.xsg.community_id}, headers=bearer(towns.auditor)
    )
    assert [item["id"] for item in own.json()["items"]] == [towns.xsg.held_id]
    for path in ("/v1/admin/behaviours/pending", "/v1/admin/flags", "/v1/admin/dashboard", "/v1/admin/audit/transfers"):
        other = await client.get(
            path,
            params={"community_id": towns.gegu.community_id, "start": "2026-01-01", "end": "2027-01-01"},
            headers=bearer(towns.auditor),
        )
        assert_problem(other, 403, "OUTSIDE_SCOPE")
    # a district administrator narrows the queue to one town
    narrowed = await client.get(
        "/v1/admin/behaviours/pending", params={"community_id": towns.gegu.community_id}, headers=bearer(towns.root)
    )
    assert [item["id"] for item in narrowed.json()["items"]] == [towns.gegu.held_id]


async def test_an_officer_cannot_review_resolve_freeze_or_see_the_evidence_of_another_town(
    api: Api, towns: Towns
) -> None:
    client, ops, gegu = api.client, bearer(towns.operator), towns.gegu

    review = await client.post(
        f"/v1/admin/behaviours/{gegu.held_id}/review", json={"approve": True, **REASON}, headers=ops
    )
    assert_problem(review, 404, "NOT_FOUND")
    resolve = await client.post(
        f"/v1/admin/flags/{gegu.flag_id}/resolve", json={"resolution": "confirmed", **REASON}, headers=ops
    )
    assert_problem(resolve, 404, "NOT_FOUND")
    freeze = await client.post(f"/v1/admin/residents/{gegu.resident_public_id}/freeze", json=REASON, headers=ops)
    assert_problem(freeze, 404, "NOT_FOUND")
    photo = await client.get(f"/v1/admin/photos/{gegu.photo_id}", headers=ops)
    assert_problem(photo, 404, "PHOTO_NOT_FOUND")
    reverse = await client.post(f"/v1/admin/transfers/{gegu.walk['transfer_id']}/reverse", json=REASON, headers=ops)
    assert_problem(reverse, 404, "TRANSFER_NOT_FOUND")

    # nothing of Gegu's changed: its report is still held, its flag open, its resident free and credited
    root = bearer(towns.root)
    pending = (await client.get("/v1/admin/behaviours/pending", headers=root)).json()["items"]
    assert gegu.held_id in {item["id"] for item in pending}
    open_flags = (await client.get("/v1/admin/flags", headers=root)).json()["items"]
    assert gegu.flag_id in {flag["id"] for flag in open_flags}
    balance = (await client.get("/v1/me/balance", headers=bearer(gegu.resident))).json()
    assert balance["balance_g"] == gegu.walk["credited_g"]
    assert (await client.get(f"/v1/admin/photos/{gegu.photo_id}", headers=root)).status_code == 200

    # its own town's, the same officer reaches
    xsg = towns.xsg
    assert (await client.get(f"/v1/admin/photos/{xsg.photo_id}", headers=ops)).status_code == 200
    approved = await client.post(
        f"/v1/admin/behaviours/{xsg.held_id}/review", json={"approve": True, **REASON}, headers=ops
    )
    assert approved.status_code == 200, approved.text
    resolved = await client.post(
        f"/v1/admin/flags/{xsg.flag_id}/resolve", json={"resolution": "confirmed", **REASON}, headers=ops
    )
    assert resolved.status_code == 200, resolved.text
    frozen = await client.post(f"/v1/admin/residents/{xsg.resident_public_id}/freeze", json=REASON, headers=ops)
    assert frozen.status_code == 200, frozen.text
    reversed_ = await client.post(f"/v1/admin/transfers/{xsg.walk['transfer_id']}/reverse", json=REASON, headers=ops)
    assert reversed_.status_code == 201, reversed_.text


async def test_an_officers_dashboard_and_its_csv_count_its_own_town_only(api: Api, towns: Towns) -> None:
    client = api.client
    window = {"start": "2020-01-01", "end": "2030-01-01", "group_by": "month"}
    district = (await client.get("/v1/admin/dashboard", params=window, headers=bearer(towns.root))).json()
    town = (await client.get("/v1/admin/dashboard", params=window, headers=bearer(towns.auditor))).json()

    xsg_g, gegu_g = towns.xsg.walk["credited_g"], towns.gegu.walk["credited_g"]
    assert district["totals"]["credited_g"] == xsg_g + gegu_g
    assert (district["totals"]["active_residents"], district["totals"]["registered_residents"]) == (2, 2)
    assert town["totals"]["credited_g"] == xsg_g
    assert (town["totals"]["behaviours"], town["totals"]["active_residents"]) == (1, 1)
    assert town["totals"]["registered_residents"] == 1
    assert [(c["community_id"], c["credited_g"]) for c in town["by_community"]] == [(towns.xsg.community_id, xsg_g)]
    assert sum(p["credited_g"] for p in town["by_period"]) == xsg_g
    assert sum(b["credited_g"] for b in town["by_behaviour"]) == xsg_g
    # a district administrator asking for one town gets the officer's figures
    narrowed = await client.get(
        "/v1/admin/dashboard", params={**window, "community_id": towns.xsg.community_id}, headers=bearer(towns.root)
    )
    assert narrowed.json()["totals"] == town["totals"]

    sheet = await client.get("/v1/admin/dashboard.csv", params=window, headers=bearer(towns.auditor))
    assert sheet.status_code == 200, sheet.text
    rows = list(csv.reader(io.StringIO(sheet.text)))
    communities = [row for row in rows if row[0] == "community"]
    assert communities == [["community", towns.xsg.name_zh, str(xsg_g), communities[0][3], "", "1"]]
    assert towns.gegu.name_zh not in sheet.text
    total = next(row for row in rows if row[0] == "total")
    assert total[2] == str(xsg_g)


async def test_an_officers_ledger_search_and_export_hold_its_own_towns_transfers_only(api: Api, towns: Towns) -> None:
    client = api.client
    mine, theirs = towns.xsg.walk["transfer_id"], towns.gegu.walk["transfer_id"]
    district = (await client.get("/v1/admin/audit/transfers", headers=bearer(towns.root))).json()["items"]
    assert {mine, theirs} <= {t["id"] for t in district}

    found = (await client.get("/v1/admin/audit/transfers", headers=bearer(towns.auditor))).json()["items"]
    assert [t["id"] for t in found] == [mine]
    for fmt in ("csv", "jsonl"):
        export = await client.get(
            "/v1/admin/audit/transfers/export", params={"format": fmt}, headers=bearer(towns.auditor)
        )
        assert export.status_code == 200, export.text
        if fmt == "csv":
            ids = [int(row["id"]) for row in csv.DictReader(io.StringIO(export.text))]
        else:
            ids = [json.loads(line)["id"] for line in export.text.splitlines()]
        assert ids == [mine]
    # naming Gegu's resident's account finds nothing either
    gegu_account = next(t["credit_account_id"] for t in district if t["id"] == theirs)
    named = await client.get(
        "/v1/admin/audit/transfers", params={"account_id": gegu_account}, headers=bearer(towns.auditor)
    )
    assert named.json()["items"] == []


async def test_an_officer_reads_its_own_actions_in_the_log(api: Api, towns: Towns) -> None:
    client, ops = api.client, bearer(towns.operator)
    frozen = await client.post(f"/v1/admin/residents/{towns.xsg.resident_public_id}/freeze", json=REASON, headers=ops)
    assert frozen.status_code == 200, frozen.text
    me = (await client.get("/v1/staff/me", headers=ops)).json()

    log = (await client.get("/v1/admin/audit/actions", headers=ops)).json()["items"]
    assert [(a["action"], a["actor"]) for a in log] == [("resident.freeze", f"user:{me['id']}")]
    district = (await client.get("/v1/admin/audit/actions", headers=bearer(towns.root))).json()["items"]
    assert {"user.create", "resident.freeze"} <= {a["action"] for a in district}
    other = await client.get("/v1/admin/audit/actions", params={"actor": "cli"}, headers=ops)
    assert_problem(other, 403, "OUTSIDE_SCOPE")


async def test_an_officer_reads_its_own_towns_residents_and_monthly_report_only(api: Api, towns: Towns) -> None:
    client, auditor = api.client, bearer(towns.auditor)
    xsg, gegu = towns.xsg, towns.gegu

    for part in ("", "/behaviours", "/ledger", "/flags"):
        own = await client.get(f"/v1/admin/residents/{xsg.resident_public_id}{part}", headers=auditor)
        assert own.status_code == 200, (part, own.text)
        other = await client.get(f"/v1/admin/residents/{gegu.resident_public_id}{part}", headers=auditor)
        assert_problem(other, 404, "NOT_FOUND")
    found = await client.get("/v1/admin/residents", params={"q": gegu.resident_public_id}, headers=auditor)
    assert found.json()["items"] == []
    found = await client.get("/v1/admin/residents", params={"q": xsg.resident_public_id}, headers=auditor)
    assert [r["id"] for r in found.json()["items"]] == [xsg.resident_public_id]

    month = xsg.walk["occurred_at"][:7]
    report = (await client.get("/v1/admin/reports/monthly", params={"month": month}, headers=auditor)).json()
    assert [c["community_id"] for c in report["communities"]] == [xsg.community_id]
    assert report["total"]["credited_g"] == xsg.walk["credited_g"]
    district = await client.get("/v1/admin/reports/monthly", params={"month": month}, headers=bearer(towns.root))
    assert district.json()["total"]["credited_g"] == xsg.walk["credited_g"] + gegu.walk["credited_g"]
    other = await client.get(
        "/v1/admin/reports/monthly.csv",
        params={"month": month, "community_id": gegu.community_id},
        headers=auditor,
    )
    assert_problem(other, 403, "OUTSIDE_SCOPE")
    table = await client.get("/v1/admin/reports/monthly.csv", params={"month": month}, headers=auditor)
    assert gegu.name_zh not in table.text
