"""`tanpuhui serve` bounds how long a client may take to send a request: headers trickled a byte at a time,
a body that never ends, or a connection that never starts a request is closed, and other clients are
served meanwhile."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from load_tests.common.service import free_port, start_service, wait_ready

HEADER_TIMEOUT_S = 1.5
BODY_TIMEOUT_S = 2.0
KEEP_ALIVE_S = 3


@pytest.fixture
async def served(database_url: str) -> AsyncIterator[int]:
    port = free_port()
    process = start_service(
        database_url,
        port,
        workers=1,
        settings={
            "TANPUHUI_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S),
            "TANPUHUI_BODY_TIMEOUT_S": str(BODY_TIMEOUT_S),
            "TANPUHUI_KEEP_ALIVE_S": str(KEEP_ALIVE_S),
        },
    )
    try:
        await wait_ready(port, process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


async def _closed_after(reader: asyncio.StreamReader, trickle: asyncio.Task[None] | None = None) -> float:
    """Seconds until the service closes the connection (reading answers EOF)."""
    began = time.monotonic()
    data = await asyncio.wait_for(reader.read(), timeout=30)
    if trickle is not None:
        trickle.cancel()
    assert data == b"", data
    return time.monotonic() - began


async def test_headers_sent_a_byte_at_a_time_are_cut_off(served: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", served)
    request = b"GET /healthz HTTP/1.1\r\nHost: tanpuhui\r\nX-Slow: " + b"a" * 1000

    async def trickle() -> None:
        for byte in request:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.2)

    sending = asyncio.create_task(trickle())
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{served}") as other:
        assert (await other.get("/healthz")).status_code == 200  # served meanwhile

    took = await _closed_after(reader, sending)

    assert HEADER_TIMEOUT_S - 0.5 < took < HEADER_TIMEOUT_S + 2
    writer.close()


async def test_a_body_that_never_ends_is_cut_off(served: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", served)
    writer.write(
        b"POST /v1/auth/login HTTP/1.1\r\nHost: tanpuhui\r\nContent-Type: application/json\r\n"
        b'Content-Length: 1000\r\n\r\n{"username": '
    )
    await writer.drain()

    took = await _closed_after(reader)

    assert BODY_TIMEOUT_S - 0.5 < took < BODY_TIMEOUT_S + 2
    writer.close()


async def test_a_connection_that_never_sends_a_request_is_closed(served: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", served)

    took = await _closed_after(reader)

    assert KEEP_ALIVE_S - 0.5 < took < KEEP_ALIVE_S + 2
    writer.close()


async def test_a_slow_but_steady_request_within_the_limits_is_answered(served: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", served)
    for part in (b"GET /healthz HTTP/1.1\r\n", b"Host: tanpuhui\r\n", b"\r\n"):
        writer.write(part)
        await writer.drain()
        await asyncio.sleep(0.3)

    status_line = await asyncio.wait_for(reader.readline(), timeout=10)

    assert status_line.startswith(b"HTTP/1.1 200")
    writer.close()
