"""Receipts end to end: a resident's credit is sealed into the log after commit, its receipt checks out
offline with the standalone verifier, and forged receipts, forged checkpoints and rewritten history do not."""

from __future__ import annotations

import asyncio
import base64
import copy
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from service.audit import merkle
from service.audit import receipt_verifier as rv
from service.audit.sealer import seal_once
from tests.conftest import Api, bearer
from tests.fixtures.behaviours import SITE_CODES, Tokens, ago, assert_problem, behaviour_body, record_ok

MakeApi = Callable[..., Awaitable[Api]]
Json = dict[str, Any]


async def _resident(api: Api, name: str) -> Tokens:
    response = await api.client.post("/v1/auth/dev", json={"name": name})
    assert response.status_code == 200, response.text
    tokens: Tokens = response.json()
    return tokens


async def _ride(api: Api, tokens: Tokens, hours_ago: float, km: str = "10") -> int:
    body = behaviour_body("metro_ride", km, ago(hours=hours_ago), evidence=SITE_CODES)
    behaviour_id: int = (await record_ok(api.client, tokens, body))["id"]
    return behaviour_id


async def _seal(api: Api) -> None:
    await seal_once(api.db, api.app.state.checkpoint_signer)


async def _public_key(client: httpx.AsyncClient) -> bytes:
    key = (await client.get("/v1/transparency/key")).json()
    assert key["algorithm"] == "Ed25519"
    return base64.b64decode(key["public_key"])


async def _receipt(api: Api, tokens: Tokens, behaviour_id: int) -> Json:
    response = await api.client.get(f"/v1/me/behaviours/{behaviour_id}/receipt", headers=bearer(tokens))
    assert response.status_code == 200, response.text
    receipt: Json = response.json()
    return receipt


async def test_a_credit_gets_a_receipt_once_sealed_that_checks_out_offline(make_api: MakeApi) -> None:
    api = await make_api(receipt_sealer=False)
    alice, bob = await _resident(api, "alice"), await _resident(api, "bob")
    ride = await _ride(api, alice, 3)

    early = await api.client.get(f"/v1/me/behaviours/{ride}/receipt", headers=bearer(alice))
    assert_problem(early, 409, "RECEIPT_NOT_READY")
    assert early.headers["Retry-After"] == "1"
    await _seal(api)
    receipt = await _receipt(api, alice, ride)

    assert receipt["entry"]["amount_g"] == 468
    assert receipt["entry"]["kind"] == "issuance"
    assert receipt["entry"]["behaviour_id"] == ride
    rv.verify_receipt(receipt, await _public_key(api.client))
    assert receipt["public_key"] == base64.b64encode(await _public_key(api.client)).decode()
    by_entry = await api.client.get(f"/v1/me/receipts/{receipt['entry']['id']}", headers=bearer(alice))
    assert by_entry.json() == receipt
    assert_problem(
        await api.client.get(f"/v1/me/behaviours/{ride}/receipt", headers=bearer(bob)), 404, "ENTRY_NOT_FOUND"
    )
    assert_problem(
        await api.client.get(f"/v1/me/receipts/{receipt['entry']['id']}", headers=bearer(bob)), 404, "ENTRY_NOT_FOUND"
    )


async def test_forged_receipts_and_checkpoints_are_refused(make_api: MakeApi) -> None:
    api = await make_api(receipt_sealer=False)
    alice = await _resident(api, "alice")
    rides = [await _ride(api, alice, hours) for hours in (2, 3, 4)]
    await _seal(api)
    receipt = await _receipt(api, alice, rides[1])
    key = await _public_key(api.client)
    rv.verify_receipt(receipt, key)

    def forged(change: Callable[[Json], None]) -> Json:
        copied = copy.deepcopy(receipt)
        change(copied)
        return copied

    def more_grams(r: Json) -> None:
        r["entry"]["amount_g"] += 1

    def other_path(r: Json) -> None:
        r["inclusion_proof"][0] = base64.b64encode(bytes(32)).decode()

    def moved_leaf(r: Json) -> None:
        r["leaf_index"] += 1

    def another_root(r: Json) -> None:
        r["checkpoint"]["root_hash"] = base64.b64encode(bytes(32)).decode()

    def later_stamp(r: Json) -> None:
        r["checkpoint"]["signed_at"] = "2030-01-01T00:00:00.000000Z"

    for change in (more_grams, other_path, moved_leaf, another_root, later_stamp):
        with pytest.raises(rv.ReceiptInvalid):
            rv.verify_receipt(forged(change), key)
    with pytest.raises(rv.ReceiptInvalid, match="signature"):
        rv.verify_receipt(receipt, base64.b64decode(base64.b64encode(bytes(range(32)))))


