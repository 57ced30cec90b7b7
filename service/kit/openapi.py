"""The OpenAPI document front-end developers build from (exported to mobile_api_docs/openapi.json).

FastAPI writes the operations and schemas; this module adds what a client needs to handle failures:

- every operation lists its error responses as `application/problem+json`, one example per stable code;
- a route declares the errors particular to it with `responses=problems(NotFound, CapReached, …)`;
- the errors that follow from how a route is built are added here, read off its dependencies: 401 and
  403 from the token and role checks, 401 and 429 from partner signatures and rate limits, 400/413/422
  from a body or parameters, 503 from the database;
- an operation's summary is the first clause of its docstring and its id is the function's name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import Field

from service.errors import (
    PROBLEM_JSON,
    AppError,
    BodyTooLarge,
    MalformedJson,
    UnsupportedMediaType,
    ValidationFailed,
    answered_by,
    every_error_class,
)
from service.kit.pagination import InvalidCursor
from service.kit.schemas import Schema


class ProblemText(Schema):
    title: str = Field(description="Short, stable title of the error.", examples=["请求过于频繁，请稍后再试"])
    detail: str = Field(description="What happened in this request.", examples=["请在 12 秒后重试。"])


class FieldProblem(Schema):
    field: str = Field(description="The field, as a dotted path with [index] for list items.", examples=["quantity"])
    in_: str = Field(alias="in", description="Where the field is: body, query, path or header.", examples=["body"])
    code: str = Field(description="What is wrong with it, as a stable code.", examples=["GREATER_THAN"])
    message: str = Field(description="What is wrong with it, in English.", examples=["Input should be greater than 0"])


class Problem(Schema):
    """An error, as RFC 9457 problem details; members beyond these carry the error's own data."""

    type: str = Field(
        description="`urn:tanpuhui:problem:<code>`.", examples=["urn:tanpuhui:problem:TRIP_ALREADY_RECORDED"]
    )
    code: str = Field(description="The stable machine code: branch on this.", examples=["TRIP_ALREADY_RECORDED"])
    status: int = Field(description="The HTTP status, repeated.", examples=[409])
    title: str = Field(
        description="The title in the language asked for by Accept-Language (zh-CN by default).",
        examples=["该行程与已记录的行程重叠"],
    )
    detail: str = Field(description="This occurrence, in the same language.", examples=["该行程已由合作方记录。"])
    instance: str = Field(description="The request path.", examples=["/v1/behaviours"])
    request_id: str = Field(
        description="Quote it when reporting a problem; also in the X-Request-Id header.",
        examples=["3f2b9c0d8e7a4b6c9d0e1f2a3b4c5d6e"],
    )
    i18n: dict[str, ProblemText] = Field(
        description="Title and detail in both languages, keyed `zh-CN` and `en`.",
        examples=[
            {
                "zh-CN": {"title": "请求有误", "detail": "请求有误"},
                "en": {"title": "Bad request", "detail": "Bad request"},
            }
        ],
    )
    errors: list[FieldProblem] | None = Field(
        default=None,
        description="For VALIDATION_FAILED: every field that failed, with why.",
        examples=[
            [{"field": "quantity", "in": "body", "code": "GREATER_THAN", "message": "Input should be greater than 0"}]
        ],
    )


_CLAUSE_END = re.compile(r"(?<!e\.g)(?<!i\.e)(?:\. |; |: )")
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "examples": [5]},
    }
}


def _example(error: type[AppError]) -> dict[str, Any]:
    body = {
        "type": f"urn:tanpuhui:problem:{error.code}",
        "code": error.code,
        "status": error.status,
        "title": error.title_zh,
        "detail": error.title_zh,
        "instance": "/v1/…",
        "request_id": "3f2b9c0d8e7a4b6c9d0e1f2a3b4c5d6e",
        "i18n": {
            "zh-CN": {"title": error.title_zh, "detail": error.title_zh},
            "en": {"title": error.title_en, "detail": error.title_en},
        },
    }
    return {"summary": error.title_en, "value": body}


