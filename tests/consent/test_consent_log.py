"""Consent you can prove: every grant and revocation is a leaf of the Merkle log, a resident's receipt for
either checks out offline with the standalone verifier alone, and the audit shows that every partner
record credited had a consent in force when it was stored."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

from service.accounts.models import Role
from service.audit import receipt_verifier
from service.audit.verify import verify
from tests.conftest import Api, bearer
from tests.fixtures.behaviours import (
    LINKS,
    Tokens,
    ago,
    assert_ledger_invariants,
    assert_problem,
    create_partner,
    partner_record,
)

MakeApi = Callable[..., Awaitable[Api]]
ResidentSignIn = Callable[[str], Awaitable[Tokens]]
StaffSignIn = Callable[..., Awaitable[Tokens]]
Json = dict[str, Any]


async def _standalone_verifier(receipt: Json, public_key: str, where: Path) -> tuple[int, str]:
    """Run the verifier as a resident would: the one file, copied on its own, under an isolated Python."""
    shutil.copy(receipt_verifier.__file__, where / "receipt_verifier.py")
    (where / "receipt.json").write_text(json.dumps(receipt), encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-I",
        "receipt_verifier.py",
        "receipt.json",
        public_key,
        cwd=where,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode()


async def _receipt(api: Api, resident: Tokens, url: str) -> Json:
    """The receipt at `url`, once the service's sealer has sealed its event (about a second after it)."""
    for _ in range(100):
        response = await api.client.get(url, headers=bearer(resident))
        if response.status_code != 409:
            break
        assert_problem(response, 409, "RECEIPT_NOT_READY")
        await asyncio.sleep(0.1)
    assert response.status_code == 200, response.text
    receipt: Json = response.json()
    return receipt


async def test_a_consents_grant_and_revocation_are_proven_offline(
    api: Api, sign_in_staff: StaffSignIn, tmp_path: Path
) -> None:
    metro = await create_partner(api.client, await sign_in_staff(Role.admin_super))
    alice = (await api.client.post("/v1/auth/dev", json={"name": "alice"})).json()
    await metro.link(alice)
    (link,) = (await api.client.get(LINKS, headers=bearer(alice))).json()["items"]
    receipts = f"{LINKS}/{link['id']}/receipts"

    granted = await _receipt(api, alice, f"{receipts}/granted")
    assert_problem(await api.client.get(f"{receipts}/revoked", headers=bearer(alice)), 404, "CONSENT_EVENT_NOT_FOUND")
    await api.client.delete(f"{LINKS}/{link['id']}", headers=bearer(alice))
    revoked = await _receipt(api, alice, f"{receipts}/revoked")

    assert (granted["consent"]["kind"], granted["consent"]["link_id"]) == ("granted", link["id"])
    assert granted["consent"]["text_sha256"] == link["text_sha256"]
    assert (revoked["consent"]["kind"], revoked["consent"]["reason"]) == ("revoked", "resident")
    (after,) = (await api.client.get(LINKS, headers=bearer(alice))).json()["items"]
    revoked_at = datetime.fromisoformat(revoked["consent"]["occurred_at"])
    assert revoked_at == datetime.fromisoformat(after["revoked_at"]), "the receipt proves when consent was withdrawn"
    for receipt in (granted, revoked):
        code, output = await _standalone_verifier(receipt, receipt["public_key"], tmp_path)
        assert (code, output.split(":")[0]) == (0, "OK"), output
    forged = {**granted, "consent": {**granted["consent"], "occurred_at": "2026-01-01T00:00:00.000000Z"}}
    code, output = await _standalone_verifier(forged, granted["public_key"], tmp_path)
    assert code == 1, output
    assert output.startswith("INVALID"), output
    bob = (await api.client.post("/v1/auth/dev", json={"name": "bob"})).json()
    assert_problem(await api.client.get(f"{receipts}/granted", headers=bearer(bob)), 404, "CONSENT_EVENT_NOT_FOUND")
    assert (await verify(api.db, public_key=api.app.state.checkpoint_signer.public_key)).ok


async def test_records_racing_a_revocation_are_credited_only_while_the_link_is_in_force(
    api: Api, make_api: MakeApi, sign_in_staff: StaffSignIn
) -> None:
    metro = await create_partner(api.client, await sign_in_staff(Role.admin_super))
    other = await make_api()
    alice = (await api.client.post("/v1/auth/dev", json={"name": "alice"})).json()
    pseudonym = await metro.link(alice)
    (link,) = (await api.client.get(LINKS, headers=bearer(alice))).json()["items"]

    def batch(n: int) -> list[Json]:
        return [
            partner_record(f"r-{n}-{k}", pseudonym, "bus_ride", "1", ago(hours=2 + n, minutes=k)) for k in (0, 20, 40)
        ]

    sends = [metro.using(api.client if n % 2 else other.client).post(batch(n)) for n in range(8)]
    # the revocation goes out in the middle of the batches, over another app instance
    answers = await asyncio.gather(
        *sends[:4], other.client.delete(f"{LINKS}/{link['id']}", headers=bearer(alice)), *sends[4:]
    )
    revoked, replies = answers[4], [*answers[:4], *answers[5:]]

    assert revoked.status_code == 200, revoked.text
    outcomes = [(r["outcome"], r["reason"]) for reply in replies for r in reply.json()["results"]]
    assert set(outcomes) <= {("accepted", None), ("rejected", "LINK_REVOKED")}
    report = await verify(api.db, public_key=api.app.state.checkpoint_signer.public_key)
    consent = next(check for check in report.checks if check.name == "consent")
    assert consent.ok, consent.problems
    assert consent.checked == outcomes.count(("accepted", None))
    await assert_ledger_invariants(api)


async def test_the_audit_names_a_partner_credit_stored_with_no_consent_in_force(
    api: Api, sign_in_staff: StaffSignIn
) -> None:
    metro = await create_partner(api.client, await sign_in_staff(Role.admin_super))
    alice = (await api.client.post("/v1/auth/dev", json={"name": "alice"})).json()
    pseudonym = await metro.link(alice)
    credited = await metro.batch([partner_record("m-1", pseudonym, "metro_ride", "10", ago(hours=3))])
    behaviour_id = credited["results"][0]["behaviour_id"]
    key = api.app.state.checkpoint_signer.public_key
    assert (await verify(api.db, public_key=key)).ok

    # A link said to have come into force only after the record was stored, as if the record had been
    # credited without consent.
    async with api.db.engine.begin() as connection:
        await connection.execute(text("UPDATE consent_link SET granted_at = granted_at + interval '1 hour'"))
    report = await verify(api.db, public_key=key)

    consent = next(check for check in report.checks if check.name == "consent")
    assert any(f"behaviour {behaviour_id} of partner {metro.partner_id}" in p for p in consent.problems)
    assert any("its grant or revocation is not a consent event at its time" in p for p in consent.problems)
