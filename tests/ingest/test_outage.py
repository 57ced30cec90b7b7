"""A database outage while recording: a clear 503, a retry with the same key credits exactly once, and
connections the database cut are replaced without a failed request."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from service.db import Database
from service.kit.devdb import asyncpg_dsn
from tests.conftest import Api
from tests.fixtures.behaviours import (
    SITE_CODES,
    ago,
    assert_ledger_invariants,
    assert_problem,
    balance,
    behaviour_body,
    record,
)

DEAD_DATABASE = "postgresql://postgres@127.0.0.1:1/x"


async def test_a_recording_during_an_outage_is_a_503_and_its_retry_credits_exactly_once(
    api: Api, sign_in_resident: Callable[[str], Awaitable[dict[str, Any]]]
) -> None:
    alice = await sign_in_resident("alice")
    body = behaviour_body("metro_ride", "10", ago(hours=2), evidence=SITE_CODES)
    live = api.app.state.db
    dead = Database(DEAD_DATABASE, settings=api.settings)

    api.app.state.db = dead
    try:
        during = await record(api.client, alice, body)
    finally:
        api.app.state.db = live
        await dead.dispose()
    retried = await record(api.client, alice, body)
    again = await record(api.client, alice, body)

    problem = assert_problem(during, 503, "DATABASE_UNAVAILABLE")
    assert int(during.headers["retry-after"]) > 0
    assert "Traceback" not in str(problem)
    assert retried.status_code == 201
    assert retried.json()["credited_g"] == 468
    assert again.status_code == 200
    assert again.json()["replayed"] is True
    assert await balance(api.client, alice) == 468
    await assert_ledger_invariants(api)


async def test_recording_reconnects_by_itself_after_the_database_cut_the_services_connections(
    api: Api, sign_in_resident: Callable[[str], Awaitable[dict[str, Any]]]
) -> None:
    """A failover, a restart or an operator's pg_terminate_backend ends every connection the service
    holds; the next recording takes a new one rather than failing on a dead one."""
    alice = await sign_in_resident("alice")
    before = await record(api.client, alice, behaviour_body("metro_ride", "10", ago(hours=3), evidence=SITE_CODES))
    assert before.status_code == 201, before.text
    assert api.settings.database_url is not None
    operator = await asyncpg.connect(**asyncpg_dsn(api.settings.database_url.get_secret_value()))
    try:
        cut = await operator.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        await asyncio.sleep(0.1)

        after = await record(api.client, alice, behaviour_body("metro_ride", "10", ago(hours=2), evidence=SITE_CODES))

        stored = await operator.fetch("SELECT credited_g FROM ingest_behaviour ORDER BY id")
    finally:
        await operator.close()
    assert cut >= 1
    assert after.status_code == 201, after.text
    assert after.json()["balance_g"] == 2 * 468
    assert [row["credited_g"] for row in stored] == [468, 468]


async def test_a_recording_the_database_cannot_finish_in_time_is_a_503_and_its_retry_credits_once(
    make_api: Callable[..., Awaitable[Api]], sign_in_resident: Callable[[str], Awaitable[dict[str, Any]]]
) -> None:
    """A statement past the statement timeout (here: waiting on a row another session holds) is rolled back
    whole: the client is told to retry, not that the service broke, and the retry credits once."""
    api = await make_api(db_statement_timeout_ms=300)
    alice = await sign_in_resident("alice")
    body = behaviour_body("metro_ride", "10", ago(hours=2), evidence=SITE_CODES)
    assert api.settings.database_url is not None
    holder = await asyncpg.connect(**asyncpg_dsn(api.settings.database_url.get_secret_value()))
    try:
        async with holder.transaction():
            await holder.execute("SELECT 1 FROM ledger_account WHERE kind = 'resident' FOR UPDATE")
            during = await record(api.client, alice, body)
    finally:
        await holder.close()
    retried = await record(api.client, alice, body)

    assert_problem(during, 503, "DATABASE_UNAVAILABLE")
    assert int(during.headers["retry-after"]) > 0
    assert retried.status_code == 201, retried.text
    assert retried.json()["credited_g"] == 468
    assert await balance(api.client, alice) == 468
    await assert_ledger_invariants(api)
