"""`tanpuhui audit verify` and its admin endpoint: a clean ledger passes; a change made directly in the
database as superuser, bypassing every trigger, is caught and named, never repaired."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import text

from service.accounts.models import Role
from service.audit import verify as verify_module
from service.audit.sealer import seal_once
from service.audit.verify import verify
from tests.conftest import ROOT, Api, bearer
from tests.fixtures.behaviours import (
    SITE_CODES,
    Tokens,
    ago,
    assert_problem,
    behaviour,
    behaviour_body,
    create_partner,
    partner_record,
    record_ok,
)

MakeApi = Callable[..., Awaitable[Api]]
StaffSignIn = Callable[..., Awaitable[Tokens]]


@pytest.fixture
async def api(make_api: MakeApi) -> Api:
    return await make_api(receipt_sealer=False, leaderboard_rollup=False)


async def _activity(api: Api, sign_in_staff: StaffSignIn) -> dict[str, int]:
    """Rides of two residents, one reversed, and a partner's record of a third, whose account is linked
    there; all sealed. Returns ids to tamper with."""
    tokens = [(await api.client.post("/v1/auth/dev", json={"name": n})).json() for n in ("alice", "bob")]
    rides = []
    for resident in tokens:
        for hours in (2, 3):
            body = behaviour_body("metro_ride", "10", ago(hours=hours), evidence=SITE_CODES)
            rides.append(await behaviour(api.client, resident, (await record_ok(api.client, resident, body))["id"]))
    operator = await sign_in_staff(Role.admin_operator)
    reversed_ = await api.client.post(
        f"/v1/admin/transfers/{rides[0]['transfer_id']}/reverse", json={"reason": "refunded"}, headers=bearer(operator)
    )
    assert reversed_.status_code == 201, reversed_.text
    partner = await create_partner(api.client, await sign_in_staff(Role.admin_super))
    carol = (await api.client.post("/v1/auth/dev", json={"name": "carol"})).json()
    credited = await partner.batch([partner_record("b-1", await partner.link(carol), "bus_ride", "5", ago(hours=4))])
    assert credited["accepted"] == 1
    await seal_once(api.db, api.app.state.checkpoint_signer)
    async with api.db.engine.connect() as connection:
        entry = await connection.scalar(
            text("SELECT id FROM ledger_entry WHERE transfer_id = :t AND amount > 0"), {"t": rides[1]["transfer_id"]}
        )
    return {"entry": int(entry), "behaviour": rides[2]["id"]}


async def _as_superuser(api: Api, statement: str, **params: object) -> None:
    """Change a row the way only someone with the database's keys could: triggers off."""
    async with api.db.engine.begin() as connection:
        await connection.execute(text("SET LOCAL session_replication_role = replica"))
        await connection.execute(text(statement), params)


