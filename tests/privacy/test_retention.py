"""The retention pass removes or coarsens what has just passed its time and leaves what is just inside it;
amounts, calculations and the ledger stay, and the ledger still verifies. Operators read its runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from service.accounts.models import Role
from service.audit.sealer import seal_once
from service.ingest import fraud
from service.privacy.retention import Schedule, run_once
from tests.conftest import Api, bearer
from tests.fixtures.behaviours import (
    SITE_CODES,
    ago,
    assert_ledger_invariants,
    assert_problem,
    behaviour,
    behaviour_body,
    create_partner,
    link_code,
    record,
    record_ok,
)
from tests.fixtures.identifiers import found_in_database
from tests.fixtures.photos import Store, jpeg_with_gps, photo_rows, png_with_text, uploaded

StaffSignIn = Callable[..., Awaitable[dict[str, Any]]]
MINUTE = timedelta(minutes=1)
RUNS = "/v1/admin/retention/runs"


def _due(days: int) -> datetime:
    """A minute past `days`: just due."""
    return datetime.now(UTC) - timedelta(days=days) - MINUTE


def _inside(days: int) -> datetime:
    """A minute short of `days`: just inside."""
    return datetime.now(UTC) - timedelta(days=days) + MINUTE


async def _execute(api: Api, sql: str, **values: Any) -> None:
    async with api.db.engine.begin() as connection:
        await connection.execute(text(sql), values)


async def _rows(api: Api, sql: str, **values: Any) -> list[Any]:
    async with api.db.engine.connect() as connection:
        return list((await connection.execute(text(sql), values)).all())


async def _pass(api: Api) -> dict[str, int]:
    run = await run_once(
        api.db, api.app.state.photo_storage, codes=api.app.state.voucher_codes, schedule=Schedule.of(api.settings)
    )
    assert run is not None
    return run.counts


async def test_the_pass_removes_what_just_passed_its_time_and_keeps_what_is_just_inside(
    api: Api, store: Store, sign_in_staff: StaffSignIn
) -> None:
    client, settings = api.client, api.settings
    alice = (await client.post("/v1/auth/dev", json={"name": "alice", "device_id": "device-alice-1"})).json()
    bob = (await client.post("/v1/auth/dev", json={"name": "bob", "device_id": "device-bob-1"})).json()
    old = await record_ok(client, alice, behaviour_body("metro_ride", "10", ago(hours=5), evidence=SITE_CODES))
    recent = await record_ok(client, alice, behaviour_body("metro_ride", "10", ago(hours=3), evidence=SITE_CODES))
    for resident in (alice, bob):
        for n, hours in enumerate((8, 9, 10)):
            body = behaviour_body("metro_ride", "10", ago(hours=hours))
            body["evidence"] = {"start_code": f"TPH1:{n}"}
            assert_problem(await record(client, resident, body), 422, "SITE_CODE_MALFORMED")
    assert await fraud.scan_once(api.db, api.app.state.factor_cache, fraud.Thresholds.of(settings)) is not None
    operator = await sign_in_staff(Role.admin_operator)
    flags = (await client.get("/v1/admin/flags", headers=bearer(operator))).json()["items"]
    assert len(flags) == 2
    for flag in flags:
        resolve = {"resolution": "dismissed", "reason": "a scanner fault at the station"}
        resolved = await client.post(f"/v1/admin/flags/{flag['id']}/resolve", json=resolve, headers=bearer(operator))
        assert resolved.status_code == 200, resolved.text
    old_photo = await uploaded(client, alice, jpeg_with_gps())
    recent_photo = await uploaded(client, bob, png_with_text(), filename="b.png", content_type="image/png")
    await client.post("/v1/auth/refresh", json={"refresh_token": alice["refresh_token"]})
    metro = await create_partner(client, await sign_in_staff(Role.admin_super))
    for resident in (alice, bob):
        await link_code(client, resident, metro.code)

    evidence_days, device_days = settings.retention_evidence_days, settings.retention_device_days
    behaviours = "UPDATE ingest_behaviour SET created_at = :at WHERE id = :id"
    await _execute(api, behaviours, at=_due(evidence_days), id=old["id"])
    await _execute(api, behaviours, at=_inside(evidence_days), id=recent["id"])
    devices = "UPDATE accounts_device SET last_seen = :at WHERE device_id = :id"
    await _execute(api, devices, at=_due(device_days), id="device-alice-1")
    await _execute(api, devices, at=_inside(device_days), id="device-bob-1")
    (due_refusal,), (kept_refusal,), *_ = await _rows(api, "SELECT id FROM ingest_evidence_refusal ORDER BY id")
    refusals = "UPDATE ingest_evidence_refusal SET refused_at = :at WHERE id = :id"
    await _execute(api, refusals, at=_due(settings.retention_refusal_days), id=due_refusal)
    await _execute(api, refusals, at=_inside(settings.retention_refusal_days), id=kept_refusal)
    resolved_at = "UPDATE ingest_flag SET resolved_at = :at WHERE id = :id"
    await _execute(api, resolved_at, at=_due(evidence_days), id=flags[0]["id"])
    await _execute(api, resolved_at, at=_inside(evidence_days), id=flags[1]["id"])
    tokens = await _rows(api, "SELECT id FROM accounts_refresh_token ORDER BY issued_at")
    expired = "UPDATE accounts_refresh_token SET expires_at = :at WHERE id = :id"
    await _execute(api, expired, at=_due(settings.retention_session_days), id=tokens[0][0])
    await _execute(api, expired, at=_inside(settings.retention_session_days), id=tokens[1][0])
    # alice's link code expired a minute ago; bob's has minutes to go
    await _execute(
        api,
        "UPDATE consent_link_code SET expires_at = now() - interval '1 minute' WHERE resident_id ="
        " (SELECT id FROM accounts_resident WHERE openid = 'dev:alice')",
    )
    photos = "UPDATE photos_photo SET created_at = :at WHERE public_id = :id"
    await _execute(api, photos, at=_due(settings.photo_retention_days), id=old_photo["photo_id"])
    await _execute(api, photos, at=_inside(settings.photo_retention_days), id=recent_photo["photo_id"])
    before = {b["id"]: await behaviour(client, alice, b["id"]) for b in (old, recent)}
    ledger = await _rows(api, "SELECT id, transfer_id, account_id, amount FROM ledger_entry ORDER BY id")

    counts = await _pass(api)

    assert counts == {
        "deleted_accounts": 0,
        "behaviours_coarsened": 1,
        "devices": 1,
        "evidence_refusals": 1,
        "flags_cleared": 1,
        "refresh_tokens": 1,
        "link_codes": 1,
        "photos": 1,
        "photo_objects": 1,
    }
    coarse, kept = await behaviour(client, alice, old["id"]), await behaviour(client, alice, recent["id"])
    assert kept == before[recent["id"]]
    assert coarse["occurred_at"] == coarse["ended_at"]
    assert coarse["occurred_at"].endswith("T16:00:00Z")  # the start of its local day, UTC+8
    assert coarse["verified_evidence"] != before[old["id"]]["verified_evidence"]
    for same in ("credited_g", "capped_g", "calculation", "factor", "transfer_id", "balance_g", "status"):
        assert coarse[same] == before[old["id"]][same], same
    assert len(await _rows(api, "SELECT code_hash FROM consent_link_code")) == 1
    evidence = await _rows(api, "SELECT id, evidence IS NULL FROM ingest_behaviour ORDER BY id")
    assert evidence == [(old["id"], True), (recent["id"], False)]
    assert await _rows(api, "SELECT device_id FROM accounts_device") == [("device-bob-1",)]
    assert len(await _rows(api, "SELECT id FROM ingest_evidence_refusal")) == 5
    cleared = (await client.get("/v1/admin/flags", params={"status": "all"}, headers=bearer(operator))).json()
    details = {f["id"]: f["details"] for f in cleared["items"]}
    assert details == {flags[0]["id"]: {}, flags[1]["id"]: flags[1]["details"]}
    assert flags[1]["details"]
    assert len(await _rows(api, "SELECT id FROM accounts_refresh_token")) == len(tokens) - 1
    assert await photo_rows(api) == 1
    assert store.objects() == {recent_photo["sha256"]}
    assert await _rows(api, "SELECT id, transfer_id, account_id, amount FROM ledger_entry ORDER BY id") == ledger
    await assert_ledger_invariants(api)
    await seal_once(api.db, api.app.state.checkpoint_signer)
    auditor = await sign_in_staff(Role.admin_auditor, "auditor-retention")
    verified = await client.post("/v1/admin/audit/verify", headers=bearer(auditor))
    assert verified.json()["ok"] is True, verified.text

    assert set((await _pass(api)).values()) == {0}
    runs = await client.get(RUNS, headers=bearer(auditor))
    assert runs.status_code == 200, runs.text
    first, second = reversed(runs.json()["items"])
    assert first["counts"] == counts
    assert first["schedule"]["evidence_days"] == evidence_days
    assert set(second["counts"].values()) == {0}


async def test_residents_cannot_read_the_runs(client: Any) -> None:
    tokens = (await client.post("/v1/auth/dev", json={"name": "carol"})).json()
    assert_problem(await client.get(RUNS, headers=bearer(tokens)), 403, "ROLE_NOT_ALLOWED")


async def test_an_account_deleted_before_erasure_covered_everything_is_erased_by_the_pass(api: Api) -> None:
    client = api.client
    tokens = (await client.post("/v1/auth/dev", json={"name": "dora", "device_id": "device-dora-7"})).json()
    ride = await record_ok(client, tokens, behaviour_body("metro_ride", "10", ago(hours=2), evidence=SITE_CODES))
    photo = await uploaded(client, tokens, jpeg_with_gps())
    public_id = (await client.get("/v1/me", headers=bearer(tokens))).json()["id"]
    # what deleting an account cleared before every domain's part was erased with it
    await _execute(
        api,
        "UPDATE accounts_resident SET openid = NULL, unionid = NULL, nickname = NULL, deleted_at = now()"
        " WHERE public_id = :id",
        id=public_id,
    )
    needles = {"public id": public_id, "device": "device-dora-7", "photo": photo["photo_id"], "key": ride["client_id"]}
    assert {name for name, _, _ in await found_in_database(api, needles)} == set(needles)

    counts = await _pass(api)

    assert counts["deleted_accounts"] == 1
    assert await found_in_database(api, needles) == []
    assert (await _pass(api))["deleted_accounts"] == 0
    await assert_ledger_invariants(api)
