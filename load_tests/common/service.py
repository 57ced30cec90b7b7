"""The service under test, as `make bench` and `make load` start it: `tanpuhui serve` in a subprocess on
loopback, against a database they made, with nothing of the caller's TANPUHUI_ environment."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def workers_of(process: subprocess.Popen[bytes]) -> list[int]:
    """The API worker processes the service's supervisor runs (not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    pids = [int(pid) for pid in children.read_text().split()] if children.exists() else []
    workers = []
    for pid in pids:
        with contextlib.suppress(OSError):
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                workers.append(pid)
    return workers


def tcp_sockets(port: int) -> list[tuple[str, str]]:
    """(state, inode) of every TCP socket on this host whose local port is `port`, from /proc/net; the
    state in the kernel's hex: "0A" listening, "01" established."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as rows:
            for row in rows.readlines()[1:]:
                fields = row.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port:
                    found.append((fields[3], fields[9]))
    return found


def listening(port: int) -> int:
    """Sockets listening on `port` on this host: one per worker, as each binds the port itself."""
    return sum(state == "0A" for state, _ in tcp_sockets(port))


async def wait_ready(port: int, process: subprocess.Popen[bytes], *, workers: int = 1, timeout_s: float = 60) -> float:
    """Seconds until /readyz answers 200 and all `workers` listen; exits if the service dies or never gets
    there. A client that connected while only some workers listened would hold its connection to one of
    them for the whole run."""
    began = time.monotonic()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=2) as client:
        while time.monotonic() - began < timeout_s:
            if process.poll() is not None:
                raise SystemExit("the service exited while starting")
            try:
                if (await client.get("/readyz")).status_code == 200 and listening(port) >= workers:
                    return time.monotonic() - began
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.25)
    raise SystemExit("the service did not become ready")
