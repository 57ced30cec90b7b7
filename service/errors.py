"""Errors, and how every one of them reaches a client as ``application/problem+json`` (RFC 9457).

    AppError                        status  code
    ├── BadRequest                  400     BAD_REQUEST
    │   ├── MalformedJson           400     MALFORMED_JSON
    │   └── ValidationFailed        422     VALIDATION_FAILED  (errors listed per field)
    ├── Unauthenticated             401     UNAUTHENTICATED
    │   └── (accounts.errors: InvalidToken, InvalidCredentials, RefreshTokenReused, ...)
    ├── Forbidden                   403     FORBIDDEN
    ├── NotFound                    404     NOT_FOUND
    ├── MethodNotAllowed            405     METHOD_NOT_ALLOWED
    ├── Conflict                    409     CONFLICT
    │   └── DuplicateConflict       409     DUPLICATE_CONFLICT
    ├── BodyTooLarge                413     BODY_TOO_LARGE
    ├── UnsupportedMediaType        415     UNSUPPORTED_MEDIA_TYPE
    ├── RateLimited                 429     RATE_LIMITED       (Retry-After)
    ├── InternalError               500     INTERNAL_ERROR     (no detail leaks)
    └── ServiceUnavailable          503     SERVICE_UNAVAILABLE (Retry-After)
        └── DatabaseUnavailable     503     DATABASE_UNAVAILABLE

Each class carries a stable machine `code` and a title in zh-CN and en. The body is

    {"type": "urn:tanpuhui:problem:RATE_LIMITED", "code": "RATE_LIMITED", "status": 429,
     "title": "...", "detail": "...", "instance": "/v1/...", "request_id": "...",
     "i18n": {"zh-CN": {"title": ..., "detail": ...}, "en": {...}}, "errors": [...]}

`title` and `detail` are in the language the client asked for (Accept-Language, zh-CN by default);
`i18n` carries both. A database outage is a 503 with Retry-After, never a 500 with a stack trace.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

import asyncpg
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from service.context import request_id_var

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


class AppError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "INTERNAL_ERROR"
    title_en: ClassVar[str] = "Internal error"
    title_zh: ClassVar[str] = "服务内部错误"
    # An error whose writes are a decision to keep (e.g. revoking a token family on reuse) sets this,
    # so the request's transaction commits before the error is returned.
    keeps_writes: ClassVar[bool] = False

    def __init__(
        self,
        detail_en: str | None = None,
        detail_zh: str | None = None,
        *,
        errors: Sequence[Mapping[str, Any]] = (),
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.detail_en = detail_en or self.title_en
        self.detail_zh = detail_zh or self.title_zh
        self.errors = list(errors)
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})
        super().__init__(self.detail_en)


class BadRequest(AppError):
    status, code, title_en, title_zh = 400, "BAD_REQUEST", "Bad request", "请求有误"


class MalformedJson(BadRequest):
    code, title_en, title_zh = "MALFORMED_JSON", "The body is not valid JSON", "请求体不是合法的 JSON"


class ValidationFailed(BadRequest):
    status, code = 422, "VALIDATION_FAILED"
    title_en, title_zh = "Some fields are invalid", "部分字段不合法"


class Unauthenticated(AppError):
    status, code = 401, "UNAUTHENTICATED"
    title_en, title_zh = "Sign-in required", "需要登录"

    def __init__(self, detail_en: str | None = None, detail_zh: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail_en, detail_zh, **kwargs)


class Forbidden(AppError):
    status, code = 403, "FORBIDDEN"
    title_en, title_zh = "Not allowed for this account", "当前账号无权执行此操作"


class NotFound(AppError):
    status, code, title_en, title_zh = 404, "NOT_FOUND", "Not found", "资源不存在"


class MethodNotAllowed(AppError):
    status, code = 405, "METHOD_NOT_ALLOWED"
    title_en, title_zh = "Method not allowed", "不支持该请求方法"


class Conflict(AppError):
    status, code, title_en, title_zh = 409, "CONFLICT", "Conflict", "请求与当前状态冲突"


class DuplicateConflict(Conflict):
    """An idempotency key used again with other content: the first request's result stands."""

    code = "DUPLICATE_CONFLICT"
    title_en = "This idempotency key was used with different content"
    title_zh = "该幂等键已用于不同内容的请求"


class BodyTooLarge(AppError):
    status, code = 413, "BODY_TOO_LARGE"
    title_en, title_zh = "The request body is too large", "请求体过大"


