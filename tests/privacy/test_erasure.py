"""Deleting an account after a realistic life leaves none of the resident's identifiers in any column of
any table, while the ledger's amounts stay and still verify."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from typing import Any

from PIL import Image
from sqlalchemy import text

from service.accounts.models import Role
from service.audit.sealer import seal_once
from service.ingest import fraud
from service.leaderboard import rollup
from tests.conftest import Api, bearer
from tests.fixtures.behaviours import (
    ago,
    assert_ledger_invariants,
    assert_problem,
    behaviour_body,
    create_partner,
    partner_record,
    record,
    record_ok,
)
from tests.fixtures.identifiers import found_in_database
from tests.fixtures.photos import Store
from tests.fixtures.redemption import ACCEPT, approved_enterprise, earn, publish, redeem
from tests.fixtures.webhooks import PARTNER_WEBHOOKS, partner_call

StaffSignIn = Callable[..., Awaitable[dict[str, Any]]]
OPENID, UNIONID, NICKNAME = "oPrivacyProbeOpenid7731", "uPrivacyProbeUnionid5519", "删除测试者"
DEVICES = ("device-privacy-probe-phone-4821", "device-privacy-probe-pad-9043")
FREEZE_REASON = "Checking a burst of reports"


async def _sign_in(api: Api, device: str) -> dict[str, Any]:
    response = await api.client.post("/v1/auth/wechat", json={"code": f"ok:{OPENID}:{UNIONID}", "device_id": device})
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


async def test_a_deleted_residents_identifiers_are_nowhere_in_the_database_and_the_ledger_stays(
    api: Api, store: Store, sign_in_staff: StaffSignIn
) -> None:
    client = api.client
    phone = await _sign_in(api, DEVICES[0])
    tokens = await _sign_in(api, DEVICES[1])
    me = (await client.patch("/v1/me", json={"nickname": NICKNAME}, headers=bearer(tokens))).json()
    public_id, handle = me["id"], me["handle"]
    assert phone["access_token"]

    await earn(client, tokens, rides=3, first_hours_ago=5)
    super_admin = await sign_in_staff(Role.admin_super)
    metro = await create_partner(client, super_admin, code="jinnan-metro-card")
    bikes = await create_partner(client, super_admin, code="haihe-bikes", kind="bike_share")
    # the partner is told of its links and of decisions on its records: what it is told is kept
    events = ["link.created", "link.revoked", "behaviour.reviewed"]
    hooked = await partner_call(
        metro, "POST", PARTNER_WEBHOOKS, {"url": "http://127.0.0.1:9/hooks", "event_types": events}
    )
    assert hooked.status_code == 201, hooked.text
    pseudonyms = {"metro": await metro.link(tokens), "bikes": await bikes.link(tokens)}
    card_ride = "card-ride-privacy-probe-3318"
    credited = await metro.batch([partner_record(card_ride, pseudonyms["metro"], "metro_ride", "10", ago(hours=20))])
    assert credited["accepted"] == 1, credited
    picture = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 160, 60)).save(picture, "JPEG")
    uploaded = await client.post(
        "/v1/me/photos", files={"file": ("scale.jpg", picture.getvalue(), "image/jpeg")}, headers=bearer(tokens)
    )
    photo = uploaded.json()
    waste = behaviour_body("waste_sorting", "2", ago(hours=1), category="kitchen_waste")
    waste["evidence"] = {"photo_id": photo["photo_id"]}
    held = await record_ok(client, tokens, waste)
    for n in range(3):
        body = behaviour_body("metro_ride", "10", ago(hours=10 + n))
        body["evidence"] = {"start_code": f"TPH1:{n}"}
        assert_problem(await record(client, tokens, body), 422, "SITE_CODE_MALFORMED")
    assert (await fraud.scan_once(api.db, api.app.state.factor_cache, fraud.Thresholds.of(api.settings))) is not None

    operator = await sign_in_staff(Role.admin_operator)
    reviewed = await client.post(
        f"/v1/admin/behaviours/{held['id']}/review",
        json={"approve": True, "reason": "scale reads 2 kg"},
        headers=bearer(operator),
    )
    assert reviewed.status_code == 200, reviewed.text
    enterprise = await approved_enterprise(client, operator, "绿色咖啡")
    reward = await publish(client, enterprise, price_g=400)
    voucher = (await redeem(client, tokens, reward["id"])).json()["voucher"]
    accepted = await client.post(ACCEPT, json={"code": voucher["code"]}, headers=bearer(enterprise))
    assert accepted.status_code == 200, accepted.text
    await redeem(client, tokens, reward["id"])
    await rollup.run_once(api.db, settle_s=0)
    board = await client.get("/v1/leaderboards/residents", headers=bearer(tokens))
    assert handle in board.text, board.text
    assert (await client.get(f"/v1/admin/residents/{public_id}", headers=bearer(operator))).status_code == 200
    frozen = await client.post(
        f"/v1/admin/residents/{public_id}/freeze", json={"reason": FREEZE_REASON}, headers=bearer(operator)
    )
    assert frozen.status_code == 200, frozen.text
    exported = (await client.get("/v1/me/export", headers=bearer(tokens))).json()
    evidence = [b for b in exported["behaviours"] if b["type"] == "metro_ride"]
    needles = {
        "public id": public_id,
        "openid": OPENID,
        "unionid": UNIONID,
        "nickname": NICKNAME,
        **{f"device {n}": device for n, device in enumerate(DEVICES)},
        "photo id": photo["photo_id"],
        "photo key": photo["sha256"],
        **{f"pseudonym at {partner}": pseudonym for partner, pseudonym in pseudonyms.items()},
        "partner's record id": card_ride,
        **{f"client id {b['id']}": b["client_id"] for b in exported["behaviours"] if b["client_id"]},
        **{f"voucher client id {v['id']}": v["client_id"] for v in exported["vouchers"] if v.get("client_id")},
    }
    assert len(evidence) == 4
    assert sorted(link["partner"]["code"] for link in exported["links"]) == ["haihe-bikes", "jinnan-metro-card"]
    assert {name for name, _, _ in await found_in_database(api, needles)} == set(needles), "all are stored"
    balance_before = exported["balance"]["balance_g"]
    async with api.db.engine.connect() as connection:
        ledger_before = (await connection.execute(text("SELECT id, amount FROM ledger_entry ORDER BY id"))).all()

    deleted = await client.delete("/v1/me", headers=bearer(tokens))

    assert deleted.status_code == 204, deleted.text
    assert await found_in_database(api, needles) == []
    refused = await metro.batch(
        [partner_record("card-ride-after", pseudonyms["metro"], "metro_ride", "5", ago(hours=2))]
    )
    assert refused["results"][0]["reason"] == "PSEUDONYM_UNKNOWN"
    async with api.db.engine.connect() as connection:
        ended = await connection.execute(text("SELECT revoked_by, count(*) FROM consent_link GROUP BY 1"))
        assert ended.all() == [("erasure", 2)], "every link ends with the account, and its partner is told"
    assert store.objects() == set()
    async with api.db.engine.connect() as connection:
        assert (
            await connection.execute(text("SELECT id, amount FROM ledger_entry ORDER BY id"))
        ).all() == ledger_before
        held_balance = await connection.scalar(
            text(
                "SELECT a.balance FROM ledger_account a JOIN accounts_resident r ON r.id = a.resident_id"
                " WHERE r.pseudonym = :handle"
            ),
            {"handle": handle},
        )
    assert held_balance == balance_before
    await assert_ledger_invariants(api)
    await seal_once(api.db, api.app.state.checkpoint_signer)
    verified = await client.post("/v1/admin/audit/verify", headers=bearer(operator))
    assert verified.json()["ok"] is True, verified.text
    await rollup.run_once(api.db, settle_s=0)
    board = await client.get("/v1/leaderboards/residents", headers=bearer(await _sign_in(api, "device-other")))
    assert board.status_code == 200, board.text
    assert handle not in board.text
