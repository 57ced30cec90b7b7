"""`tanpuhui serve --workers 2`: each worker listens on the port itself, a worker that dies or hangs is
replaced, SIGTERM stops them all, and a port already taken is refused."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from load_tests.common.http import KeepAliveClient
from load_tests.common.service import free_port, listening, start_service, tcp_sockets, wait_ready, workers_of


async def _served(port: int, requests: int = 20) -> int:
    """How many of `requests` /readyz calls, each on a new connection, answered 200."""
    answered = 0
    no_keep_alive = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5, limits=no_keep_alive) as client:
        for _ in range(requests):
            answered += (await client.get("/readyz")).status_code == 200
    return answered


def _connections_held(pid: int, port: int) -> int:
    """Established connections to `port` whose socket the process `pid` holds."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    return sum(state == "01" and inode in inodes for state, inode in tcp_sockets(port))


async def _until(condition: Callable[[], bool], timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.2)


@pytest.mark.slow
async def test_two_workers_listen_each_replaced_when_killed_and_all_stop_on_sigterm(database_url: str) -> None:
    port = free_port()
    process = start_service(database_url, port, workers=2)
    try:
        await wait_ready(port, process, workers=2)
        first = workers_of(process)
        assert len(first) == 2
        assert listening(port) == 2  # a socket of its own each: the kernel spreads connections over both
        assert await _served(port) == 20
        # keep-alive clients connecting at once land on both workers, not all on the first one awake
        clients = [await KeepAliveClient.open("127.0.0.1", port) for _ in range(24)]
        try:
            for client in clients:
                assert (await client.request("GET", "/readyz", b"", {}))[0] == 200
            assert all(_connections_held(pid, port) > 0 for pid in first)
        finally:
            for client in clients:
                await client.close()

        process_killed = first[0]

        os.kill(process_killed, signal.SIGKILL)
        await _until(lambda: len(workers_of(process)) == 2 and process_killed not in workers_of(process))
        await _until(lambda: listening(port) == 2)
        assert await _served(port) == 20

        process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(process.wait, 60) == 0
        assert listening(port) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.slow
async def test_a_hung_worker_is_killed_and_replaced(database_url: str) -> None:
    port = free_port()
    process = start_service(database_url, port, workers=2, settings={"TANPUHUI_WORKER_TIMEOUT_S": "2"})
    try:
        await wait_ready(port, process, workers=2)
        first = workers_of(process)
        # serving for longer than the timeout: a worker that keeps ticking is left alone
        await asyncio.sleep(3)
        assert await _served(port) == 20
        assert workers_of(process) == first

        hung = first[0]
        os.kill(hung, signal.SIGSTOP)  # alive, its socket open, answering nothing
        await _until(lambda: len(workers_of(process)) == 2 and hung not in workers_of(process))
        with pytest.raises(ProcessLookupError):  # killed and reaped, not left stopped
            os.kill(hung, 0)
        await _until(lambda: listening(port) == 2)
        assert await _served(port) == 20

        process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(process.wait, 60) == 0
    finally:
        if process.poll() is None:
            for pid in workers_of(process):  # a stopped worker would outlive its supervisor
                os.kill(pid, signal.SIGKILL)
            process.kill()
            process.wait()


async def test_a_port_already_taken_is_refused(database_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = start_service(database_url, port, workers=2, output=subprocess.PIPE)  # type: ignore[arg-type]
        output, _ = await asyncio.to_thread(process.communicate, timeout=60)
    assert process.returncode == 3
    assert b"cannot listen on 127.0.0.1:" in output
