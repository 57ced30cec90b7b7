"""The load run's smoke version: every scenario of load_tests/ runs for tens of seconds against the service,
and the run's own verdict (no failures, every acknowledged write credited once, audit verify) holds."""

from __future__ import annotations

import asyncio
import csv
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
async def test_a_short_morning_rush_passes_its_own_verdict(pg_server: str, tmp_path: Path) -> None:
    results = tmp_path / "results"
    process = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "load_tests.run", "--smoke", "--server-url", pg_server, "--results", str(results)],
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    report = output.decode()
    assert process.returncode == 0, report

    with (results / "locust_stats.csv").open(newline="") as stats:
        served = {f"{row['Type']} {row['Name']}": int(row["Request Count"]) for row in csv.DictReader(stats)}
    # each kind of user did its part: residents, partners, enterprises and administrators
    for part in ("POST /v1/behaviours", "POST /v1/partner/behaviours", "GET /v1/enterprise/", "GET /v1/admin/"):
        assert sum(n for name, n in served.items() if name.startswith(part)) > 0, f"no {part}… call:\n{report}"
    acknowledged = json.loads((results / "acknowledged.json").read_text())
    assert acknowledged["behaviours"]
    assert acknowledged["partner_records"]
    assert "audit verify: ok" in report
    assert (results / "report.html").stat().st_size > 0