async def _cli(database_url: str) -> tuple[int, str]:
    """`tanpuhui audit verify` against the test's database: its exit status and what it printed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANPUHUI_")}
    env |= {"TANPUHUI_ENV": "test", "TANPUHUI_DATABASE_URL": database_url}
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "service.cli", "audit", "verify"),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode() + err.decode()


async def test_a_clean_ledger_passes_over_http_and_on_the_command_line(
    api: Api, database_url: str, sign_in_staff: StaffSignIn, sign_in_resident: Callable[[str], Awaitable[Tokens]]
) -> None:
    await _activity(api, sign_in_staff)
    auditor = await sign_in_staff(Role.admin_auditor)

    response = await api.client.post("/v1/admin/audit/verify", headers=bearer(auditor))

    assert response.status_code == 200, response.text
    report = response.json()
    assert report["ok"] is True, report
    assert {c["name"]: c["checked"] > 0 for c in report["checks"]} == {
        "balances": True,
        "issuance": True,
        "consent": True,
        "sealed log": True,
    }
    code, output = await _cli(database_url)
    assert code == 0, output
    # 10 entries of the rides and the reversal, 2 of the partner's credit, 1 consent granted
    assert "ok  sealed log: 13 checked" in output
    resident = await sign_in_resident("carol")
    assert_problem(await api.client.post("/v1/admin/audit/verify", headers=bearer(resident)), 403, "ROLE_NOT_ALLOWED")


async def test_a_sealed_entry_changed_behind_the_triggers_is_named(
    api: Api, database_url: str, sign_in_staff: StaffSignIn
) -> None:
    ids = await _activity(api, sign_in_staff)
    await _as_superuser(api, "UPDATE ledger_entry SET amount = amount + 1000 WHERE id = :id", id=ids["entry"])

    report = await verify(api.db, public_key=api.app.state.checkpoint_signer.public_key)

    assert not report.ok
    problems = {c.name: c.problems for c in report.checks}
    assert any(f"sealed entry {ids['entry']} " in p and "changed" in p for p in problems["sealed log"])
    assert any("balance differs" in p for p in problems["balances"])
    code, output = await _cli(database_url)
    assert code == 1
    assert f"sealed entry {ids['entry']}" in output


async def test_a_deleted_entry_a_recomputed_credit_and_a_rewritten_checkpoint_are_caught(
    api: Api, sign_in_staff: StaffSignIn
) -> None:
    ids = await _activity(api, sign_in_staff)
    await _as_superuser(api, "UPDATE ingest_behaviour SET grams = grams + 5 WHERE id = :id", id=ids["behaviour"])
    await _as_superuser(api, "DELETE FROM ledger_entry WHERE id = :id", id=ids["entry"])
    await _as_superuser(
        api,
        "UPDATE ledger_checkpoint SET root_hash = sha256(root_hash) WHERE tree_size = (SELECT max(tree_size) FROM ledger_checkpoint)",
    )

    report = await verify(api.db, public_key=api.app.state.checkpoint_signer.public_key)

    problems = "\n".join(p for c in report.checks for p in c.problems)
    assert f"behaviour {ids['behaviour']}: recomputes to" in problems
    assert f"sealed entry {ids['entry']} (leaf" in problems
    assert "missing from the ledger" in problems
    assert "signed a root the entries no longer give" in problems
    assert "signature does not verify" in problems


async def test_a_stored_subtree_that_proofs_use_is_checked_against_its_leaves(
    api: Api, sign_in_staff: StaffSignIn
) -> None:
    tokens = [(await api.client.post("/v1/auth/dev", json={"name": n})).json() for n in ("alice", "bob", "carol")]
    for resident in tokens:
        for hours in (2, 3, 4):
            await record_ok(
                api.client, resident, behaviour_body("metro_ride", "5", ago(hours=hours), evidence=SITE_CODES)
            )
    await seal_once(api.db, api.app.state.checkpoint_signer)  # 18 entries: leaves 0-15 make a stored subtree
    key = api.app.state.checkpoint_signer.public_key
    assert (await verify(api.db, public_key=key)).ok

    await _as_superuser(api, "UPDATE ledger_seal_node SET hash = sha256(hash) WHERE level = 4 AND idx = 0")
    changed = await verify(api.db, public_key=key)
    await _as_superuser(api, "DELETE FROM ledger_seal_node WHERE level = 4 AND idx = 0")
    missing = await verify(api.db, public_key=key)

    # the leaves and the checkpoints still agree: only the subtree is named
    assert [p for c in changed.checks for p in c.problems] == [
        "the subtree at level 4, index 0 (leaves 0–15) is not the hash of its leaves: proofs through it fail"
    ]
    assert [p for c in missing.checks for p in c.problems] == [
        "the subtree at level 4, index 0 (leaves 0–15) is missing: proofs through it cannot be made"
    ]


async def test_the_streamed_verification_reports_rising_progress_then_the_same_findings(
    api: Api, sign_in_staff: StaffSignIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await _activity(api, sign_in_staff)
    await _as_superuser(api, "UPDATE ledger_entry SET amount = amount + 1000 WHERE id = :id", id=ids["entry"])
    monkeypatch.setattr(verify_module, "CHUNK", 3)  # several steps per check on a small ledger
    auditor = await sign_in_staff(Role.admin_auditor)
    once = await api.client.post("/v1/admin/audit/verify", headers=bearer(auditor))

    streamed = await api.client.post(
        "/v1/admin/audit/verify", headers={**bearer(auditor), "Accept": "application/x-ndjson"}
    )

    assert streamed.status_code == 200, streamed.text
    assert streamed.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in streamed.text.splitlines()]
    progress = [line for line in lines[:-1] if line["kind"] == "progress"]
    assert len(progress) == len(lines) - 1
    assert [p["phase"] for p in progress] == sorted(
        (p["phase"] for p in progress), key=["balances", "issuance", "consent", "sealed log"].index
    )
    for phase in ("balances", "issuance", "sealed log"):
        steps = [(p["done"], p["total"]) for p in progress if p["phase"] == phase]
        assert len(steps) >= 3, (phase, steps)
        assert steps[0][0] == 0
        assert [done for done, _ in steps] == sorted(done for done, _ in steps)
        assert steps[-1][0] == steps[-1][1] > 0, (phase, steps)
    assert lines[-1]["kind"] == "result"
    assert lines[-1]["result"] == once.json()
    assert once.json()["ok"] is False
    assert any(f"sealed entry {ids['entry']} " in p for c in once.json()["checks"] for p in c["problems"])