class UnsupportedMediaType(AppError):
    status, code = 415, "UNSUPPORTED_MEDIA_TYPE"
    title_en, title_zh = "Send the body as application/json", "请求体须为 application/json"


class RateLimited(AppError):
    status, code = 429, "RATE_LIMITED"
    title_en, title_zh = "Too many requests; try again later", "请求过于频繁，请稍后再试"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(
            f"Try again in {retry_after_s} s.",
            f"请在 {retry_after_s} 秒后重试。",
            headers={"Retry-After": str(retry_after_s)},
        )


class InternalError(AppError):
    pass


class ServiceUnavailable(AppError):
    status, code = 503, "SERVICE_UNAVAILABLE"
    title_en, title_zh = "Temporarily unavailable; try again shortly", "服务暂不可用，请稍后重试"

    def __init__(self, detail_en: str | None = None, detail_zh: str | None = None, *, retry_after_s: int = 5) -> None:
        super().__init__(detail_en, detail_zh, headers={"Retry-After": str(retry_after_s)})


class DatabaseUnavailable(ServiceUnavailable):
    code = "DATABASE_UNAVAILABLE"
    title_en, title_zh = "The database is unavailable; try again shortly", "数据库暂不可用，请稍后重试"


def _language(request: Request) -> str:
    accept = request.headers.get("accept-language", "")
    for part in accept.split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("en"):
            return "en"
        if tag.startswith("zh"):
            return "zh-CN"
    return "zh-CN"


def problem_response(request: Request, error: AppError) -> JSONResponse:
    english = _language(request) == "en"
    body: dict[str, Any] = {
        "type": f"urn:tanpuhui:problem:{error.code}",
        "code": error.code,
        "status": error.status,
        "title": error.title_en if english else error.title_zh,
        "detail": error.detail_en if english else error.detail_zh,
        "instance": request.url.path,
        "request_id": request_id_var.get(),
        "i18n": {
            "zh-CN": {"title": error.title_zh, "detail": error.detail_zh},
            "en": {"title": error.title_en, "detail": error.detail_en},
        },
    }
    if error.errors:
        body["errors"] = error.errors
    body.update({key: value for key, value in error.extra.items() if key not in body})
    return JSONResponse(body, status_code=error.status, headers=error.headers, media_type=PROBLEM_JSON)


def _field_path(loc: Sequence[int | str]) -> str:
    parts = list(loc[1:] if loc and loc[0] in ("body", "query", "path", "header", "cookie") else loc)
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or (str(loc[0]) if loc else "")


def _body_not_json(request: Request, exc: RequestValidationError) -> bool:
    """A body sent as something else than JSON (a form, say): 415, not a list of missing fields."""
    declared = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not declared or declared == "application/json" or declared.endswith("+json"):
        return False
    return any(d.get("loc", ("",))[0] == "body" for d in exc.errors())


def _validation_error(exc: RequestValidationError) -> AppError:
    details = list(exc.errors())
    if any(d.get("type") == "json_invalid" for d in details):
        return MalformedJson("The request body could not be parsed as JSON.", "请求体无法解析为 JSON。")
    errors = [
        {
            "field": _field_path(d.get("loc", ())),
            "in": d.get("loc", ("body",))[0],
            "code": str(d.get("type", "invalid")).upper(),
            "message": d.get("msg", "invalid"),
        }
        for d in details
    ]
    fields = ", ".join(e["field"] for e in errors)
    return ValidationFailed(f"Check these fields: {fields}.", f"请检查以下字段：{fields}。", errors=errors)


_HTTP_STATUS_ERRORS: dict[int, type[AppError]] = {
    400: BadRequest,
    401: Unauthenticated,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    413: BodyTooLarge,
    415: UnsupportedMediaType,
}


