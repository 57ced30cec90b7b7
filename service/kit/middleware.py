"""The outermost ASGI middleware: request id, body size limit, access log, last-resort error bodies.

Written as plain ASGI rather than BaseHTTPMiddleware so that it costs little on the hot path and
streams bodies instead of buffering them.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.context import request_id_var
from service.errors import (
    AppError,
    BodyTooLarge,
    error_for,
    problem_response,
)

logger = logging.getLogger("tanpuhui.access")
error_logger = logging.getLogger("tanpuhui.error")

REQUEST_ID_HEADER = "x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


@dataclass(frozen=True, slots=True)
class BodyLimit:
    """How large a request body may be, and the error a larger one is answered with."""

    max_bytes: int
    error: type[AppError] = BodyTooLarge


class _BodyTooLargeSignal(BaseException):
    """Raised from receive(); a BaseException so that no body parser turns it into a 400 on the way up."""


class RequestContextMiddleware:
    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, body_limits: Mapping[str, BodyLimit] | None = None
    ) -> None:
        """`body_limits` gives paths (exactly as requested) a limit of their own, such as a photo upload's."""
        self.app = app
        self.limit = BodyLimit(max_body_bytes)
        self.body_limits = dict(body_limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        incoming = dict(scope["headers"]).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        limit = self.body_limits.get(scope["path"], self.limit)
        declared = _declared_length(scope)
        if declared is not None and declared > limit.max_bytes:
            await self._send_error(scope, receive, send, limit.error(), request_id)
            self._log(scope, 413, started)
            request_id_var.reset(token)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit.max_bytes:
                    raise _BodyTooLargeSignal
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_id)
        except _BodyTooLargeSignal:
            if not response_started:
                status = 413
                await self._send_error(scope, receive, send, limit.error(), request_id)
        except Exception as exc:
            if response_started:
                raise
            error = error_for(exc, error_logger)
            status = error.status
            await self._send_error(scope, receive, send, error, request_id)
        finally:
            self._log(scope, status, started)
            request_id_var.reset(token)

    @staticmethod
    async def _send_error(scope: Scope, receive: Receive, send: Send, error: AppError, request_id: str) -> None:
        response = problem_response(Request(scope, receive), error)
        response.headers["x-request-id"] = request_id
        await response(scope, receive, send)

    @staticmethod
    def _log(scope: Scope, status: int, started: float) -> None:
        extra: dict[str, Any] = {
            "method": scope.get("method"),
            "path": scope.get("path"),
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        }
        logger.info("request", extra=extra)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
