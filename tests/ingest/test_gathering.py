"""Residents' reports that arrive together share one call of the recording function (the ledger's Recorder): each
still gets its own outcome, its own balance and its own write limit, and a record the database refuses
fails only itself."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import asyncpg
import httpx

from service.factors.cache import FactorCache
from service.ingest import evidence, reports
from service.ingest.schemas import BehaviourCreate
from service.ingest.validation import prepare
from service.kit.clock import local_date
from service.kit.ratelimit import Limit
from service.ledger.posting import Posting, Recorder
from service.ledger.results import DuplicateTrip, Recorded, WriteLimited
from tests.conftest import Api, bearer
from tests.fixtures.behaviours import (
    SITE_CODES,
    ago,
    assert_ledger_invariants,
    assert_problem,
    balance,
    behaviour_body,
    floor_g,
    history,
    record,
)

MakeApi = Callable[..., Awaitable[Api]]
METRO_10_KM_G = 468


async def _residents(client: httpx.AsyncClient, count: int) -> list[dict[str, Any]]:
    tokens = []
    for n in range(count):
        response = await client.post("/v1/auth/dev", json={"name": f"resident-{n}"})
        assert response.status_code == 200, response.text
        tokens.append(response.json())
    return tokens


async def _resident_id(api: Api, tokens: dict[str, Any]) -> int:
    public = (await api.client.get("/v1/me", headers=bearer(tokens))).json()["id"]
    async with api.db.engine.connect() as connection:
        row = await connection.exec_driver_sql("SELECT id FROM accounts_resident WHERE public_id = $1", (public,))
        return int(row.scalar_one())


async def test_reports_of_many_residents_sent_at_once_each_get_their_own_result(api: Api) -> None:
    residents = await _residents(api.client, 12)
    # n + 1 km each: every report's credit, and so its balance, is its own
    bodies = [
        behaviour_body("metro_ride", str(n + 1), ago(hours=2), evidence=SITE_CODES) for n in range(len(residents))
    ]

    responses = await asyncio.gather(*(record(api.client, t, b) for t, b in zip(residents, bodies, strict=True)))

    for n, (response, body) in enumerate(zip(responses, bodies, strict=True)):
        assert response.status_code == 201, response.text
        recorded = response.json()
        grams = floor_g(Decimal("46.8") * (n + 1))
        assert (recorded["client_id"], recorded["credited_g"], recorded["balance_g"]) == (
            body["client_id"],
            grams,
            grams,
        )
        assert await balance(api.client, residents[n]) == grams
        assert [item["id"] for item in (await history(api.client, residents[n]))["items"]] == [recorded["id"]]
    await assert_ledger_invariants(api)


async def test_one_residents_reports_sent_at_once_go_one_at_a_time_and_see_each_other(api: Api) -> None:
    alice, bob = await _residents(api.client, 2)
    trip = ago(hours=3)
    # Two reports of one metro trip (the second with codes scanned two minutes later) and a later ride:
    # the second report of the trip must meet the first already stored, as separate requests would.
    bodies = [
        behaviour_body("metro_ride", "10", trip, evidence=SITE_CODES),
        behaviour_body("metro_ride", "10", trip + timedelta(minutes=2), evidence=SITE_CODES),
        behaviour_body("metro_ride", "10", ago(hours=1), evidence=SITE_CODES),
    ]

    responses = await asyncio.gather(
        *(record(api.client, alice, b) for b in bodies),
        record(api.client, bob, behaviour_body("metro_ride", "10", trip, evidence=SITE_CODES)),
    )

    alices, bobs = responses[:3], responses[3]
    assert sorted(r.status_code for r in alices) == [201, 201, 409], [r.text for r in alices]
    assert_problem(next(r for r in alices if r.status_code == 409), 409, "TRIP_ALREADY_RECORDED")
    balances = sorted(r.json()["balance_g"] for r in alices if r.status_code == 201)
    assert balances == [METRO_10_KM_G, 2 * METRO_10_KM_G]
    assert await balance(api.client, alice) == 2 * METRO_10_KM_G
    assert bobs.status_code == 201, bobs.text
    assert await balance(api.client, bob) == METRO_10_KM_G
    await assert_ledger_invariants(api)


async def test_a_resident_over_the_write_limit_is_refused_while_reports_sent_with_it_are_recorded(
    make_api: MakeApi,
) -> None:
    api = await make_api(rate_resident_writes_per_min=2)
    alice, bob = await _residents(api.client, 2)
    alices = [behaviour_body("metro_ride", "10", ago(hours=h), evidence=SITE_CODES) for h in (1, 2, 3)]

    responses = await asyncio.gather(
        *(record(api.client, alice, b) for b in alices),
        record(api.client, bob, behaviour_body("metro_ride", "10", ago(hours=1), evidence=SITE_CODES)),
    )

    assert sorted(r.status_code for r in responses[:3]) == [201, 201, 429], [r.text for r in responses]
    refused = next(r for r in responses[:3] if r.status_code == 429)
    assert_problem(refused, 429, "RATE_LIMITED")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert responses[3].status_code == 201, responses[3].text
    # the refused report changed nothing: two behaviours, two credits
    assert len((await history(api.client, alice))["items"]) == 2
    assert await balance(api.client, alice) == 2 * METRO_10_KM_G
    assert await balance(api.client, bob) == METRO_10_KM_G
    await assert_ledger_invariants(api)


def _report(api: Api, resident_id: int, *, hours_ago: float = 2, km: str = "10", **changes: Any) -> Posting:
    """A report as `reports.report` hands it to the recorder, with `changes` made to it."""
    cache: FactorCache = api.app.state.factor_cache
    body = BehaviourCreate.model_validate(behaviour_body("metro_ride", km, ago(hours=hours_ago), evidence=SITE_CODES))
    assert body.evidence is not None
    now = datetime.now(UTC)
    digest = reports.resident_content_hash(body, reports.resident_evidence(body))
    prepared = prepare(body, cache=cache, tier="evidence", now=now, content_sha256=digest)
    codes = evidence.check_codes(
        body.evidence,
        rule=prepared.resolved.factor.evidence,
        sites=api.app.state.site_cache,
        occurred_at=prepared.occurred_at,
        ended_at=prepared.ended_at,
        now=now,
    )
    checked = evidence.checked(codes, None, rule=prepared.resolved.factor.evidence, resident_id=resident_id)
    return cast(Posting, {**reports.resident_posting(resident_id, body, prepared, checked), **changes})


async def _counted_recorder(api: Api, calls: list[int], *, writes_per_min: int = 10_000) -> Recorder:
    """A recorder of the app's database like the app's own, which counts its calls in `calls`."""

    @asynccontextmanager
    async def counted() -> AsyncIterator[asyncpg.Connection]:
        async with api.db.statement_connection() as connection:
            calls.append(1)
            yield connection

    recorder = Recorder(connect=counted, budget_g=None, resident_write_limit=Limit(writes_per_min))
    await recorder.load(api.db.sessionmaker)
    return recorder


TODAY = local_date(datetime.now(UTC))


async def test_two_reports_of_one_resident_never_share_a_call(api: Api) -> None:
    alice, bob = [await _resident_id(api, t) for t in await _residents(api.client, 2)]
    calls: list[int] = []
    recorder = await _counted_recorder(api, calls)
    # the same trip twice, the second report scanned two minutes later: they meet as separate requests
    # would, one after the other
    trip = _report(api, alice, hours_ago=3)
    same_trip = _report(api, alice, hours_ago=3 - 2 / 60)

    rows = await asyncio.gather(
        recorder.post(trip, today=TODAY),
        recorder.post(same_trip, today=TODAY),
        recorder.post(_report(api, bob, hours_ago=3), today=TODAY),
    )

    assert len(calls) == 2
    assert sorted(type(row).__name__ for row in rows[:2]) == [DuplicateTrip.__name__, Recorded.__name__]
    assert isinstance(rows[2], Recorded)
    await assert_ledger_invariants(api)


async def test_a_call_whose_every_record_is_over_its_limit_records_nothing(api: Api) -> None:
    alice, bob = [await _resident_id(api, t) for t in await _residents(api.client, 2)]
    calls: list[int] = []
    recorder = await _counted_recorder(api, calls, writes_per_min=1)
    first = await asyncio.gather(
        recorder.post(_report(api, alice, hours_ago=1), today=TODAY),
        recorder.post(_report(api, bob, hours_ago=1), today=TODAY),
    )
    assert all(isinstance(row, Recorded) for row in first), first

    second = await asyncio.gather(
        recorder.post(_report(api, alice, hours_ago=2), today=TODAY),
        recorder.post(_report(api, bob, hours_ago=2), today=TODAY),
    )

    assert len(calls) == 2
    assert all(isinstance(row, WriteLimited) and 0 < row.retry_after_s <= 60 for row in second), second
    async with api.db.engine.connect() as connection:
        stored = await connection.exec_driver_sql("SELECT count(*) FROM ingest_behaviour")
        assert stored.scalar_one() == 2
    await assert_ledger_invariants(api)


async def test_reports_waiting_together_share_a_call_and_a_refused_record_fails_only_itself(api: Api) -> None:
    residents = [await _resident_id(api, t) for t in await _residents(api.client, 4)]
    calls: list[int] = []
    recorder = await _counted_recorder(api, calls)
    today = TODAY
    good = [_report(api, r) for r in residents[:3]]
    # a tier the ledger does not know: the database refuses the record (a check constraint)
    bad = _report(api, residents[3], tier="hearsay")

    shared = await asyncio.gather(*(recorder.post(g, today=today) for g in good))
    assert len(calls) == 1
    assert all(isinstance(row, Recorded) for row in shared), shared
    calls.clear()

    again = [_report(api, r, hours_ago=4, km=km) for r, km in zip(residents[:2], ("5", "20"), strict=True)]
    outcomes = await asyncio.gather(
        recorder.post(again[0], today=today),
        recorder.post(bad, today=today),
        recorder.post(again[1], today=today),
        return_exceptions=True,
    )

    assert isinstance(outcomes[1], asyncpg.CheckViolationError), outcomes[1]
    first, third = outcomes[0], outcomes[2]
    assert isinstance(first, Recorded), first
    assert isinstance(third, Recorded), third
    assert (first.credited_g, first.balance_after) == (234, METRO_10_KM_G + 234)
    assert (third.credited_g, third.balance_after) == (936, METRO_10_KM_G + 936)
    assert len(calls) == 1 + 3  # the shared call that failed, then each record alone
    async with api.db.engine.connect() as connection:
        stored = await connection.exec_driver_sql(
            "SELECT count(*) FROM ingest_behaviour WHERE resident_id = $1", (residents[3],)
        )
        assert stored.scalar_one() == 0
    await assert_ledger_invariants(api)
