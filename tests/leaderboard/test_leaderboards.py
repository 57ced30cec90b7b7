"""Leaderboards through HTTP: top boards, a resident's own standing, scopes, categories, groups, periods
in Asia/Shanghai time, opt-out, reversal and ties. The roll-up is driven by hand (`roll_up`) so that each
test knows what the public boards have seen; one test lets the background task do it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import text

from service.accounts.models import Role
from service.leaderboard import rollup
from tests.conftest import Api, bearer
from tests.fixtures.behaviours import (
    SHANGHAI,
    SITE_CODES,
    Tokens,
    assert_ledger_invariants,
    assert_problem,
    behaviour,
    behaviour_body,
    local_day,
    record_ok,
)

BOARD = "/v1/leaderboards/residents"
MINE = "/v1/me/leaderboard"
GROUPS = "/v1/leaderboards/groups"

SignIn = Callable[[str], Awaitable[Tokens]]


@pytest.fixture
async def api(make_api: Callable[..., Awaitable[Api]]) -> Api:
    return await make_api(leaderboard_rollup=False)


async def roll_up(api: Api) -> None:
    """Fold every committed ledger entry into the boards, and refresh group sizes."""
    while True:
        step = await rollup.run_once(api.db, refresh_sizes=True)
        if not step.behind:
            return


def board_day() -> str:
    """Rides are placed on yesterday in Shanghai (`local_day`), so boards are asked about that day."""
    return local_day(12).astimezone(SHANGHAI).date().isoformat()


_rides_so_far: dict[str, int] = {}


async def ride(client: httpx.AsyncClient, tokens: Tokens, km: str, at: datetime | None = None) -> dict[str, Any]:
    """An evidence-backed metro ride, floor(46.8 × km) grams at once; by default each resident's rides
    half an hour apart on `board_day()`."""
    if at is None:
        count = _rides_so_far.get(tokens["access_token"], 0)
        _rides_so_far[tokens["access_token"]] = count + 1
        at = local_day(6 + count // 2, 30 * (count % 2))
    body = behaviour_body("metro_ride", km, at, evidence=SITE_CODES)
    return await record_ok(client, tokens, body)


async def resident(client: httpx.AsyncClient, sign_in: SignIn, name: str, nickname: str, **profile: Any) -> Tokens:
    tokens = await sign_in(name)
    response = await client.patch("/v1/me", json={"nickname": nickname, **profile}, headers=bearer(tokens))
    assert response.status_code == 200, response.text
    return tokens


async def board(client: httpx.AsyncClient, tokens: Tokens, **params: Any) -> dict[str, Any]:
    response = await client.get(BOARD, params={"on": board_day(), **params}, headers=bearer(tokens))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def mine(client: httpx.AsyncClient, tokens: Tokens, **params: Any) -> dict[str, Any]:
    response = await client.get(MINE, params={"on": board_day(), **params}, headers=bearer(tokens))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def rows(result: dict[str, Any]) -> list[tuple[int, str, int]]:
    return [(e["rank"], e["nickname"], e["grams"]) for e in result["entries"]]


async def test_the_district_board_ranks_residents_with_masked_nicknames_and_shared_ranks_for_ties(
    api: Api, client: httpx.AsyncClient, sign_in_resident: SignIn
) -> None:
    zhang = await resident(client, sign_in_resident, "zhang", "张三丰")
    li = await resident(client, sign_in_resident, "li", "李四")
    wang = await resident(client, sign_in_resident, "wang", "王")
    zhao = await resident(client, sign_in_resident, "zhao", "赵六六六")
    await ride(client, zhang, "3")  # 140 g
    await ride(client, li, "2")  # 93 g
    await ride(client, wang, "3")  # 140 g: tied with zhang, registered later
    await ride(client, zhao, "1")  # 46 g
    await roll_up(api)

    result = await board(client, li, period="day")
    assert rows(result) == [(1, "张*丰", 140), (1, "*", 140), (3, "李*", 93), (4, "赵**六", 46)]
    assert [e["is_me"] for e in result["entries"]] == [False, False, True, False]
    text_of_reply = str(result)
    for secret in ("dev:zhang", "openid", "phone"):
        assert secret not in text_of_reply
    # the same request twice gives the same order: ties are broken by registration
    assert rows(await board(client, li, period="day")) == rows(result)
    assert rows(await board(client, li, period="day", limit=2)) == rows(result)[:2]
    await assert_ledger_invariants(api)


async def test_a_residents_own_standing_counts_new_credits_at_once_and_shows_neighbours(
    api: Api, client: httpx.AsyncClient, sign_in_resident: SignIn
) -> None:
    names = ["甲一", "乙二", "丙三", "丁四", "戊五"]
    tokens = [await resident(client, sign_in_resident, f"r{i}", n) for i, n in enumerate(names)]
    for i, t in enumerate(tokens):
        await ride(client, t, str(i + 1))  # 46, 93, 140, 187, 234 g
    await roll_up(api)

    standing = await mine(client, tokens[2], period="day", neighbours=1)
    assert (standing["grams"], standing["rank"]) == (140, 3)
    assert [(e["rank"], e["grams"]) for e in standing["above"]] == [(2, 187)]
    assert [(e["rank"], e["grams"]) for e in standing["below"]] == [(4, 93)]

    # a new ride shows in my own standing before any roll-up; the public board still lags
    await ride(client, tokens[2], "2")  # +93 → 233 g
    standing = await mine(client, tokens[2], period="day", neighbours=2)
    assert (standing["grams"], standing["rank"]) == (233, 2)
    assert [e["grams"] for e in standing["above"]] == [234]
    assert [e["grams"] for e in standing["below"]] == [187, 93]
    assert [e["grams"] for e in (await board(client, tokens[0], period="day"))["entries"]] == [234, 187, 140, 93, 46]

    await roll_up(api)
    assert [e["grams"] for e in (await board(client, tokens[0], period="day"))["entries"]] == [234, 233, 187, 93, 46]
    assert (await mine(client, tokens[2], period="day"))["rank"] == 2

    newcomer = await resident(client, sign_in_resident, "newcomer", "新人")
    nothing = await mine(client, newcomer, period="day")
    assert (nothing["grams"], nothing["rank"]) == (0, None)


async def test_opted_out_residents_leave_public_boards_but_see_their_own_standing(
    api: Api, client: httpx.AsyncClient, sign_in_resident: SignIn
) -> None:
    shy = await resident(client, sign_in_resident, "shy", "害羞")
    open_ = await resident(client, sign_in_resident, "open", "开朗")
    await ride(client, shy, "5")  # 234 g
    await ride(client, open_, "1")  # 46 g
    await roll_up(api)
    first = await board(client, open_, period="week")
    handle = first["entries"][0]["handle"]
    assert [e["grams"] for e in first["entries"]] == [234, 46]
    # a resident's profile carries the handle the boards show for them
    assert (await client.get("/v1/me", headers=bearer(shy))).json()["handle"] == handle
    assert (await client.get("/v1/me", headers=bearer(open_))).json()["handle"] == first["entries"][1]["handle"]
    seen = await client.get(f"{BOARD}/{handle}", params={"period": "week", "on": board_day()}, headers=bearer(open_))
    assert seen.status_code == 200
    assert seen.json()["rank"] == 1

    response = await client.patch("/v1/me", json={"leaderboard_visible": False}, headers=bearer(shy))
    assert response.status_code == 200
    await roll_up(api)

    assert [e["grams"] for e in (await board(client, open_, period="week"))["entries"]] == [46]
    assert (await mine(client, open_, period="week"))["rank"] == 1
    own = await mine(client, shy, period="week", neighbours=3)
    assert (own["visible"], own["grams"], own["rank"]) == (False, 234, 1)
    hidden = await client.get(f"{BOARD}/{handle}", params={"period": "week", "on": board_day()}, headers=bearer(open_))
    assert_problem(hidden, 403, "STANDING_HIDDEN")
    # the opted-out resident may still look themselves up by handle
    assert (
        await client.get(f"{BOARD}/{handle}", params={"period": "week", "on": board_day()}, headers=bearer(shy))
    ).status_code == 200

    # opting back in puts them back
    await client.patch("/v1/me", json={"leaderboard_visible": True}, headers=bearer(shy))
    await roll_up(api)
    assert [e["grams"] for e in (await board(client, open_, period="week"))["entries"]] == [234, 46]


async def test_reversed_credits_leave_the_boards(
    api: Api, client: httpx.AsyncClient, sign_in_resident: SignIn, sign_in_staff: Callable[..., Awaitable[Tokens]]
) -> None:
    cheat = await resident(client, sign_in_resident, "cheat", "作弊者")
    honest = await resident(client, sign_in_resident, "honest", "老实人")
    big = await behaviour(client, cheat, (await ride(client, cheat, "10"))["id"])  # 468 g
    await ride(client, cheat, "1")  # 46 g
    await ride(client, honest, "2")  # 93 g
    await roll_up(api)
    assert [e["grams"] for e in (await board(client, honest, period="month"))["entries"]] == [514, 93]

    operator = await sign_in_staff(Role.admin_operator)
    reversed_ = await client.post(
        f"/v1/admin/transfers/{big['transfer_id']}/reverse",
        json={"reason": "fabricated trip"},
        headers=bearer(operator),
    )
    assert reversed_.status_code == 201, reversed_.text
    # the cheat's own standing drops at once, counted against the tallies that still hold the old score
    own = await mine(client, cheat, period="month")
    assert (own["grams"], own["rank"]) == (46, 2)
    await roll_up(api)
    assert [e["grams"] for e in (await board(client, honest, period="month"))["entries"]] == [93, 46]
    assert (await mine(client, honest, period="month"))["rank"] == 1
    assert (await mine(client, cheat, period="all"))["grams"] == 46
    await assert_ledger_invariants(api)


async def test_days_and_weeks_turn_at_midnight_in_shanghai(
    api: Api, client: httpx.AsyncClient, sign_in_resident: SignIn
) -> None:
    owl = await resident(client, sign_in_resident, "owl", "夜猫子")
    today = datetime.now(SHANGHAI).date()
    two_days_ago = today - timedelta(days=2)
    yesterday = today - timedelta(days=1)
    late = datetime(two_days_ago.year, two_days_ago.month, two_days_ago.day, 23, 59, 30, tzinfo=SHANGHAI)
    early = datetime(yesterday.year, yesterday.month, yesterday.day, 0, 0, 30, tzinfo=SHANGHAI)
    # 23:59:30 and 00:00:30 local are 15:59:30 and 16:00:30 UTC on the same UTC day
    assert late.astimezone(UTC).date() == early.astimezone(UTC).date()
    for km, at in (("0.5", late), ("0.6", early)):  # 23 g on the first day, 28 g on the next
        body = behaviour_body("metro_ride", km, at, ended_at=at + timedelta(seconds=25), evidence=SITE_CODES)
        await record_ok(client, owl, body)
    await roll_up(api)

    assert (await mine(client, owl, period="day", on=two_days_ago.isoformat()))["grams"] == 23
    assert (await mine(client, owl, period="day", on=yesterday.isoformat()))["grams"] == 28
    on_late = await board(client, owl, period="day", on=two_days_ago.isoformat())
    assert [e["grams"] for e in on_late["entries"]] == [23]
    assert on_late["board"]["period_start"] == two_days_ago.isoformat()
    assert on_late["board"]["period_end"] == yesterday.isoformat()
    week = await mine(client, owl, period="week", on=yesterday.isoformat())
    monday = yesterday - timedelta(days=yesterday.weekday())
    assert week["board"]["period_start"] == monday.isoformat()
    assert week["grams"] == (51 if two_days_ago >= monday else 28)
    assert (await mine(client, owl, period="all"))["grams"] == 51


async def test_community_and_organisation_boards_and_category_boards(
    api: Api, client: httpx.AsyncClient, sign_in_resident: SignIn
) -> None:
    communities = (await client.get("/v1/communities")).json()
    first, second = communities[0]["id"], communities[1]["id"]
    a = await resident(client, sign_in_resident, "a", "阿一", community_id=first)
    b = await resident(client, sign_in_resident, "b", "阿二", community_id=first)
    c = await resident(client, sign_in_resident, "c", "阿三", community_id=second)
    loner = await resident(client, sign_in_resident, "loner", "独行")
    await ride(client, a, "1")  # 46
    await ride(client, b, "2")  # 93
    await ride(client, c, "5")  # 234
    waste = behaviour_body("waste_sorting", "2", local_day(20), category="recyclables", evidence=SITE_CODES)
    await record_ok(client, a, waste)  # 2 kg × 201 × 0.5 = 201 g
    await roll_up(api)

    own_community = await board(client, a, period="day", scope="community")
    assert [e["grams"] for e in own_community["entries"]] == [247, 93]
    assert own_community["board"]["scope_id"] == first
    other = await board(client, a, period="day", scope="community", scope_id=second)
    assert [e["grams"] for e in other["entries"]] == [234]
    assert [e["grams"] for e in (await board(client, a, period="day"))["entries"]] == [247, 234, 93]
    travel = await board(client, a, period="day", category="green_travel")
    assert [e["grams"] for e in travel["entries"]] == [234, 93, 46]
    sorting = await board(client, a, period="day", category="waste_sorting")
    assert [e["grams"] for e in sorting["entries"]] == [201]
    assert (await mine(client, a, period="day", category="green_travel"))["rank"] == 3
    assert (await mine(client, a, period="day", scope="community"))["rank"] == 1

    assert_problem(await client.get(BOARD, params={"scope": "community"}, headers=bearer(loner)), 400, "SCOPE_REQUIRED")
    assert_problem(
        await client.get(BOARD, params={"scope": "community", "scope_id": 999_999}, headers=bearer(a)),
        404,
        "UNKNOWN_SCOPE",
    )

    # moving community moves the resident's standing with them
    await client.patch("/v1/me", json={"community_id": second}, headers=bearer(b))
    await roll_up(api)
    assert [e["grams"] for e in (await board(client, a, period="day", scope="community"))["entries"]] == [247]
    assert [e["grams"] for e in (await board(client, c, period="day", scope="community"))["entries"]] == [234, 93]
    # credits after the move count in the new community, and every board's tallies agree with its scores
    await ride(client, b, "1")
    await roll_up(api)
    assert [e["grams"] for e in (await board(client, c, period="day", scope="community"))["entries"]] == [234, 139]
    assert (await mine(client, b, period="day", scope="community"))["rank"] == 2
    async with api.db.engine.connect() as connection:
        assert (await connection.execute(_TALLIES_OFF)).all() == []


async def test_group_boards_rank_communities_by_total_and_per_resident(
    api: Api, client: httpx.AsyncClient, sign_in_resident: SignIn
) -> None:
    communities = (await client.get("/v1/communities")).json()
    big, small = communities[0]["id"], communities[1]["id"]
    crowd = [await resident(client, sign_in_resident, f"crowd{i}", f"众{i}", community_id=big) for i in range(3)]
    solo = await resident(client, sign_in_resident, "solo", "独", community_id=small)
    for tokens in crowd:
        await ride(client, tokens, "2")  # 3 × 93 = 279 g over 3 residents
    await ride(client, solo, "4")  # 187 g over 1 resident
    await roll_up(api)

    async def groups(**params: Any) -> list[tuple[int, int, int, float]]:
        response = await client.get(GROUPS, params={"period": "day", "on": board_day(), **params}, headers=bearer(solo))
        assert response.status_code == 200, response.text
        return [(e["rank"], e["id"], e["grams"], e["grams_per_resident"]) for e in response.json()["entries"]][:2]

    assert await groups() == [(1, big, 279, 93.0), (2, small, 187, 187.0)]
    assert await groups(order="per_resident") == [(1, small, 187, 187.0), (2, big, 279, 93.0)]
    assert (await client.get(GROUPS, params={"kind": "organisation"}, headers=bearer(solo))).status_code == 200


async def test_bad_board_requests_get_a_clear_4xx(client: httpx.AsyncClient, sign_in_resident: SignIn) -> None:
    tokens = await sign_in_resident("picky")
    for params, status in (
        ({"period": "fortnight"}, 422),
        ({"scope": "galaxy"}, 422),
        ({"category": "flying"}, 422),
        ({"limit": 0}, 422),
        ({"limit": 101}, 422),
        ({"on": "not-a-date"}, 422),
    ):
        response = await client.get(BOARD, params=params, headers=bearer(tokens))
        assert response.status_code == status, (params, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert (await client.get(MINE, params={"neighbours": 11}, headers=bearer(tokens))).status_code == 422
    assert_problem(await client.get(f"{BOARD}/no-such-handle", headers=bearer(tokens)), 404, "NOT_FOUND")
    assert (await client.get(BOARD)).status_code == 401


async def test_the_background_roll_up_keeps_public_boards_a_few_seconds_behind(
    make_api: Callable[..., Awaitable[Api]], sign_in_resident: SignIn
) -> None:
    live = await make_api(leaderboard_rollup=True, leaderboard_rollup_interval_s=0.2)
    response = await live.client.post("/v1/auth/dev", json={"name": "busy"})
    tokens = response.json()
    await ride(live.client, tokens, "2")
    for _ in range(100):
        entries = (await board(live.client, tokens, period="day"))["entries"]
        if entries:
            break
        await asyncio.sleep(0.1)
    assert [e["grams"] for e in entries] == [93]


async def test_the_roll_up_yields_to_busy_recording_and_catches_up_at_once_when_it_is_quiet(
    api: Api, client: httpx.AsyncClient, sign_in_resident: SignIn
) -> None:
    """A long pass while entries keep arriving is followed by a pause of twice its length; a backlog on a
    quiet ledger is rolled up without pause; ordinary passes keep the interval."""
    await ride(client, await sign_in_resident("steady"), "1")
    quiet = await rollup.run_once(api.db)
    assert quiet.rolled
    assert not quiet.recording

    # An entry id taken while the pass runs: a transaction the pass waits for takes one and commits.
    async with api.db.engine.connect() as writer:
        await writer.execute(text("SELECT pg_current_xact_id()"))
        step = asyncio.create_task(rollup.run_once(api.db))
        await asyncio.sleep(0.3)
        assert not step.done()  # waiting for the writer's transaction
        await writer.execute(text("SELECT nextval('ledger_entry_id_seq')"))
        await writer.commit()
    assert (await step).recording

    busy = rollup.Rolled(rolled=True, upto=10, behind=True, recording=True)
    assert rollup.pause_after(busy, took_s=1.5, interval_s=1.0) == pytest.approx(3.0)
    assert rollup.pause_after(busy, took_s=0.1, interval_s=1.0) == 1.0
    backlog = rollup.Rolled(rolled=True, upto=10, behind=True, recording=False)
    assert rollup.pause_after(backlog, took_s=1.5, interval_s=1.0) == 0.0
    caught_up = rollup.Rolled(rolled=True, upto=10, behind=False, recording=False)
    assert rollup.pause_after(caught_up, took_s=1.5, interval_s=1.0) == 1.0


async def test_concurrent_recording_is_rolled_up_exactly_once(
    api: Api, client: httpx.AsyncClient, sign_in_resident: SignIn
) -> None:
    """Rides commit out of id order while roll-ups run: every credited gram lands on the boards once."""
    residents = [await sign_in_resident(f"rush{i}") for i in range(8)]

    async def rides(tokens: Tokens) -> None:
        for _ in range(5):
            await ride(client, tokens, "1")

    async def roll_while(task: asyncio.Future[Any]) -> None:
        while not task.done():
            await rollup.run_once(api.db)
            await asyncio.sleep(0.01)

    recording = asyncio.gather(*(rides(t) for t in residents))
    await asyncio.gather(recording, roll_while(recording))
    await roll_up(api)
    async with api.db.sessionmaker() as session:
        mismatched = (
            await session.execute(
                text(
                    """
                    SELECT a.resident_id FROM ledger_account a
                      LEFT JOIN leaderboard_score s ON s.resident_id = a.resident_id AND s.period = 'all'
                           AND s.category = 'all'
                     WHERE a.kind = 'resident' AND COALESCE(s.grams, 0) <> a.balance
                    """
                )
            )
        ).all()
    assert mismatched == []
    assert sum(e["grams"] for e in (await board(client, residents[0], period="all"))["entries"]) == 8 * 5 * 46


_TALLIES_OFF = text(
    """
    WITH counted AS (
        SELECT period, period_start, category, 'district'::leaderboard_scope AS scope, 0::bigint AS scope_id, grams
          FROM leaderboard_score WHERE visible AND grams > 0
        UNION ALL
        SELECT period, period_start, category, 'community', community_id, grams
          FROM leaderboard_score WHERE visible AND grams > 0 AND community_id IS NOT NULL
        UNION ALL
        SELECT period, period_start, category, 'organisation', organisation_id, grams
          FROM leaderboard_score WHERE visible AND grams > 0 AND organisation_id IS NOT NULL
    ), fine AS (
        SELECT period, period_start, category, scope, scope_id, grams, count(*) AS residents
          FROM counted GROUP BY 1, 2, 3, 4, 5, 6
    )
    SELECT * FROM fine f FULL JOIN (SELECT * FROM leaderboard_tally_fine WHERE residents <> 0) t
        USING (period, period_start, category, scope, scope_id, grams)
     WHERE f.residents IS DISTINCT FROM t.residents
    """
)


async def test_ranks_inside_one_score_bucket_come_from_the_fine_tally(
    api: Api, client: httpx.AsyncClient, sign_in_resident: SignIn
) -> None:
    km = {"a": "30", "b": "31", "c": "32", "d": "32", "e": "33"}  # 1404, 1450, 1497, 1497, 1544 g
    tokens = {name: await resident(client, sign_in_resident, name, f"居民{name}") for name in km}
    for name, distance in km.items():
        await ride(client, tokens[name], distance)
    await roll_up(api)

    ranks = {name: (await mine(client, tokens[name], period="day"))["rank"] for name in km}
    assert ranks == {"e": 1, "c": 2, "d": 2, "b": 4, "a": 5}
    a = await mine(client, tokens["a"], period="day", neighbours=2)
    assert [(e["rank"], e["grams"]) for e in a["above"]] == [(2, 1497), (4, 1450)]

    await client.patch("/v1/me", json={"leaderboard_visible": False}, headers=bearer(tokens["c"]))
    await roll_up(api)
    assert (await mine(client, tokens["b"], period="day"))["rank"] == 3
    assert (await mine(client, tokens["a"], period="day"))["rank"] == 4
    assert rows(await board(client, tokens["a"], period="day")) == [
        (1, "居*e", 1544),
        (2, "居*d", 1497),
        (3, "居*b", 1450),
        (4, "居*a", 1404),
    ]
    async with api.db.engine.connect() as connection:
        assert (await connection.execute(_TALLIES_OFF)).all() == []


async def test_a_public_top_board_is_served_from_memory_for_its_cache_time(
    api: Api, client: httpx.AsyncClient, sign_in_resident: SignIn, make_api: Callable[..., Awaitable[Api]]
) -> None:
    cached = (await make_api(leaderboard_rollup=False, leaderboard_cache_s=0.5)).client
    first = await resident(client, sign_in_resident, "cache-a", "张三丰")
    second = await resident(client, sign_in_resident, "cache-b", "李四")
    await ride(client, first, "3")  # 140 g
    await ride(client, second, "2")  # 93 g
    await roll_up(api)
    seen = await board(cached, second, period="day")
    assert rows(seen) == [(1, "张*丰", 140), (2, "李*", 93)]

    await ride(client, second, "2")  # 93 g more: 186 g, above the first resident
    await roll_up(api)
    # within the cache time every reader gets the board as it was read, each with their own row marked
    again = await board(cached, first, period="day")
    assert rows(again) == rows(seen)
    assert [e["is_me"] for e in again["entries"]] == [True, False]
    assert [e["is_me"] for e in (await board(cached, second, period="day"))["entries"]] == [False, True]
    assert rows(await board(cached, second, period="day", limit=1)) == rows(seen)[:1]
    # a resident's own standing is never cached: their new credits count at once
    assert (await mine(cached, second, period="day"))["grams"] == 186
    assert (await mine(cached, second, period="day"))["rank"] == 1

    await asyncio.sleep(0.6)
    assert rows(await board(cached, first, period="day")) == [(1, "李*", 186), (2, "张*丰", 140)]


async def test_board_reads_run_on_connections_the_database_keeps_read_only(api: Api) -> None:
    async with api.db.read_connection() as connection:
        assert await connection.fetchval("SELECT count(*) FROM leaderboard_state") == 1
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await connection.execute("UPDATE leaderboard_state SET rolled_at = now()")