def _sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error, raised through SQLAlchemy or straight from asyncpg."""
    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        exc = exc.orig  # type: ignore[assignment]
    sqlstate = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    return str(sqlstate) if sqlstate else None


def is_database_outage(exc: BaseException) -> bool:
    """True for failures to reach the database, as opposed to a query the database refused."""
    if isinstance(exc, sqlalchemy.exc.TimeoutError | ConnectionError | OSError):
        return True
    if _connection_broke(exc) or _connection_broke(exc.__cause__):
        return True
    if isinstance(exc, sqlalchemy.exc.DBAPIError) and (
        exc.connection_invalidated or isinstance(exc, sqlalchemy.exc.InterfaceError)
    ):
        return True
    sqlstate = _sqlstate(exc)
    # 08: connection exception; 57P01-03: admin shutdown, crash shutdown, cannot connect now.
    return sqlstate is not None and (sqlstate.startswith("08") or sqlstate in {"57P01", "57P02", "57P03"})


def _connection_broke(exc: BaseException | None) -> bool:
    """asyncpg's own account of a connection the server dropped under it: a query cut off mid-way leaves
    the protocol in a state it cannot leave ("cannot switch to state 12; another operation (2) is in
    progress", as when the server stops in fast mode during a recording call), or the connection is
    already closed."""
    if isinstance(exc, asyncpg.exceptions.InternalClientError):
        return True
    return isinstance(exc, asyncpg.exceptions.InterfaceError) and "closed" in str(exc)


def log_background_failure(log: logging.Logger, task: str, exc: BaseException) -> None:
    """A background task's failed pass: one warning line while the database is away (the next pass will
    try again), the whole traceback for anything else."""
    if is_database_outage(exc):
        log.warning("%s: database unavailable (%s)", task, type(exc).__name__)
    else:
        log.error("%s failed", task, exc_info=exc)


def refused_input(exc: BaseException) -> AppError | None:
    """Input the schemas let through but PostgreSQL refuses to store: still the caller's bad input.
    Bodies are checked by the input schemas; this catches the same in query and path text."""
    if _sqlstate(exc) == "22021":  # character_not_in_repertoire: a NUL character in text
        return ValidationFailed("Text may not contain the NUL character (U+0000).", "文本不能包含 NUL 字符（U+0000）。")
    return None


_ANSWERS = "__answers__"
_Call = TypeVar("_Call", bound=Callable[..., Any])


def answers(*errors: type[AppError]) -> Callable[[_Call], _Call]:
    """Mark a dependency with the errors it can answer, so that every route using it lists them."""

    def mark(call: _Call) -> _Call:
        setattr(call, _ANSWERS, (*getattr(call, _ANSWERS, ()), *errors))
        return call

    return mark


def answered_by(call: Callable[..., Any]) -> tuple[type[AppError], ...]:
    """The errors `answers` marked a dependency with."""
    return tuple(getattr(call, _ANSWERS, ()))


def every_error_class() -> list[type[AppError]]:
    """AppError and every subclass of it loaded so far (import service.main to load them all)."""
    found: list[type[AppError]] = [AppError]
    for error in found:
        found += error.__subclasses__()
    return found


# query_canceled (our statement_timeout) and lock_not_available (lock_timeout).
_TIMED_OUT = {"57014", "55P03"}


def error_for(exc: Exception, log: logging.Logger) -> AppError:
    """What a client is told of an exception no handler turned into a problem: bad input the database
    refused, a database outage (a warning) or a statement that timed out (a 503 too: nothing of it was
    kept), or an internal error (logged with its traceback)."""
    refused = refused_input(exc)
    if refused is not None:
        return refused
    if is_database_outage(exc):
        log.warning("database unavailable: %s", type(exc).__name__)
        return DatabaseUnavailable()
    if _sqlstate(exc) in _TIMED_OUT:
        # Rolled back whole, so a retry is safe; logged in full, as a statement that keeps timing out is a
        # fault to look into, not an outage.
        log.error("database statement timed out", exc_info=exc)
        return DatabaseUnavailable()
    log.exception("unhandled error")
    return InternalError()


def _methods_of_path(request: Request) -> list[str]:
    """Every method the request's path serves. Starlette's 405 names only those of the first route that
    matches the path, though a path's GET and POST are often separate routes."""
    path = request.scope["path"]
    methods: set[str] = set()
    for context in iter_route_contexts(request.app.routes):
        route_methods = getattr(context.original_route, "methods", None)
        if context.path and route_methods and compile_path(context.path)[0].match(path):
            methods |= route_methods
    return sorted(methods)


def install_handlers(app: FastAPI) -> None:
    async def on_app_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AppError)
        return problem_response(request, exc)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        if _body_not_json(request, exc):
            return problem_response(
                request,
                UnsupportedMediaType(
                    "Send the body as JSON with Content-Type: application/json.",
                    "请以 JSON 发送请求体，并设置 Content-Type: application/json。",
                ),
            )
        return problem_response(request, _validation_error(exc))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        error = _HTTP_STATUS_ERRORS.get(exc.status_code, BadRequest)()
        error.headers.update(exc.headers or {})
        if exc.status_code == 405:
            error.headers["Allow"] = ", ".join(_methods_of_path(request))
        return problem_response(request, error)

    async def on_unhandled(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(request, error_for(exc, logger))

    app.add_exception_handler(AppError, on_app_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unhandled)
