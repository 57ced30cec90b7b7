"""The data export: one JSON download holding the profile, WeChat ids, sign-ins, devices, behaviours with
their calculations and evidence, vouchers, ledger entries, photos' metadata and the retention schedule,
read a page at a time however many rows there are."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from service.accounts.models import Role
from service.ingest import personal as ingest_personal
from service.privacy import export
from tests.conftest import Api, bearer
from tests.fixtures.behaviours import ago, behaviour, behaviour_body, record_ok
from tests.fixtures.photos import jpeg_with_gps, uploaded
from tests.fixtures.redemption import RIDE_G, approved_enterprise, earn, publish, redeem

OPENID, UNIONID = "oExportProbeOpenid", "uExportProbeUnionid"


async def test_the_export_holds_everything_about_the_resident_in_one_download(
    api: Api, monkeypatch: pytest.MonkeyPatch, sign_in_staff: Callable[..., Awaitable[dict[str, Any]]]
) -> None:
    monkeypatch.setattr(ingest_personal, "EXPORT_PAGE", 2)
    monkeypatch.setattr(export, "ENTRY_PAGE", 2)
    client = api.client
    signed_in = await client.post("/v1/auth/wechat", json={"code": f"ok:{OPENID}:{UNIONID}", "device_id": "dev-exp-1"})
    tokens = signed_in.json()
    await earn(client, tokens, rides=3, first_hours_ago=4)
    photo = await uploaded(client, tokens, jpeg_with_gps())
    waste = behaviour_body("waste_sorting", "2", ago(hours=1), category="kitchen_waste")
    waste["evidence"] = {"photo_id": photo["photo_id"]}
    held = await record_ok(client, tokens, waste)
    operator = await sign_in_staff(Role.admin_operator)
    enterprise = await approved_enterprise(client, operator, "低碳书店")
    reward = await publish(client, enterprise, price_g=400)
    voucher = (await redeem(client, tokens, reward["id"])).json()["voucher"]
    bob = (await client.post("/v1/auth/dev", json={"name": "bob"})).json()
    await earn(client, bob, rides=1)

    response = await client.get("/v1/me/export", headers=bearer(tokens))

    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == 'attachment; filename="tanpuhui-my-data.json"'
    assert response.headers["cache-control"] == "no-store"
    data = response.json()
    me = (await client.get("/v1/me", headers=bearer(tokens))).json()
    assert data["profile"] == me
    assert (data["wechat_openid"], data["wechat_unionid"]) == (OPENID, UNIONID)
    assert [d["device_id"] for d in data["devices"]] == ["dev-exp-1"]
    assert len(data["sessions"]) == 1
    assert [b["type"] for b in data["behaviours"]] == ["waste_sorting"] + ["metro_ride"] * 3
    assert data["behaviours"][0]["id"] == held["id"]
    assert data["behaviours"][0]["evidence"]["photo"]["photo_id"] == photo["photo_id"]
    ride = data["behaviours"][1]
    assert ride["credited_g"] == RIDE_G
    assert (ride["calculation"]["quantity"], ride["cap_reason"]) == ("10", None)
    assert {k: v for k, v in ride.items() if k != "evidence"} == await behaviour(client, tokens, ride["id"])
    assert ride["evidence"]["site_codes"][0]["role"] == "start"
    assert [(v["id"], v["code"]) for v in data["vouchers"]] == [(voucher["id"], voucher["code"])]
    entries = data["ledger_entries"]
    assert [e["kind"] for e in entries] == ["redemption"] + ["issuance"] * 3
    assert sum(e["amount_g"] for e in entries) == data["balance"]["balance_g"] == 3 * RIDE_G - 400
    assert [(p["photo_id"], p["sha256"]) for p in data["photos"]] == [(photo["photo_id"], photo["sha256"])]
    assert data["retention"] == {
        "evidence_days": api.settings.retention_evidence_days,
        "device_days": api.settings.retention_device_days,
        "refusal_days": api.settings.retention_refusal_days,
        "session_days": api.settings.retention_session_days,
        "photo_days": api.settings.photo_retention_days,
    }


async def test_a_deleted_account_has_nothing_to_export(api: Api) -> None:
    tokens = (await api.client.post("/v1/auth/dev", json={"name": "carol"})).json()
    assert (await api.client.delete("/v1/me", headers=bearer(tokens))).status_code == 204

    response = await api.client.get("/v1/me/export", headers=bearer(tokens))

    assert response.status_code == 401