async def test_checkpoints_extend_each_other_and_rewritten_history_is_caught(make_api: MakeApi) -> None:
    api = await make_api(receipt_sealer=False)
    alice = await _resident(api, "alice")
    await _ride(api, alice, 2)
    await _seal(api)
    first = (await api.client.get("/v1/transparency/checkpoint")).json()
    await _ride(api, alice, 4)
    await _ride(api, alice, 6)
    await _seal(api)
    second = (await api.client.get("/v1/transparency/checkpoint")).json()
    assert second["tree_size"] > first["tree_size"]
    key = await _public_key(api.client)

    response = await api.client.get(
        "/v1/transparency/consistency", params={"first": first["tree_size"], "second": second["tree_size"]}
    )
    proof = response.json()["proof"]
    rv.verify_checkpoint(first, key)
    rv.verify_checkpoint(second, key)
    rv.verify_consistency(first, second, proof)

    # a log that rewrote its first entry, then re-signed: its checkpoint cannot extend the old one
    async with api.db.engine.connect() as connection:
        leaves = [
            bytes(h)
            for h in (
                await connection.scalars(text("SELECT hash FROM ledger_seal_node WHERE level = 0 ORDER BY idx"))
            ).all()
        ]
    leaves[0] = rv.leaf_hash(b"tanpuhui-entry:v1|rewritten")
    rewritten_nodes: dict[merkle.Node, bytes] = {}
    merkle.append(0, leaves, rewritten_nodes)
    rewritten_root = merkle.root(len(leaves), rewritten_nodes)
    signer = api.app.state.checkpoint_signer
    rewritten = {
        **second,
        "root_hash": base64.b64encode(rewritten_root).decode(),
        "signature": base64.b64encode(signer.sign(len(leaves), rewritten_root, second["signed_at"])).decode(),
    }
    rv.verify_checkpoint(rewritten, key)  # even signed with the platform's own key...
    with pytest.raises(rv.ReceiptInvalid, match="rewritten"):
        rv.verify_consistency(first, rewritten, proof)  # ...it is caught against the earlier checkpoint

    assert (await api.client.get("/v1/transparency/checkpoints/999999")).status_code == 404
    bad = await api.client.get("/v1/transparency/consistency", params={"first": second["tree_size"], "second": 1})
    assert bad.status_code == 404


async def test_the_background_sealer_seals_within_a_second_or_so(api: Api) -> None:
    alice = await _resident(api, "alice")
    ride = await _ride(api, alice, 3)
    for _ in range(50):
        response = await api.client.get(f"/v1/me/behaviours/{ride}/receipt", headers=bearer(alice))
        if response.status_code == 200:
            break
        await asyncio.sleep(0.1)
    assert response.status_code == 200, response.text
    rv.verify_receipt(response.json(), await _public_key(api.client))


async def test_the_log_refuses_to_be_changed(make_api: MakeApi) -> None:
    api = await make_api(receipt_sealer=False)
    await _ride(api, await _resident(api, "alice"), 3)
    await _seal(api)
    for statement in (
        "UPDATE ledger_seal_node SET hash = sha256(hash)",
        "DELETE FROM ledger_seal_leaf",
        "UPDATE ledger_checkpoint SET tree_size = tree_size + 1",
        "TRUNCATE ledger_checkpoint",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with api.db.engine.begin() as connection:
                await connection.execute(text(statement))


async def test_receipts_and_proofs_check_out_over_a_log_sealed_in_uneven_steps(make_api: MakeApi) -> None:
    """The log stores its leaves and its larger subtrees only; the smaller ones are hashed again from their
    leaves for every proof and for the frontier the next step appends to. Sealed in steps that end
    anywhere inside a block of sixteen leaves, every receipt and every consistency proof checks out."""
    api = await make_api(receipt_sealer=False)
    alice = await _resident(api, "alice")
    key = await _public_key(api.client)
    rides: list[int] = []
    checkpoints: list[Json] = []
    for count in (1, 3, 2, 5, 1, 4):  # two entries a ride: trees of 2, 8, 12, 22, 24 and 32 leaves
        for _ in range(count):
            # three hours apart, within the two days a ride's codes may be sent in, short enough that no
            # day's rides reach the daily cap
            rides.append(await _ride(api, alice, hours_ago=2 + 3 * len(rides), km="3"))
        await _seal(api)
        checkpoints.append((await api.client.get("/v1/transparency/checkpoint")).json())
    assert [c["tree_size"] for c in checkpoints] == [2, 8, 12, 22, 24, 32]

    async with api.db.engine.connect() as connection:
        levels = set((await connection.scalars(text("SELECT DISTINCT level FROM ledger_seal_node"))).all())
    assert levels == {0, 4, 5}  # leaves, and the subtrees of 16 and 32 leaves
    for ride in rides:
        rv.verify_receipt(await _receipt(api, alice, ride), key)
    for first, second in [*itertools.pairwise(checkpoints), (checkpoints[0], checkpoints[-1])]:
        rv.verify_checkpoint(second, key)
        response = await api.client.get(
            "/v1/transparency/consistency", params={"first": first["tree_size"], "second": second["tree_size"]}
        )
        rv.verify_consistency(first, second, response.json()["proof"])