def _every_error() -> list[type[AppError]]:
    """One class per code (a code names one error), in code order."""
    by_code: dict[str, type[AppError]] = {}
    for error in every_error_class():
        by_code.setdefault(error.code, error)
    return sorted(by_code.values(), key=lambda error: error.code)


def problems(*errors: type[AppError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these errors: one response per status, an example per code."""
    responses: dict[int | str, dict[str, Any]] = {}
    for error in errors:
        response = responses.setdefault(
            error.status,
            {"description": "", "content": {PROBLEM_JSON: {"schema": _PROBLEM_REF, "examples": {}}}},
        )
        response["content"][PROBLEM_JSON]["examples"][error.code] = {"$ref": f"#/components/examples/{error.code}"}
        if error.status in (429, 503):
            response["headers"] = _RETRY_AFTER
    for response in responses.values():
        response["description"] = ", ".join(response["content"][PROBLEM_JSON]["examples"])
    return responses


# --------------------------------------------------------------------------------- read off dependencies


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _calls(dependency)


def implied_errors(route: APIRoute) -> list[type[AppError]]:
    """The errors a route can answer because of how it is built, not because of what it does."""
    errors: list[type[AppError]] = []
    if route.body_field is not None:
        errors += [MalformedJson, BodyTooLarge, UnsupportedMediaType]
    if route.body_field is not None or route.dependant.path_params or route.dependant.query_params:
        errors.append(ValidationFailed)
    if any(param.name == "cursor" for param in route.dependant.query_params):
        errors.append(InvalidCursor)
    for call in _calls(route.dependant):
        errors += answered_by(call)
    return errors


def _merge(operation: dict[str, Any], extra: dict[int | str, dict[str, Any]]) -> None:
    responses = operation.setdefault("responses", {})
    for status, response in extra.items():
        existing = responses.get(str(status))
        if existing is None or PROBLEM_JSON not in existing.get("content", {}):
            responses[str(status)] = response
            continue
        examples = existing["content"][PROBLEM_JSON]["examples"]
        for code, example in response["content"][PROBLEM_JSON]["examples"].items():
            examples.setdefault(code, example)
        existing["description"] = ", ".join(examples)
        if "headers" in response:
            existing["headers"] = response["headers"]


def _drop_default_validation_error(operation: dict[str, Any]) -> None:
    """FastAPI's own 422 describes a body we never send; a route's declared 422 problems stay."""
    response = operation["responses"].get("422")
    if response is None:
        return
    response.get("content", {}).pop("application/json", None)
    if not response.get("content"):
        del operation["responses"]["422"]


def summary_of(route: APIRoute) -> str:
    """The first clause of the docstring: what the operation does, in a few words."""
    text = (route.description or route.name).strip().splitlines()[0]
    return _CLAUSE_END.split(text, maxsplit=1)[0].rstrip(".")


def _api_routes(app: FastAPI) -> Iterator[tuple[APIRoute, str]]:
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            yield context.original_route, str(context.path_format)


def build(app: FastAPI) -> dict[str, Any]:
    spec = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        servers=app.servers,
        tags=app.openapi_tags,
    )
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    problem = Problem.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = problem
    spec["components"]["examples"] = {error.code: _example(error) for error in _every_error()}
    for route, path in _api_routes(app):
        if not route.include_in_schema:
            continue
        for method in route.methods or ():
            operation = spec["paths"][path][method.lower()]
            operation["summary"] = route.summary or summary_of(route)
            one_method = len(route.methods or ()) == 1
            operation["operationId"] = route.operation_id or (
                route.name if one_method else f"{route.name}_{method.lower()}"
            )
            _drop_default_validation_error(operation)
            _merge(operation, problems(*implied_errors(route)))
            # route-specific errors were written by FastAPI from `responses=problems(...)`; keep them sorted
            operation["responses"] = dict(sorted(operation["responses"].items()))
    return spec


def install(app: FastAPI) -> None:
    """Serve the document built by `build` (once per process) at /openapi.json."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
