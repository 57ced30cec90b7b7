"""`make bench-dashboard`: the district dashboard's server time over a district-sized ledger.

Seeds a scratch database with 1,000,000 residents in the district's communities and 2,500,000 credited
behaviours of every type spread over the last 365 days, with their issuance transfers and 5,000,000 ledger
entries (BENCH_SCALE shrinks them), then asks the service on loopback for the dashboard as the console
does: the last 30 days by day (the console's first view), the last 12 months by month, the CSV of the 30
days, and a town officer's 30 days (one community's residents). Prints one JSON line per view: the first
answer's time (cold) and the median and worst of the next five, in milliseconds, measured at the client
on loopback with one request in flight, so that they are the server's time plus a loopback round trip.

It runs against the PostgreSQL the tests use (service.kit.devdb), in a scratch database dropped at the end.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx

from load_tests.bench import SKIP_FILLER_SEALING_SQL, emit, log, timed
from load_tests.common.service import free_port, start_service, wait_ready
from service.accounts.models import Role
from service.accounts.tokens import Keyring, Principal
from service.audit import tally
from service.config import Settings
from service.db import Database, run_migrations
from service.factors import service as factors_service
from service.kit.devdb import CHECKOUT, admin_connection, asyncpg_dsn, development_server, with_database

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
RESIDENTS = int(1_000_000 * SCALE)
BEHAVIOURS = int(2_500_000 * SCALE)  # one issuance transfer each, two entries per transfer
DAYS = 365
REPEATS = 5
SHANGHAI = ZoneInfo("Asia/Shanghai")

SEED_SQL = (
    "SET session_replication_role = replica",
    """
    INSERT INTO accounts_resident (openid, pseudonym, nickname, community_id, created_at)
    SELECT 'dash:' || g, 'r-dash-' || g, '居民' || g,
           (SELECT id FROM accounts_community ORDER BY id OFFSET g % 12 LIMIT 1),
           now() - interval '400 days' + g * interval '1 second'
      FROM generate_series(1, $1::bigint) g
    """,
    "INSERT INTO ledger_account (kind, resident_id) SELECT 'resident', id FROM accounts_resident",
    "ANALYZE accounts_resident, ledger_account",
)

# Behaviours in chunks: the type and resident vary with g, the day runs over the last DAYS days.
SEED_BEHAVIOURS_SQL = """
INSERT INTO ingest_behaviour (resident_id, source, client_id, behaviour_type, trip_group, quantity,
    reported_quantity, reported_unit, unit, occurred_at, ended_at, local_date, tier, status,
    factor_version_id, reduction_g_per_unit, weight, exact_g, grams, remainder_g, credited_g, capped_g,
    content_sha256)
SELECT r.first_id + (g * 7919) % r.n, 'resident', gen_random_uuid(),
       (ARRAY['metro_ride', 'bus_ride', 'hydrogen_bus_ride', 'shared_bike', 'walking', 'waste_sorting',
              'low_carbon_visit'])[1 + g % 7],
       'g' || g, 5, 5, 'km', 'km', d.at, d.at + interval '20 minutes', (d.at AT TIME ZONE 'Asia/Shanghai')::date,
       'partner', 'credited', $2, 46.8, 1, 234, 234, 0, 234, 0, decode('00', 'hex')
  FROM generate_series($3::bigint, $3::bigint + $1 - 1) g
 CROSS JOIN (SELECT min(id) AS first_id, count(*) AS n FROM accounts_resident) r
 CROSS JOIN LATERAL (SELECT $4::timestamptz - (g % $5) * interval '1 day' - (g % 86000) * interval '1 second') d(at)
"""

SEED_TRANSFERS_SQL = """
INSERT INTO ledger_transfer (kind, debit_account_id, credit_account_id, amount, behaviour_id, factor_version_id)
SELECT 'issuance', $1::bigint, a.id, b.credited_g, b.id, b.factor_version_id
  FROM ingest_behaviour b JOIN ledger_account a ON a.resident_id = b.resident_id
 WHERE b.id > $2
