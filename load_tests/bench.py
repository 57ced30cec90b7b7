"""`make bench`: recording throughput through HTTP against the floor of the same writes in plain asyncpg.

Prints one JSON object per line:
  floor_single, floor_batch        ingest_record_batch() called straight from asyncpg, no service (one
                                   call per event for floor_single; the service gathers the reports
                                   that arrive together into shared calls, service/ledger/posting.py)
  record_single                    POST /v1/behaviours, 32 keep-alive clients, p50/p99, after a 5 s warm-up
                                   (events_per_s counts behaviours recorded; refused requests are
                                   counted under errors)
  record_single_leaderboards_off   the same with the leaderboard roll-up switched off
  record_single_sealing_off        the same with the receipt sealer switched off (the three alternate,
                                   three times each; each line gives the median run)
  leaderboard_rollup_cost, receipt_sealing_cost
                                   how much lower record_single is than with that task off
  seal_lag                         p50/p99 from an entry's transaction to the signed checkpoint holding it,
                                   over every entry of the record_single runs
  record_batch                     POST /v1/partner/behaviours, signed batches of 1,000 naming residents
                                   by the pseudonyms of their links with the partner (it and floor_batch
                                   give the median of three runs, two batches in flight: each of two
                                   senders sends its next batch as soon as its last one is answered;
                                   an unmeasured run first, as record_single's warm-up)
  record_single_large_ledger       record_single again after 5,000,000 ledger entries are seeded (the
                                   median of three runs, as record_single's)
  leaderboard_top100, leaderboard_my_rank
                                   board reads (p50/p99) at 100 a second with 1,000,000 residents seeded,
                                   while recording runs at 300 events/s (BENCH_READS_RATE,
                                   BENCH_READS_RECORDING_RATE)
Before each measured phase, the background tasks (roll-up, sealer, fraud scan) catch up with what earlier
phases wrote, so that a phase pays only for its own work, and the database is vacuumed and analyzed, as
autovacuum keeps a running service's (tidy()).

It runs against the PostgreSQL the tests use (service.kit.devdb), in a scratch database dropped at the
end, with the service in a subprocess on 127.0.0.1. Sizes shrink with BENCH_SCALE (e.g. 0.1).
"""

from __future__ import annotations

import asyncio
import gc
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from load_tests.common.http import KeepAliveClient
from load_tests.common.links import link_residents
from load_tests.common.service import start_service, wait_ready
from load_tests.common.sites import METRO_IN, METRO_OUT, seed_sites
from service.accounts import partners
from service.accounts.models import Role
from service.accounts.signing import signed_headers
from service.accounts.tokens import Keyring, Principal
from service.config import Settings
from service.db import Database, run_migrations
from service.factors import service as factors_service
from service.factors.cache import FactorCache
from service.factors.model import BehaviourType
from service.ingest import batches, evidence, reports
from service.ingest.schemas import BehaviourCreate, PartnerRecord
from service.ingest.validation import prepare
from service.kit.clock import local_date
from service.kit.devdb import CHECKOUT, admin_connection, asyncpg_dsn, development_server, with_database
from service.kit.ratelimit import Limit
from service.kit.secrets import SecretBox, derive_key
from service.ledger import posting
from service.ledger import repository as ledger_repository
from service.sites.cache import SiteCache

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
RESIDENTS = 20_000
CONCURRENCY = 32
SINGLE_SECONDS = max(3.0, 15 * SCALE)
WARMUP_SECONDS = 5.0
ROUNDS = 3
BATCH_SIZE = 1000
BATCHES = max(4, int(20 * SCALE))
LARGE_LEDGER_ENTRIES = int(5_000_000 * SCALE)
PORT = 8765
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
# Recording during the board reads: 300 events/s is about a million behaviours an hour, several times
# the whole district's morning rush.
READS_RECORDING_RATE = float(os.environ.get("BENCH_READS_RECORDING_RATE", "300"))
# Board reads meanwhile: 100 a second (half top 100, half own rank) from 4 clients.
READS_RATE = float(os.environ.get("BENCH_READS_RATE", "100"))
READERS = 4


def emit(**line: Any) -> None:
    print(json.dumps(line), flush=True)


def log(message: str) -> None:
    print(f"# {message}", file=sys.stderr, flush=True)


class SignedIn:
    """The seeded residents' access tokens. A bench on a slow machine outlasts a token's lifetime
    (TANPUHUI_ACCESS_TOKEN_TTL_S, ten minutes by default): each phase takes them as it starts, signed again
    once half a lifetime has passed, as a client refreshes its token, so none expires during a phase."""

    def __init__(self, keyring: Keyring, resident_ids: list[int]) -> None:
        self._keyring = keyring
        self._resident_ids = resident_ids
        self._signed_at = -math.inf
        self._tokens: list[str] = []

    def tokens(self) -> list[str]:
        if time.monotonic() - self._signed_at > self._keyring.ttl.total_seconds() / 2:
            self._tokens = [self._keyring.issue(Principal("resident", i, Role.resident))[0] for i in self._resident_ids]
            self._signed_at = time.monotonic()
        return self._tokens


