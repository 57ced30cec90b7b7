"""The ledger's own guarantees: the database refuses to change or remove what was written, and an operator
corrects an issuance only with a linked reversal, once, while the books keep balancing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from service.accounts.models import Role
from service.kit.devdb import asyncpg_dsn, with_database
from service.ledger.horizon import settled_horizon
from tests.conftest import Api, bearer
from tests.fixtures.behaviours import (
    SITE_CODES,
    Json,
    Tokens,
    ago,
    assert_ledger_invariants,
    assert_problem,
    balance,
    behaviour,
    behaviour_body,
    record_ok,
)

ResidentSignIn = Callable[[str], Awaitable[Tokens]]
StaffSignIn = Callable[..., Awaitable[Tokens]]
MakeApi = Callable[..., Awaitable[Api]]

REASON = "ride refunded by the metro operator"

_COUNTS = text(
    """
    SELECT (SELECT count(*) FROM ledger_entry), (SELECT coalesce(sum(abs(amount)), 0) FROM ledger_entry),
           (SELECT count(*) FROM ledger_transfer), (SELECT coalesce(sum(amount), 0) FROM ledger_transfer),
           (SELECT count(*) FROM factor_version), (SELECT string_agg(version, ',' ORDER BY id) FROM factor_version)
    """
)


@pytest.fixture
async def alice(sign_in_resident: ResidentSignIn) -> Tokens:
    return await sign_in_resident("alice")


@pytest.fixture
async def operator(sign_in_staff: StaffSignIn) -> Tokens:
    return await sign_in_staff(Role.admin_operator)


async def _credited_ride(client: httpx.AsyncClient, tokens: Tokens, *, hours_ago: float = 3) -> Json:
    """A 10 km metro ride with a station QR (468 g), read back with its issuance transfer."""
    recorded = await record_ok(
        client, tokens, behaviour_body("metro_ride", "10", ago(hours=hours_ago), evidence=SITE_CODES)
    )
    read = await behaviour(client, tokens, recorded["id"])
    assert read["credited_g"] == 468
    assert read["transfer_id"] is not None
    return read


async def _reverse(client: httpx.AsyncClient, tokens: Tokens, transfer_id: int) -> httpx.Response:
    return await client.post(
        f"/v1/admin/transfers/{transfer_id}/reverse", json={"reason": REASON}, headers=bearer(tokens)
    )


async def _counts(api: Api) -> tuple[object, ...]:
    async with api.db.engine.connect() as connection:
        return tuple((await connection.execute(_COUNTS)).one())


# ---------------------------------------------------------------------------------------------- append-only


REFUSED = [
    "UPDATE ledger_entry SET amount = amount * 2",
    "DELETE FROM ledger_entry",
    "TRUNCATE ledger_entry",
    "UPDATE ledger_transfer SET amount = amount + 1",
    "UPDATE ledger_transfer SET reason = 'tidied'",
    "DELETE FROM ledger_transfer WHERE id = (SELECT max(id) FROM ledger_transfer)",
    "TRUNCATE ledger_transfer, ledger_entry CASCADE",
    "TRUNCATE ledger_lot_move",
    "UPDATE factor_version SET content = jsonb_set(content, '{version}', '\"2026.9\"')",
    "UPDATE factor_version SET valid_from = valid_from - interval '1 year'",
    "DELETE FROM factor_version",
    "TRUNCATE factor_version CASCADE",
]


async def test_the_database_refuses_to_change_or_remove_written_ledger_rows_and_factor_versions(
    api: Api, client: httpx.AsyncClient, alice: Tokens, subtests: pytest.Subtests
) -> None:
    await _credited_ride(client, alice)
    before = await _counts(api)

    for statement in REFUSED:
        with subtests.test(statement=statement):
            with pytest.raises(DBAPIError, match="append-only"):
                async with api.db.engine.begin() as connection:
                    await connection.execute(text(statement))

            assert await _counts(api) == before
    assert await balance(client, alice) == 468
    await assert_ledger_invariants(api)


# ---------------------------------------------------------------------------------------------- reversal


async def test_an_operator_reverses_an_issuance_with_a_linked_transfer(
    api: Api, client: httpx.AsyncClient, alice: Tokens, operator: Tokens
) -> None:
    kept = await _credited_ride(client, alice, hours_ago=5)
    ride = await _credited_ride(client, alice)
    assert await balance(client, alice) == 936

    response = await _reverse(client, operator, ride["transfer_id"])

    assert response.status_code == 201, response.text
    reversal = response.json()
    assert reversal["reverses_transfer_id"] == ride["transfer_id"]
    assert reversal["reversal_transfer_id"] > ride["transfer_id"]
    assert await balance(client, alice) == 468
    money = (await client.get("/v1/me/balance", headers=bearer(alice))).json()
    assert money["credited_total_g"] == 936
    reread = await behaviour(client, alice, ride["id"])
    assert (reread["reversed_g"], reread["credited_g"], reread["transfer_id"]) == (468, 468, ride["transfer_id"])
    assert (await behaviour(client, alice, kept["id"]))["reversed_g"] == 0
    await assert_ledger_invariants(api)


async def test_a_second_reversal_of_the_same_issuance_is_refused(
    api: Api, client: httpx.AsyncClient, alice: Tokens, operator: Tokens, sign_in_resident: ResidentSignIn
) -> None:
    # Alice holds only the credit reversed; Bob holds another credit that would cover a second reversal.
    bob = await sign_in_resident("bob")
    await _credited_ride(client, bob, hours_ago=5)
    rides = {"alice": await _credited_ride(client, alice), "bob": await _credited_ride(client, bob)}
    for ride in rides.values():
        assert (await _reverse(client, operator, ride["transfer_id"])).status_code == 201
    await assert_ledger_invariants(api)

    for name, ride in rides.items():
        again = await _reverse(client, operator, ride["transfer_id"])

        assert_problem(again, 409, "ALREADY_REVERSED")
        assert (await behaviour(client, alice if name == "alice" else bob, ride["id"]))["reversed_g"] == 468
    assert (await balance(client, alice), await balance(client, bob)) == (0, 468)
    await assert_ledger_invariants(api)


async def test_two_reversals_of_one_issuance_at_once_take_the_credit_back_once(
    api: Api, make_api: MakeApi, client: httpx.AsyncClient, alice: Tokens, operator: Tokens
) -> None:
    other = await make_api()
    await _credited_ride(client, alice, hours_ago=5)
    ride = await _credited_ride(client, alice)

    responses = await asyncio.gather(
        _reverse(client, operator, ride["transfer_id"]), _reverse(other.client, operator, ride["transfer_id"])
    )

    assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
    assert_problem(next(r for r in responses if r.status_code == 409), 409, "ALREADY_REVERSED")
    assert await balance(client, alice) == 468
    await assert_ledger_invariants(api)


async def test_only_an_existing_issuance_can_be_reversed(
    api: Api, client: httpx.AsyncClient, alice: Tokens, operator: Tokens
) -> None:
    ride = await _credited_ride(client, alice)
    reversal = (await _reverse(client, operator, ride["transfer_id"])).json()

    assert_problem(await _reverse(client, operator, reversal["reversal_transfer_id"]), 409, "NOT_REVERSIBLE")
    assert_problem(await _reverse(client, operator, 999_999), 404, "TRANSFER_NOT_FOUND")

    assert await balance(client, alice) == 0
    await assert_ledger_invariants(api)


async def test_a_resident_or_an_auditor_cannot_reverse(
    api: Api, client: httpx.AsyncClient, alice: Tokens, sign_in_staff: StaffSignIn
) -> None:
    ride = await _credited_ride(client, alice)

    for tokens in (alice, await sign_in_staff(Role.admin_auditor)):
        assert_problem(await _reverse(client, tokens, ride["transfer_id"]), 403, "ROLE_NOT_ALLOWED")

    assert await balance(client, alice) == 468
    assert (await behaviour(client, alice, ride["id"]))["reversed_g"] == 0
    await assert_ledger_invariants(api)


async def test_followers_of_the_ledger_wait_for_the_newest_writer_still_running(api: Api) -> None:
    """An entry id taken by the newest transaction, while no transaction after it has finished, is below no
    snapshot's xmax: the horizon still waits for that writer, so the boards, receipts and fraud scan never
    step past entries that commit later."""
    async with api.db.engine.connect() as writer, api.db.engine.connect() as follower:
        await writer.execute(text("SELECT pg_current_xact_id()"))
        taken = await writer.scalar(text("SELECT nextval('ledger_entry_id_seq')"))
        assert await settled_horizon(follower, settle_s=0.3) is None
        await follower.rollback()
        await writer.commit()
        assert await settled_horizon(follower, settle_s=0.3) == taken


async def test_followers_of_the_ledger_do_not_wait_for_writers_in_other_databases_of_the_server(api: Api) -> None:
    """Snapshots span the whole server: a long transaction in another database appears among the running
    ones, but it cannot write this ledger, and the horizon does not wait for it."""
    assert api.settings.database_url is not None
    elsewhere = await asyncpg.connect(
        **asyncpg_dsn(with_database(api.settings.database_url.get_secret_value(), "postgres"))
    )
    try:
        async with elsewhere.transaction():
            await elsewhere.execute("SELECT pg_current_xact_id()")
            async with api.db.engine.connect() as writer, api.db.engine.connect() as follower:
                taken = await writer.scalar(text("SELECT nextval('ledger_entry_id_seq')"))
                await writer.commit()
                assert await settled_horizon(follower, settle_s=0.3) == taken
    finally:
        await elsewhere.close()