"""

SEED_ENTRIES_SQL = """
INSERT INTO ledger_entry (transfer_id, account_id, amount)
SELECT id, debit_account_id, -amount FROM ledger_transfer WHERE id > $1
UNION ALL
SELECT id, credit_account_id, amount FROM ledger_transfer WHERE id > $1
"""


async def seed(pool: asyncpg.Pool, version_id: int) -> None:
    today = datetime.now(SHANGHAI).replace(hour=23, minute=0, second=0, microsecond=0)
    async with pool.acquire() as connection:
        for statement in SEED_SQL:
            await (connection.execute(statement, RESIDENTS) if "$1" in statement else connection.execute(statement))
        issuance = await connection.fetchval("SELECT min(id) FROM ledger_account WHERE code LIKE 'issuance:%'")
        chunk, done = 250_000, 0
        while done < BEHAVIOURS:
            size = min(chunk, BEHAVIOURS - done)
            async with connection.transaction():
                last_behaviour = await connection.fetchval("SELECT coalesce(max(id), 0) FROM ingest_behaviour")
                last_transfer = await connection.fetchval("SELECT coalesce(max(id), 0) FROM ledger_transfer")
                await connection.execute(SEED_BEHAVIOURS_SQL, size, version_id, done, today, DAYS)
                await connection.execute("ANALYZE ingest_behaviour")
                await connection.execute(SEED_TRANSFERS_SQL, issuance, last_behaviour)
                await connection.execute("ANALYZE ledger_transfer")
                await connection.execute(SEED_ENTRIES_SQL, last_transfer)
            done += size
            log(f"  {done:,} of {BEHAVIOURS:,} behaviours")
        await connection.execute("RESET session_replication_role")
        # as autovacuum would have left a district's tables: visibility maps set, statistics fresh
        await connection.execute("VACUUM ANALYZE")
        await connection.execute("CHECKPOINT")


async def measure(client: httpx.AsyncClient, name: str, path: str, params: dict[str, Any]) -> None:
    timings = []
    for _ in range(1 + REPEATS):
        began = time.perf_counter()
        reply = await client.get(path, params=params)
        timings.append((time.perf_counter() - began) * 1000)
        reply.raise_for_status()
    emit(
        name=name,
        cold_ms=round(timings[0], 1),
        median_ms=round(statistics.median(timings[1:]), 1),
        max_ms=round(max(timings[1:]), 1),
        bytes=len(reply.content),
    )


async def run(url: str) -> None:
    settings = Settings(_env_file=None, env="test", database_url=url, migrate_on_start=False)  # type: ignore[arg-type]
    await asyncio.to_thread(run_migrations, url)
    db = Database(url, settings=settings)
    async with db.sessionmaker.begin() as session:
        await factors_service.publish_directory(session, directory=CHECKOUT / "emission_factors", published_by="bench")
    await db.dispose()
    pool = await asyncpg.create_pool(**asyncpg_dsn(url), min_size=1, max_size=1)
    assert pool is not None
    version_id = await pool.fetchval("SELECT min(id) FROM factor_version")
    await timed(f"seed {RESIDENTS:,} residents and {BEHAVIOURS:,} behaviours", lambda: seed(pool, version_id))
    # The filler is history the boards, the log and the fraud scan already took: they start after it, so
    # that the service measured is not busy with it. The dashboard's tallies are rolled up, as a running
    # service keeps them.
    await pool.execute("UPDATE leaderboard_state SET rolled_entry_id = (SELECT max(id) FROM ledger_entry)")
    await pool.execute(SKIP_FILLER_SEALING_SQL)
    entries = await pool.fetchval("SELECT count(*) FROM ledger_entry")
    community = await pool.fetchval("SELECT min(community_id) FROM accounts_resident")
    await pool.close()
    db = Database(url, settings=settings)
    began = time.perf_counter()
    while (await tally.run_once(db)).behind:
        pass
    emit(name="dashboard_tally_rollup", transfers=BEHAVIOURS, seconds=round(time.perf_counter() - began, 1))
    await db.dispose()
    pool = await asyncpg.create_pool(**asyncpg_dsn(url), min_size=1, max_size=1)
    assert pool is not None
    await pool.execute("VACUUM ANALYZE")
    await pool.close()
    emit(name="dashboard_data", residents=RESIDENTS, behaviours=BEHAVIOURS, ledger_entries=entries)

    keyring = Keyring(settings)
    token, _ = keyring.issue(Principal("user", 1, Role.admin_auditor))
    officer, _ = keyring.issue(Principal("user", 2, Role.admin_auditor, scope_community_id=community))
    port = free_port()
    process = start_service(url, port, workers=1)
    try:
        await wait_ready(port, process)
        today = datetime.now(SHANGHAI).date()
        month = today.replace(day=1)
        last_30 = {"start": str(today - timedelta(days=29)), "end": str(today + timedelta(days=1))}
        year_start = date(month.year - 1, month.month, 1)
        next_month = (month + timedelta(days=32)).replace(day=1)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers={"authorization": f"Bearer {token}"}, timeout=120
        ) as client:
            await measure(client, "dashboard_30_days_by_day", "/v1/admin/dashboard", {**last_30, "group_by": "day"})
            await measure(
                client,
                "dashboard_12_months_by_month",
                "/v1/admin/dashboard",
                {"start": str(year_start), "end": str(next_month), "group_by": "month"},
            )
            await measure(client, "dashboard_csv_30_days", "/v1/admin/dashboard.csv", {**last_30, "group_by": "day"})
            client.headers["authorization"] = f"Bearer {officer}"
            await measure(
                client, "dashboard_town_officer_30_days", "/v1/admin/dashboard", {**last_30, "group_by": "day"}
            )
    finally:
        process.terminate()
        process.wait(timeout=30)


async def main() -> None:
    async with development_server() as server:
        name = f"tanpuhui_dashboard_{os.getpid()}"
        admin = await admin_connection(server)
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            await run(with_database(server, name))
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