# Every resident's report is a ride between two registered stations, carrying the codes they showed.
STATIONS = (METRO_IN, METRO_OUT)
RIDE = timedelta(minutes=5)


class Events:
    """Metro rides of 1 km (46 g) between the two stations, with the stations' codes, spread over many
    residents so that caps rarely bite."""

    def __init__(self, resident_ids: list[int], pseudonyms: list[str]) -> None:
        self.resident_ids = resident_ids
        # each resident's pseudonym at the bench's partner, which its records name them by
        self.pseudonyms = pseudonyms
        self.counter = 0
        self.base = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=20)
        # One round of rides shares its minutes, and so its two codes: each pair is signed once.
        self._codes: dict[datetime, dict[str, str]] = {}

    def _evidence(self, at: datetime) -> dict[str, str]:
        evidence = self._codes.get(at)
        if evidence is None:
            evidence = {"start_code": METRO_IN.code_at(at), "end_code": METRO_OUT.code_at(at + RIDE)}
            self._codes[at] = evidence
        return evidence

    def next(self) -> tuple[int, dict[str, Any]]:
        self.counter += 1
        index = self.counter % len(self.resident_ids)
        # each resident's rides ten minutes apart, so that no two are one trip
        at = self.base + timedelta(minutes=(self.counter // len(self.resident_ids)) * 10)
        body = {
            "client_id": str(uuid.uuid4()),
            "type": "metro_ride",
            "occurred_at": at.isoformat(),
            "ended_at": (at + RIDE).isoformat(),
            "quantity": "1",
            "evidence": self._evidence(at),
        }
        return index, body


def floor_posting(cache: FactorCache, sites: SiteCache, resident_id: int, body: dict[str, Any]) -> posting.Posting:
    """The report exactly as the service would hand it to the ledger, its codes checked as the service does."""
    parsed = BehaviourCreate.model_validate(body)
    assert parsed.evidence is not None
    assert parsed.ended_at is not None
    now = datetime.now(UTC)
    digest = reports.resident_content_hash(parsed, reports.resident_evidence(parsed))
    resolved = cache.resolve(parsed.type, parsed.occurred_at)
    assert resolved is not None
    rule = resolved.factor.evidence
    codes = evidence.check_codes(
        parsed.evidence, rule=rule, sites=sites, occurred_at=parsed.occurred_at, ended_at=parsed.ended_at, now=now
    )
    checked = evidence.checked(codes, None, rule=rule, resident_id=resident_id)
    prepared = prepare(parsed, cache=cache, tier=checked.tier, now=now, content_sha256=digest)
    evidence.check_distance(codes, rule=rule, quantity=prepared.quantity)
    return reports.resident_posting(resident_id, parsed, prepared, checked)


def settle_heap() -> None:
    """Before a measured run: move what this process holds by now out of its garbage collector's sight.

    A full collection walks every container object the process holds: with the service's modules, the
    residents' rows and the earlier phases' results loaded, that pause is tens of milliseconds, and it
    lands on whatever requests are in flight, as latency the service never had. Frozen objects are
    not walked; a collection during the run then looks at that run's own objects only."""
    gc.collect()
    gc.freeze()


def _percentiles(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 2),
    }


async def floor_single(
    pool: asyncpg.Pool,
    cache: FactorCache,
    sites: SiteCache,
    events: Events,
    issuance: list[int],
    *,
    seconds: float = SINGLE_SECONDS,
    emit_line: bool = True,
) -> None:
    today = local_date(datetime.now(UTC))
    ledger = posting.Ledger(issuance, None)
    latencies: list[float] = []
    settle_heap()
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        async with pool.acquire() as connection:
            while time.perf_counter() < stop:
                index, body = events.next()
                report = floor_posting(cache, sites, events.resident_ids[index], body)
                began = time.perf_counter()
                await posting.call(
                    connection,
                    [report],
                    source=posting.Source.resident,
                    partner_id=None,
                    ledger=ledger,
                    today=today,
                    write_limit=Limit(6000),
                )
                latencies.append(time.perf_counter() - began)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    elapsed = time.perf_counter() - started
    if not emit_line:
        return
    emit(
        name="floor_single",
        events_per_s=round(len(latencies) / elapsed, 1),
        **_percentiles(latencies),
        concurrency=CONCURRENCY,
    )


async def floor_batch(
    pool: asyncpg.Pool, cache: FactorCache, events: Events, issuance: list[int], partner_id: int
) -> float:
    """Events per second of one run: BATCHES batches, two in flight."""
    today = local_date(datetime.now(UTC))
    ledger = posting.Ledger(issuance, None)
    postings = iter([_partner_postings(cache, events) for _ in range(BATCHES)])
    settle_heap()
    started = time.perf_counter()

    async def sender() -> None:
        async with pool.acquire() as connection:
            for batch in postings:
                await posting.call(
                    connection, batch, source=posting.Source.partner, partner_id=partner_id, ledger=ledger, today=today
                )

    await asyncio.gather(sender(), sender())
    return BATCHES * BATCH_SIZE / (time.perf_counter() - started)


def _partner_batch(events: Events) -> list[dict[str, Any]]:
    """A batch of bus rides as a partner sends it."""
    out = []
    for _ in range(BATCH_SIZE):
        index, body = events.next()
        out.append(
            {
                "external_id": f"trip-{uuid.uuid4().hex}",
                "pseudonym": events.pseudonyms[index],
                "type": "bus_ride",
                "occurred_at": body["occurred_at"],
                "quantity": "2",
            }
        )
    return out


def _partner_postings(cache: FactorCache, events: Events) -> list[posting.Posting]:
    """A partner's batch exactly as the service would hand it to the ledger."""
    out = []
    for ordinal, record in enumerate(_partner_batch(events)):
        parsed = PartnerRecord.model_validate(record)
        digest = batches.partner_content_hash(parsed)
        prepared = prepare(parsed, cache=cache, tier="partner", now=datetime.now(UTC), content_sha256=digest)
        out.append(batches.partner_posting(ordinal, parsed, prepared))
    return out


async def record_single(
    name: str,
    tokens: list[str],
    events: Events,
    *,
    seconds: float = SINGLE_SECONDS,
    emit_line: bool = True,
    rate: float | None = None,
    **extra: Any,
) -> Measured:
    """Record for `seconds` with CONCURRENCY clients, as fast as they go or paced to `rate` events/s in
    all."""
    latencies: list[float] = []
    recorded = 0
    settle_heap()
    stop = time.perf_counter() + seconds
    errors: dict[str, int] = {}
    spacing = CONCURRENCY / rate if rate else 0.0

    async def worker() -> None:
        nonlocal recorded
        client = await KeepAliveClient.open("127.0.0.1", PORT)
        due = time.perf_counter() + random.uniform(0, spacing)
        try:
            while time.perf_counter() < stop:
                if spacing:
                    await asyncio.sleep(max(0.0, due - time.perf_counter()))
                    due += spacing
                index, body = events.next()
                payload = json.dumps(body).encode()
                began = time.perf_counter()
                status, reply = await client.request(
                    "POST",
                    "/v1/behaviours",
                    payload,
                    {"authorization": f"Bearer {tokens[index]}", "content-type": "application/json"},
                )
                latencies.append(time.perf_counter() - began)
                if status == 201:
                    recorded += 1
                else:
                    code = json.loads(reply).get("code", str(status)) if reply else str(status)
                    errors[code] = errors.get(code, 0) + 1
        finally:
            await client.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    # only behaviours recorded count as events; a refused request shows in `errors` (and its latency too)
    measured = Measured(recorded / (time.perf_counter() - started), latencies, errors)
    if emit_line:
        emit_recording(name, [measured], **extra)
    return measured


@dataclass
class Measured:
    events_per_s: float
    latencies: list[float]
    errors: dict[str, int]


def emit_recording(name: str, runs: list[Measured], **extra: Any) -> None:
    """One line for one or more runs: the median throughput, the latencies of all runs together."""
    errors: dict[str, int] = {}
    for run in runs:
        for code, count in run.errors.items():
            errors[code] = errors.get(code, 0) + count
    line: dict[str, Any] = {
        "events_per_s": round(statistics.median(r.events_per_s for r in runs), 1),
        **_percentiles([latency for r in runs for latency in r.latencies]),
        "concurrency": CONCURRENCY,
        "errors": errors,
    }
    if len(runs) > 1:
        line["runs_events_per_s"] = [round(r.events_per_s, 1) for r in runs]
    emit(name=name, **line, **extra)


async def record_batch(cache: FactorCache, events: Events, key_id: str, secret: str) -> tuple[float, int]:
    """Events per second of one run (BATCHES batches, two in flight) and how many were accepted."""
    bodies = iter([json.dumps({"records": _partner_batch(events)}).encode() for _ in range(BATCHES)])
    accepted = 0

    async def sender(client: KeepAliveClient) -> None:
        nonlocal accepted
        for body in bodies:
            headers = signed_headers(key_id, secret, "POST", "/v1/partner/behaviours", body)
            status, reply = await client.request(
                "POST", "/v1/partner/behaviours", body, {**headers, "content-type": "application/json"}
            )
            if status == 200:
                accepted += json.loads(reply)["accepted"]

    clients = [await KeepAliveClient.open("127.0.0.1", PORT) for _ in range(2)]
    settle_heap()
    started = time.perf_counter()
    await asyncio.gather(*(sender(client) for client in clients))
    elapsed = time.perf_counter() - started
    for client in clients:
        await client.close()
    return BATCHES * BATCH_SIZE / elapsed, accepted


def emit_batches(name: str, runs: list[float], **extra: Any) -> None:
    """The median of ROUNDS runs: one run of a few seconds moves with whatever else the box did then."""
    emit(
        name=name,
        events_per_s=round(statistics.median(runs), 1),
        batch_size=BATCH_SIZE,
        runs_events_per_s=[round(r, 1) for r in runs],
        **extra,
    )


SEED_RESIDENTS_SQL = """
INSERT INTO accounts_resident (openid, pseudonym, nickname)
SELECT 'bench:' || g, 'r-bench-' || g, 'bench ' || g FROM generate_series(1, $1) g
"""

# Filler ledger: behaviours of a day long past, their issuance transfers and entries, written set-wise
# in three plain statements per chunk (ids above $4 are this chunk's).
SEED_BEHAVIOURS_SQL = """
INSERT INTO ingest_behaviour (resident_id, source, client_id, behaviour_type, trip_group, quantity,
    reported_quantity, reported_unit, unit, occurred_at, ended_at, local_date, tier, status,
    factor_version_id, reduction_g_per_unit, weight, exact_g, grams, remainder_g, credited_g, capped_g,
    content_sha256)
SELECT r.first_id + g % r.n, 'resident', gen_random_uuid(), 'metro_ride', 'travel', 1, 1, 'km', 'km',
       timestamptz '2026-01-02 00:00+08' + g * interval '1 second',
       timestamptz '2026-01-02 00:00+08' + g * interval '1 second' + interval '1 minute',
       date '2026-01-02', 'evidence', 'credited', $2, 46.8, 1, 46.8, 46, 0.8, 46, 0, decode('00', 'hex')
  FROM generate_series($3::bigint, $3::bigint + $1 - 1) g
 CROSS JOIN (SELECT min(id) AS first_id, count(*) AS n FROM accounts_resident) r
"""

SEED_TRANSFERS_SQL = """
INSERT INTO ledger_transfer (kind, debit_account_id, credit_account_id, amount, behaviour_id, factor_version_id)
SELECT 'issuance', $1::bigint, a.id, 46, b.id, b.factor_version_id
  FROM ingest_behaviour b JOIN ledger_account a ON a.resident_id = b.resident_id
 WHERE b.id > $2 AND b.local_date = date '2026-01-02'
"""

# Likewise the sealer and the fraud scan: the filler stays out of this scratch database's log and flags.
SKIP_FILLER_SEALING_SQL = """
WITH sealed AS (UPDATE ledger_seal_state SET sealed_entry_id = (SELECT max(id) FROM ledger_entry))
UPDATE ingest_flag_state SET behaviour_through = (SELECT max(id) FROM ingest_behaviour)
"""

SEED_ENTRIES_SQL = """
INSERT INTO ledger_entry (transfer_id, account_id, amount)
SELECT id, debit_account_id, -amount FROM ledger_transfer WHERE id > $1
UNION ALL
SELECT id, credit_account_id, amount FROM ledger_transfer WHERE id > $1
"""


async def seed_ledger(pool: asyncpg.Pool, entries: int, version_id: int, issuance: int) -> None:
    chunk = 250_000
    done = 0
    while done < entries // 2:
        size = min(chunk, entries // 2 - done)
        async with pool.acquire() as connection, connection.transaction():
            last_behaviour = await connection.fetchval("SELECT coalesce(max(id), 0) FROM ingest_behaviour")
            last_transfer = await connection.fetchval("SELECT coalesce(max(id), 0) FROM ledger_transfer")
            # ANALYZE between steps: it also drops plans cached while the tables were small (foreign-key
            # checks among them), which would otherwise scan whole tables row after row.
            await connection.execute(SEED_BEHAVIOURS_SQL, size, version_id, done)
            await connection.execute("ANALYZE ingest_behaviour, ledger_account")
            await connection.execute(SEED_TRANSFERS_SQL, issuance, last_behaviour)
            await connection.execute("ANALYZE ledger_transfer")
            await connection.execute(SEED_ENTRIES_SQL, last_transfer)
        done += size
        log(f"  {2 * done:,} of {entries:,} entries")


SYNC_BALANCES_SQL = """
UPDATE ledger_account a SET balance = s.total
  FROM (SELECT account_id, sum(amount) AS total FROM ledger_entry GROUP BY account_id) s
 WHERE a.id = s.account_id AND a.kind = 'resident'
"""


LEADERBOARD_RESIDENTS = int(os.environ.get("BENCH_LEADERBOARD_RESIDENTS", 1_000_000 * SCALE))

# A district of residents (triggers off for the seeding session: their ledger accounts are written
# set-wise below), this week's and all-time scores with a long tail, and the tallies rebuilt from them.
SEED_DISTRICT_SQL = (
    "SET session_replication_role = replica",
    """
    INSERT INTO accounts_resident (openid, pseudonym, nickname, community_id, leaderboard_visible)
    SELECT 'district:' || g, 'r-district-' || g, '居民' || g,
           (SELECT id FROM accounts_community ORDER BY id OFFSET g % 12 LIMIT 1), g % 50 <> 0
      FROM generate_series(1, $1) g
    """,
    """
    INSERT INTO ledger_account (kind, resident_id)
    SELECT 'resident', r.id FROM accounts_resident r
     WHERE r.openid LIKE 'district:%'
    """,
    """
    INSERT INTO leaderboard_score (period, period_start, category, resident_id, community_id, organisation_id,
                                   visible, grams)
    SELECT p.period, p.start, 'all', r.id, r.community_id, NULL, r.leaderboard_visible,
           (46 * floor(1 + 60 * power(random(), 3)))::bigint * p.scale
      FROM accounts_resident r
     CROSS JOIN (VALUES ('week'::leaderboard_period, date_trunc('week', now() AT TIME ZONE 'Asia/Shanghai')::date, 1),
                        ('all', DATE '2000-01-01', 20)) p(period, start, scale)
     WHERE r.openid LIKE 'district:%'
    """,
    "DELETE FROM leaderboard_tally",
    "DELETE FROM leaderboard_tally_fine",
    """
    INSERT INTO leaderboard_tally_fine (period, period_start, category, scope, scope_id, grams, residents)
    SELECT period, period_start, category, 'district'::leaderboard_scope, 0, grams, count(*)
      FROM leaderboard_score WHERE visible AND grams > 0 GROUP BY 1, 2, 3, 6
    UNION ALL
    SELECT period, period_start, category, 'community'::leaderboard_scope, community_id, grams, count(*)
      FROM leaderboard_score WHERE visible AND grams > 0 AND community_id IS NOT NULL GROUP BY 1, 2, 3, 5, 6
    """,
    """
    INSERT INTO leaderboard_tally (period, period_start, category, scope, scope_id, bucket, residents)
    SELECT period, period_start, category, scope, scope_id, leaderboard_bucket(grams), sum(residents)
      FROM leaderboard_tally_fine GROUP BY 1, 2, 3, 4, 5, 6
    """,
    "RESET session_replication_role",
    # as autovacuum would have left a district's tables long before: visibility maps set, statistics fresh
    "VACUUM ANALYZE accounts_resident",
    "VACUUM ANALYZE ledger_account",
    "VACUUM ANALYZE leaderboard_score",
    "VACUUM ANALYZE leaderboard_tally",
    "VACUUM ANALYZE leaderboard_tally_fine",
    "CHECKPOINT",
)


async def seed_district(pool: asyncpg.Pool) -> list[int]:
    async with pool.acquire() as connection:
        for statement in SEED_DISTRICT_SQL:
            if "$1" in statement:
                await connection.execute(statement, LEADERBOARD_RESIDENTS)
            else:
                await connection.execute(statement)
        rows = await connection.fetch(
            "SELECT id FROM accounts_resident WHERE openid LIKE 'district:%' ORDER BY random() LIMIT 2000"
        )
    return [r["id"] for r in rows]


async def leaderboard_reads(
    keyring: Keyring,
    district: list[int],
    tokens: list[str],
    events: Events,
    *,
    seconds: float = SINGLE_SECONDS,
    emit_lines: bool = True,
) -> None:
    """Board reads at READS_RATE requests/s from 4 clients, half of them the top 100 of the district this
    week and half a resident's own rank with three neighbours each side, while recording runs at
    READS_RECORDING_RATE events/s. Both rates are steady loads the service sustains: latency measured at
    saturation would be the queue's length, not the service's."""
    readers = SignedIn(keyring, district).tokens()
    timings: dict[str, list[float]] = {"top100": [], "my_rank": []}
    settle_heap()
    stop = time.perf_counter() + seconds
    spacing = READERS / READS_RATE

    async def reader(number: int) -> None:
        client = await KeepAliveClient.open("127.0.0.1", PORT)
        due = time.perf_counter() + random.uniform(0, spacing)
        try:
            count = 0
            while time.perf_counter() < stop:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                due += spacing
                count += 1
                token = readers[(number * 7919 + count) % len(readers)]
                kind = "top100" if count % 2 else "my_rank"
                path = (
                    "/v1/leaderboards/residents?period=week&limit=100"
                    if kind == "top100"
                    else ("/v1/me/leaderboard?period=week&neighbours=3")
                )
                began = time.perf_counter()
                status, _ = await client.request("GET", path, b"", {"authorization": f"Bearer {token}"})
                timings[kind].append(time.perf_counter() - began)
                assert status == 200, status
        finally:
            await client.close()

    recording = asyncio.ensure_future(
        record_single(
            "record_during_reads", tokens, events, seconds=seconds, emit_line=False, rate=READS_RECORDING_RATE
        )
    )
    await asyncio.gather(*(reader(n) for n in range(READERS)))
    recorded = (await recording).events_per_s
    if not emit_lines:
        return
    for kind, name in (("top100", "leaderboard_top100"), ("my_rank", "leaderboard_my_rank")):
        emit(
            name=name,
            **_percentiles(timings[kind]),
            requests=len(timings[kind]),
            residents=LEADERBOARD_RESIDENTS,
            reads_per_s=READS_RATE,
            recording_events_per_s=round(recorded, 1),
        )


def start_server(url: str, **env_extra: str) -> subprocess.Popen[bytes]:
    return start_service(
        url,
        PORT,
        workers=WORKERS,
        settings={
            "TANPUHUI_RATE_RESIDENT_WRITES_PER_MIN": "100000",
            "TANPUHUI_RATE_PARTNER_WRITES_PER_MIN": "100000",
            "TANPUHUI_DB_POOL_SIZE": str(CONCURRENCY // WORKERS + 2),
            **env_extra,
        },
    )


async def drain(pool: asyncpg.Pool, label: str, *, rollup: bool = True, sealer: bool = True) -> None:
    """Wait until the running background tasks have caught up with the ledger written so far, so that a
    measured phase pays only for its own entries, not for an earlier phase's backlog."""
    target = await pool.fetchval("SELECT coalesce(max(id), 0) FROM ledger_entry")
    behaviours = await pool.fetchval("SELECT coalesce(max(id), 0) FROM ingest_behaviour")
    marks = {
        "leaderboard roll-up": ("SELECT rolled_entry_id FROM leaderboard_state WHERE id = 1", target, rollup),
        "receipt sealer": ("SELECT sealed_entry_id FROM ledger_seal_state WHERE id = 1", target, sealer),
        "fraud scan": ("SELECT behaviour_through FROM ingest_flag_state WHERE id = 1", behaviours, True),
    }
    if sealer:  # the sealer appends consent events (the residents' links) to the log as well
        consents = await pool.fetchval("SELECT coalesce(max(id), 0) FROM consent_event")
        marks["receipt sealer (consents)"] = (
            "SELECT sealed_consent_event_id FROM ledger_seal_state WHERE id = 1",
            consents,
            True,
        )
    for task, (mark, goal, running) in marks.items():
        if not running:
            continue
        began = time.perf_counter()
        while await pool.fetchval(mark) < goal:
            if time.perf_counter() - began > 600:
                raise SystemExit(f"the {task} did not catch up before {label}")
            await asyncio.sleep(0.1)
        log(f"{task} caught up (to id {goal:,}) before {label}: {time.perf_counter() - began:.1f} s")


_SEAL_LAGS = """
WITH c AS (
    SELECT tree_size, signed_at::timestamptz AS signed_at,
           lag(tree_size, 1, 0::bigint) OVER (ORDER BY tree_size) AS before
      FROM ledger_checkpoint
)
SELECT extract(epoch FROM c.signed_at - e.created_at) AS lag_s
  FROM c
  JOIN ledger_seal_leaf l ON l.idx >= c.before AND l.idx < c.tree_size
  JOIN ledger_entry e ON e.id = l.entry_id
 WHERE e.created_at >= $1
"""


async def seal_lags(pool: asyncpg.Pool, since: datetime) -> list[float]:
    """For every entry written since `since`: from its transaction's start to the signed checkpoint that
    first included it (an upper bound of commit-to-checkpoint)."""
    return [float(row["lag_s"]) for row in await pool.fetch(_SEAL_LAGS, since)]


async def tidy(pool: asyncpg.Pool) -> None:
    """Before a measured phase: VACUUM ANALYZE, what autovacuum keeps doing for a service that has run for a
    while. The server the bench runs on may have autovacuum off (a test server often has); without it every
    phase would run on the dead rows of all the phases before it, and a later phase would measure less the
    more the earlier ones wrote. ANALYZE also drops plans cached while the tables were small."""
    await pool.execute("VACUUM ANALYZE")


async def warm_up(tokens: list[str], events: Events) -> None:
    """A few seconds of recording before measuring: every pooled connection prepares its statements once,
    as in a service that has been running."""
    await record_single("warm-up", tokens, events, seconds=WARMUP_SECONDS, emit_line=False)


async def timed(label: str, step: Callable[[], Awaitable[Any]]) -> Any:
    began = time.perf_counter()
    result = await step()
    log(f"{label}: {time.perf_counter() - began:.1f} s")
    return result


async def main() -> None:
    async with development_server() as server:
        name = f"tanpuhui_bench_{os.getpid()}"
        admin = await admin_connection(server)
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = with_database(server, name)
        try:
            await run(url)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


async def run(url: str) -> None:
    settings = Settings(_env_file=None, env="test", database_url=url, migrate_on_start=False)  # type: ignore[arg-type]
    await asyncio.to_thread(run_migrations, url)
    db = Database(url, settings=settings)
    async with db.sessionmaker.begin() as session:
        await factors_service.publish_directory(session, directory=CHECKOUT / "emission_factors", published_by="bench")
        partner = await partners.create_partner(session, code="bench-bus", name="Bench bus", kind="transit_card")
        box = SecretBox(derive_key(settings.secret_key.get_secret_value(), "partner-secrets"))
        key, secret = await partners.issue_partner_key(session, box=box, partner_id=partner.id)
    await db.dispose()
    cache = FactorCache()
    await cache.refresh(Database(url, settings=settings).sessionmaker)
    assert cache.resolve(BehaviourType.metro_ride, datetime.now(UTC)) is not None

    pool = await asyncpg.create_pool(**asyncpg_dsn(url), min_size=CONCURRENCY, max_size=CONCURRENCY)
    assert pool is not None
    await timed("seed residents", lambda: pool.execute(SEED_RESIDENTS_SQL, RESIDENTS))
    async with pool.acquire() as connection:
        await seed_sites(connection, STATIONS)
    sites = SiteCache()
    await sites.refresh(Database(url, settings=settings).sessionmaker)
    ids = [r["id"] for r in await pool.fetch("SELECT id FROM accounts_resident ORDER BY id")]
    # every resident linked their account at the bench's partner, which names them by their pseudonyms
    pseudonyms = await timed(
        "link residents at the partner",
        lambda: link_residents(
            pool,
            ids,
            partner_id=partner.id,
            partner_name=partner.name,
            partner_kind=partner.kind,
            retention_days=settings.retention_evidence_days,
        ),
    )
    issuance = [
        r["id"] for r in await pool.fetch("SELECT id FROM ledger_account WHERE code LIKE 'issuance:%' ORDER BY id")
    ]
    keyring = Keyring(settings)
    signed_in = SignedIn(keyring, ids)
    await pool.execute("ANALYZE")
    events = Events(ids, [pseudonyms[i] for i in ids])

    # Each phase starts vacuumed and on fresh statistics (tidy()). The floor warms up as the service does.
    await floor_single(pool, cache, sites, events, issuance, seconds=WARMUP_SECONDS, emit_line=False)
    await tidy(pool)
    await floor_single(pool, cache, sites, events, issuance)
    await tidy(pool)
    floors = []
    for _ in range(ROUNDS):
        floors.append(await floor_batch(pool, cache, events, issuance, partner.id))
        await tidy(pool)
    emit_batches("floor_batch", floors)

    # Recording as deployed (roll-up and sealer on), and with each of them off, in turn, ROUNDS times, so
    # that no configuration gains from running later on a warmer database; each line gives the median run.
    configs = {"all": (True, True), "no_rollup": (False, True), "no_sealer": (True, False)}
    runs: dict[str, list[Measured]] = {name: [] for name in configs}
    lags: list[float] = []
    process = start_server(url)
    try:  # a first service run measures nothing: it brings the database's caches and statistics to speed
        await wait_ready(PORT, process, workers=WORKERS)
        await warm_up(signed_in.tokens(), events)
        await drain(pool, "record_single", rollup=True, sealer=True)
    finally:
        process.terminate()
        process.wait(timeout=30)
    for _ in range(ROUNDS):
        for name, (rollup, sealer) in configs.items():
            process = start_server(
                url, TANPUHUI_LEADERBOARD_ROLLUP=str(rollup).lower(), TANPUHUI_RECEIPT_SEALER=str(sealer).lower()
            )
            try:
                await wait_ready(PORT, process, workers=WORKERS)
                await drain(pool, "record_single", rollup=rollup, sealer=sealer)
                await warm_up(signed_in.tokens(), events)
                await drain(pool, "record_single", rollup=rollup, sealer=sealer)
                await tidy(pool)
                began = await pool.fetchval("SELECT clock_timestamp()")
                runs[name].append(await record_single("record_single", signed_in.tokens(), events, emit_line=False))
                if sealer:
                    await drain(pool, "seal_lag", rollup=False, sealer=True)
                    lags += await seal_lags(pool, began)
            finally:
                process.terminate()
                process.wait(timeout=30)
    emit_recording("record_single", runs["all"])
    emit_recording("record_single_leaderboards_off", runs["no_rollup"])
    emit_recording("record_single_sealing_off", runs["no_sealer"])
    median = {name: statistics.median(r.events_per_s for r in measured) for name, measured in runs.items()}
    for feature, without in (("leaderboard_rollup_cost", "no_rollup"), ("receipt_sealing_cost", "no_sealer")):
        emit(name=feature, throughput_drop_pct=round(100 * (median[without] - median["all"]) / median[without], 1))
    emit(name="seal_lag", **_percentiles(lags), entries=len(lags))

    process = start_server(url)
    try:
        await wait_ready(PORT, process, workers=WORKERS)
        # as before record_single: a first run measures nothing, it brings the new service's connections
        # to speed (each plans the recording function once)
        await drain(pool, "record_batch")
        await record_batch(cache, events, key.key_id, secret)
        batch_runs: list[tuple[float, int]] = []
        for _ in range(ROUNDS):
            await drain(pool, "record_batch")
            await tidy(pool)
            batch_runs.append(await record_batch(cache, events, key.key_id, secret))
        emit_batches(
            "record_batch", [rate for rate, _ in batch_runs], accepted=sum(accepted for _, accepted in batch_runs)
        )
    finally:
        process.terminate()
        process.wait(timeout=30)
    log("service stopped for seeding")
    version_id = cache.versions[0].id
    await timed(
        f"seed {LARGE_LEDGER_ENTRIES:,} ledger entries",
        lambda: seed_ledger(pool, LARGE_LEDGER_ENTRIES, version_id, issuance[0]),
    )
    await pool.execute(SYNC_BALANCES_SQL)
    # The filler is history from before the boards: the roll-up starts after it, as it would on a ledger
    # that had leaderboards added to it (rolling 5 million entries up would take minutes of the bench).
    await pool.execute("UPDATE leaderboard_state SET rolled_entry_id = (SELECT max(id) FROM ledger_entry)")
    await pool.execute(SKIP_FILLER_SEALING_SQL)
    # A ledger that grew to this size over months is vacuumed and checkpointed; one loaded a minute ago
    # would spend the measured run writing its bulk load out.
    await pool.execute("VACUUM ANALYZE")
    await pool.execute("CHECKPOINT")
    entries = await pool.fetchval("SELECT count(*) FROM ledger_entry")
    await pool.close()
    pool = await asyncpg.create_pool(**asyncpg_dsn(url), min_size=2, max_size=2)
    process = start_server(url)
    try:
        await wait_ready(PORT, process, workers=WORKERS)
        await drain(pool, "record_single_large_ledger")
        await warm_up(signed_in.tokens(), events)
        large: list[Measured] = []
        for _ in range(ROUNDS):  # as record_single: the median of ROUNDS runs against its median
            await drain(pool, "record_single_large_ledger")
            await tidy(pool)
            large.append(await record_single("record_single_large_ledger", signed_in.tokens(), events, emit_line=False))
        emit_recording("record_single_large_ledger", large, ledger_entries=entries)
    finally:
        process.terminate()
        process.wait(timeout=30)
    district = await timed(f"seed {LEADERBOARD_RESIDENTS:,} residents with scores", lambda: seed_district(pool))
    process = start_server(url)
    try:
        await wait_ready(PORT, process, workers=WORKERS)
        await drain(pool, "leaderboard reads")
        # the warm-up reads as well: the board reads' own connections are made and their statements
        # prepared before the measured run, as in a service that has been running
        await leaderboard_reads(keyring, district, signed_in.tokens(), events, seconds=WARMUP_SECONDS, emit_lines=False)
        await drain(pool, "leaderboard reads")
        await leaderboard_reads(keyring, district, signed_in.tokens(), events)
    finally:
        process.terminate()
        process.wait(timeout=30)
    await pool.close()

    db = Database(url, settings=settings)
    async with db.sessionmaker() as session:
        emit(name="ledger_check", sum_of_balances=await ledger_repository.sum_of_balances(session))
    await db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
