"""The service under test, as `make bench` and `make load` start it: `tanpuhui serve` in a subprocess on
loopback, against a database they made, with nothing of the caller's TANPUHUI_ environment."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from typing import IO

import httpx

from service.kit.devdb import CHECKOUT


def start_service(
    url: str, port: int, *, workers: int, settings: Mapping[str, str] = {}, output: IO[bytes] | None = None
) -> subprocess.Popen[bytes]:
    """`settings` are TANPUHUI_ variables on top of the defaults here."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TANPUHUI_")},
        "TANPUHUI_ENV": "test",
        "TANPUHUI_DATABASE_URL": url,
        "TANPUHUI_MIGRATE_ON_START": "false",
        "TANPUHUI_DEMO_ADMIN": "false",
        "TANPUHUI_LOG_LEVEL": "WARNING",
        "TANPUHUI_FACTORS_DIR": str(CHECKOUT / "emission_factors"),
        **settings,
    }
    command = [sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--workers", str(workers)]
    return subprocess.Popen(command, env=env, cwd=CHECKOUT, stdout=output, stderr=subprocess.STDOUT if output else None)


async def wait_ready(port: int, process: subprocess.Popen[bytes], timeout_s: float = 60) -> float:
    """Seconds until /readyz answers 200; exits if the service dies or never gets there."""
    began = time.monotonic()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=2) as client:
        while time.monotonic() - began < timeout_s:
            if process.poll() is not None:
                raise SystemExit("the service exited while starting")
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return time.monotonic() - began
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.25)
    raise SystemExit("the service did not become ready")
