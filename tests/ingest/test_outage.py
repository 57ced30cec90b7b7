"""A database outage while recording: a clear 503, and a retry with the same key credits exactly once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from service.db import Database
from tests.conftest import Api
from tests.fixtures.behaviours import (
    STATION_QR,
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
    body = behaviour_body("metro_ride", "10", ago(hours=2), evidence=STATION_QR)
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
