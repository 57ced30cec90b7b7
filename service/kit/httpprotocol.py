"""uvicorn's HTTP protocol (httptools) with deadlines for reading a request, which uvicorn does not have: a
client that sends its headers a byte at a time, or never finishes a body, would otherwise hold its
connection, and a slot of the worker, for ever.

- A new connection must start a request within the keep-alive time (TANPUHUI_KEEP_ALIVE_S), as an idle
  kept-alive one must.
- A request's headers must arrive within TANPUHUI_HEADER_TIMEOUT_S of its first byte, and its body within
  TANPUHUI_BODY_TIMEOUT_S of its headers.

A connection past a deadline is closed. `serve` selects this protocol by its import path; the timeouts are
read from the settings once per worker process.
"""

from __future__ import annotations

import asyncio
import functools
import logging

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from service.config import Settings

logger = logging.getLogger(__name__)

IMPORT_PATH = "service.kit.httpprotocol:BoundedHttpToolsProtocol"


@functools.cache
def _timeouts() -> tuple[float, float]:
    settings = Settings()
    return settings.header_timeout_s, settings.body_timeout_s


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    _reading: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # until its first request starts, a new connection is an idle one
        self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self.timeout_keep_alive_handler)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_reading_deadline()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reading_deadline(_timeouts()[0], "headers")

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._reading_deadline(_timeouts()[1], "body")

    def on_message_complete(self) -> None:
        self._stop_reading_deadline()
        super().on_message_complete()

    def _reading_deadline(self, seconds: float, part: str) -> None:
        self._stop_reading_deadline()
        self._reading = self.loop.call_later(seconds, self._too_slow, part)

    def _stop_reading_deadline(self) -> None:
        if self._reading is not None:
            self._reading.cancel()
            self._reading = None

    def _too_slow(self, part: str) -> None:
        self._reading = None
        if not self.transport.is_closing():
            logger.info("closing a connection whose request %s did not arrive in time", part)
            self.transport.close()
