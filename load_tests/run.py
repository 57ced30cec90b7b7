"""`make load` and `make load-faults`: a morning rush under Locust, judged against load_tests/thresholds.toml.

    python -m load_tests.run [--users 200] [--spawn-rate 5] [--duration 180] [--residents 900000]
    python -m load_tests.run --faults     # kill -9 an API worker and restart PostgreSQL during the rush
    python -m load_tests.run --smoke      # tens of seconds, a small district; the test suite runs this

Each run, in a results folder of its own (load_tests/results/<time>[-faults|-smoke]/):
1. a scratch database on the configured PostgreSQL (the server of TANPUHUI_DATABASE_URL) or on an
   embedded one, migrated and seeded (load_tests/common/seed.py);
2. the service (`tanpuhui serve`, two workers) on loopback;
3. Locust headless (load_tests/locustfile.py), writing locust_*.csv and report.html;
4. the verdict: the failure ratio and every endpoint's p99 against the thresholds, every write the service
   acknowledged credited exactly once and nothing credited twice (load_tests/common/ledger_check.py), and
   `tanpuhui audit verify`. Exits 1 when any of it fails; the smoke and fault runs report p99 without
   judging it.

A fault run always uses an embedded PostgreSQL of its own, which it stops and starts again: while the
database is away the service must answer 503, never 500, and recover by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from load_tests.common.ledger_check import check_acknowledged, read_acknowledged
from load_tests.common.seed import seed
from load_tests.common.service import free_port, start_service, wait_ready, workers_of
from service.db import run_migrations
from service.embedded_postgres import EmbeddedPostgres
from service.kit.devdb import CHECKOUT, admin_connection, with_database

THRESHOLDS = CHECKOUT / "load_tests" / "thresholds.toml"
RESULTS = CHECKOUT / "load_tests" / "results"


def log(message: str) -> None:
    print(f"[load] {message}", flush=True)


@dataclass
class Verdict:
    problems: list[str] = field(default_factory=list)

    def check(self, ok: bool, problem: str) -> None:
        if not ok:
            self.problems.append(problem)
            log(f"FAIL {problem}")


# ------------------------------------------------------------------------------------------------- faults


@dataclass
class FaultLog:
    killed_worker: int | None = None
    worker_replaced_s: float | None = None
    outage_statuses: Counter[str] = field(default_factory=Counter)
    database_down_s: float = 0.0
    outages: list[dict[str, Any]] = field(default_factory=list)
    recovered_after_s: float | None = None


async def probe(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    try:
        response = await client.get("/v1/me/balance", headers=headers)
    except httpx.HTTPError as exc:
        return type(exc).__name__
    if response.status_code == 503 and "retry-after" not in response.headers:
        return "503 without Retry-After"
    return str(response.status_code)


async def inject_faults(
    base: str, process: subprocess.Popen[bytes], embedded: EmbeddedPostgres, duration_s: float, faults: FaultLog
) -> None:
    """A quarter of the way in, kill -9 one API worker; a little later, stop PostgreSQL four times in a row
    (fast, immediate, a restart, fast again) and start it again each time; meanwhile a resident keeps asking
    for the balance."""
    async with httpx.AsyncClient(base_url=base, timeout=5) as client:
        reply = await client.post("/v1/auth/dev", json={"name": "fault-probe"})
        headers = {"Authorization": f"Bearer {reply.json()['access_token']}"}
        await asyncio.sleep(duration_s * 0.25)
        before = workers_of(process)
        victim = before[0]
        os.kill(victim, signal.SIGKILL)
        faults.killed_worker = victim
        log(f"killed API worker {victim} with SIGKILL")
        began = time.monotonic()
        while time.monotonic() - began < 30:
            now = workers_of(process)
            if victim not in now and len(now) >= len(before):
                faults.worker_replaced_s = round(time.monotonic() - began, 1)
                log(f"a new worker took its place after {faults.worker_replaced_s} s")
                break
            await asyncio.sleep(0.2)

        await asyncio.sleep(duration_s * 0.1)
        # Outages of every kind, several in a row: a fast stop ends every session (queries cut off
        # mid-way), an immediate one leaves recovery to the next start, a restart comes straight back.
        outage = min(8.0, duration_s * 0.06)
        for mode, away_s in (("fast", outage), ("immediate", outage), ("restart", 0.0), ("fast", outage / 2)):
            await _outage(client, headers, embedded, faults, mode=mode, away_s=away_s)
            await asyncio.sleep(min(5.0, duration_s * 0.03))
        back = time.monotonic()
        while time.monotonic() - back < 60:
            if await probe(client, headers) == "200":
                faults.recovered_after_s = round(time.monotonic() - back, 1)
                log(f"the service answered 200 again {faults.recovered_after_s} s after the last outage")
                break
            await asyncio.sleep(0.2)


async def _outage(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    embedded: EmbeddedPostgres,
    faults: FaultLog,
    *,
    mode: str,
    away_s: float,
) -> None:
    """Stop PostgreSQL (`fast` or `immediate`; `restart` stops fast and starts at once), keep asking for the
    balance while it is away, and start it again."""
    log(f"stopping PostgreSQL ({mode})")
    down = time.monotonic()
    await asyncio.to_thread(embedded.stop, "fast" if mode == "restart" else mode)
    while time.monotonic() - down < away_s:
        faults.outage_statuses[await probe(client, headers)] += 1
        await asyncio.sleep(0.2)
    await asyncio.to_thread(embedded.start)
    took = round(time.monotonic() - down, 1)
    faults.outages.append({"mode": mode, "down_s": took})
    faults.database_down_s = round(faults.database_down_s + took, 1)
    log(f"PostgreSQL back after {took} s ({mode}); answers while away so far: {dict(faults.outage_statuses)}")


# ------------------------------------------------------------------------------------------------ verdict


def read_stats(results: Path) -> list[dict[str, str]]:
    with (results / "locust_stats.csv").open(newline="", encoding="utf-8") as stats:
        return list(csv.DictReader(stats))


def judge_stats(results: Path, thresholds: dict[str, Any], verdict: Verdict, *, judge_p99: bool, faults: bool) -> None:
    rows = read_stats(results)
    total = next(row for row in rows if row["Name"] == "Aggregated")
    requests, failures = int(total["Request Count"]), int(total["Failure Count"])
    limits: dict[str, float] = thresholds["p99_ms"]
    log(f"{'endpoint':58} {'requests':>9} {'failed':>7} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'limit':>6}")
    for row in rows:
        name = f"{row['Type']} {row['Name']}".strip()
        limit = limits.get(name, limits["default"]) if row["Name"] != "Aggregated" else None
        log(
            f"{name:58} {row['Request Count']:>9} {row['Failure Count']:>7} {float(row['Requests/s']):7.1f} "
            f"{row['50%']:>7} {row['99%']:>7} {limit if limit is not None else '':>6}"
        )
        if judge_p99 and limit is not None and int(row["Request Count"]) > 0:
            verdict.check(float(row["99%"]) <= limit, f"{name}: p99 {row['99%']} ms is over its {limit} ms")
    verdict.check(requests > 0, "no requests were made")
    if faults:
        # failures are expected while the database is away; a 500 never is
        errors = (results / "locust_failures.csv").read_text(encoding="utf-8")
        verdict.check(re.search(r"\b500\b", errors) is None, "some request was answered 500")
    else:
        ratio = failures / max(requests, 1)
        log(f"failures: {failures} of {requests} ({100 * ratio:.3f}%)")
        verdict.check(ratio <= thresholds["max_failure_ratio"], f"failure ratio {100 * ratio:.3f}% is over the limit")


def audit_verify(url: str, verdict: Verdict) -> None:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TANPUHUI_")}, "TANPUHUI_ENV": "test"}
    env["TANPUHUI_DATABASE_URL"] = url
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "audit", "verify"], env=env, cwd=CHECKOUT, capture_output=True, text=True
    )
    for line in done.stdout.splitlines():
        log(f"audit verify: {line}")
    verdict.check(done.returncode == 0, f"tanpuhui audit verify failed:\n{done.stdout}{done.stderr}")


# ---------------------------------------------------------------------------------------------------- run


async def run(args: argparse.Namespace, server: str, results: Path, embedded: EmbeddedPostgres | None) -> Verdict:
    verdict = Verdict()
    name = f"tanpuhui_load_{os.getpid()}"
    admin = await admin_connection(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = with_database(server, name)
    try:
        await asyncio.to_thread(run_migrations, url)
        began = time.monotonic()
        manifest = await seed(url, args.residents)
        manifest.write(results / "seed.json")
        log(f"seeded {args.residents:,} residents and the rest in {time.monotonic() - began:.1f} s")

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        service = start_service(
            url,
            port,
            workers=args.workers,
            output=(results / "service.log").open("ab"),
            # every simulated resident and partner comes from this one address
            settings={
                "TANPUHUI_RATE_SIGNIN_PER_IP_PER_MIN": "1000000",
                "TANPUHUI_RATE_RESIDENT_SIGNIN_PER_IP_PER_MIN": "1000000",
                "TANPUHUI_RATE_PARTNER_WRITES_PER_MIN": "100000",
                "TANPUHUI_RATE_VOUCHER_CHECKS_PER_MIN": "100000",
            },
        )
        faults = FaultLog()
        try:
            log(f"service ready in {await wait_ready(port, service, workers=args.workers):.1f} s on {base}")
            locust = await asyncio.create_subprocess_exec(
                *[sys.executable, "-m", "locust", "-f", str(CHECKOUT / "load_tests" / "locustfile.py")],
                *["--headless", "--users", str(args.users), "--spawn-rate", str(args.spawn_rate)],
                *["--run-time", f"{args.duration}s", "--stop-timeout", "15", "--host", base, "--only-summary"],
                *[
                    "--csv",
                    str(results / "locust"),
                    "--html",
                    str(results / "report.html"),
                    "--exit-code-on-error",
                    "0",
                ],
                cwd=CHECKOUT,
                env={
                    **os.environ,
                    "LOAD_MANIFEST": str(results / "seed.json"),
                    "LOAD_ACKNOWLEDGED": str(results / "acknowledged.json"),
                },
                stdout=(results / "locust.log").open("ab"),
                stderr=subprocess.STDOUT,
            )
            log(f"Locust: {args.users} users, {args.duration} s; report in {results}")
            if args.faults:
                assert embedded is not None
                await asyncio.gather(locust.wait(), inject_faults(base, service, embedded, args.duration, faults))
            else:
                await locust.wait()
            verdict.check(locust.returncode == 0, f"Locust exited with {locust.returncode}; see locust.log")
            if args.faults:
                verdict.check(faults.killed_worker is not None, "no worker was killed")
                verdict.check(faults.worker_replaced_s is not None, "the killed worker was not replaced")
                verdict.check(
                    faults.outage_statuses["503"] > 0, "the service never answered 503 while the database was away"
                )
                verdict.check(
                    set(faults.outage_statuses) == {"503"},
                    f"while the database was away the service answered {dict(faults.outage_statuses)}, not only 503",
                )
                verdict.check(faults.recovered_after_s is not None, "the service did not recover by itself")
                (results / "faults.json").write_text(json.dumps(faults.__dict__, default=dict, indent=2))
        finally:
            service.send_signal(signal.SIGINT)
            try:
                service.wait(timeout=30)
            except subprocess.TimeoutExpired:
                service.kill()
        judge_stats(
            results,
            tomllib.loads(THRESHOLDS.read_text()),
            verdict,
            judge_p99=not (args.smoke or args.faults),
            faults=args.faults,
        )
        for problem in await check_acknowledged(url, read_acknowledged(results / "acknowledged.json"), log):
            verdict.check(False, problem)
        audit_verify(url, verdict)
    finally:
        if not args.keep:
            admin = await admin_connection(server)
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
    return verdict


async def main(args: argparse.Namespace) -> int:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    suffix = "-faults" if args.faults else "-smoke" if args.smoke else ""
    results = args.results or RESULTS / f"{stamp}{suffix}"
    results.mkdir(parents=True, exist_ok=True)
    embedded: EmbeddedPostgres | None = None
    if args.server_url and not args.faults:
        server = args.server_url
    elif os.environ.get("TANPUHUI_DATABASE_URL") and not args.faults:
        server = with_database(os.environ["TANPUHUI_DATABASE_URL"], "postgres")
    else:
        embedded = EmbeddedPostgres(results / "postgres" if args.faults else CHECKOUT / ".data" / "load-postgres")
        server = await asyncio.to_thread(embedded.start)
    try:
        verdict = await run(args, server, results, embedded)
    finally:
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
    if verdict.problems:
        log(f"{len(verdict.problems)} problem(s); results in {results}")
        return 1
    log(f"passed; results in {results}")
    return 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m load_tests.run", description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200, help="concurrent Locust users (default 200)")
    parser.add_argument(
        "--spawn-rate",
        type=float,
        default=5,
        help="users started per second (default 5: sign-ins as a rush brings them)",
    )
    parser.add_argument("--duration", type=int, default=180, help="seconds of load (default 180)")
    parser.add_argument("--residents", type=int, default=900_000, help="residents seeded (default 900,000)")
    parser.add_argument("--workers", type=int, default=2, help="API worker processes (default 2)")
    parser.add_argument("--faults", action="store_true", help="kill a worker and restart PostgreSQL during the run")
    parser.add_argument("--smoke", action="store_true", help="a short run that reports p99 without judging it")
    parser.add_argument("--server-url", help="PostgreSQL maintenance-database URL to create the scratch database on")
    parser.add_argument("--results", type=Path, help="results folder (default load_tests/results/<time>)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database afterwards")
    args = parser.parse_args(argv)
    if args.smoke:
        explicit = set(sys.argv[1:] if argv is None else argv)
        defaults = {"--users": 24, "--spawn-rate": 24, "--duration": 25, "--residents": 2000}
        for flag, value in defaults.items():
            if flag not in explicit:
                setattr(args, flag.lstrip("-").replace("-", "_"), value)
    if args.faults and args.duration < 60:
        parser.error("a fault run needs --duration of at least 60 s")
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
