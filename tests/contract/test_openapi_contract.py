"""Contract tests: requests generated from mobile_api_docs/openapi.json, sent to the service over real HTTP.

Schemathesis draws valid requests (and, for bad input, invalid ones) for every operation from the
committed document, sends them signed in as the role the operation is for, and checks each answer:
never a 5xx; a status the operation documents; the documented content type and headers; a body that
conforms to the documented schema; bad input refused with a 4xx. The service runs under uvicorn on
loopback against a real PostgreSQL database holding a small world (residents with credits, an approved
enterprise with a reward, a partner key, a sealed receipt), so generated ids often hit real rows.

CONTRACT_EXAMPLES sets how many requests each operation gets per mode (default 12).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import hypothesis
import pytest
import requests
import schemathesis
import uvicorn
from schemathesis import checks as st_checks
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode

from service.accounts import partners
from service.accounts.models import Role
from service.accounts.signing import signed_headers
from tests.conftest import Api, bearer
from tests.fixtures.redemption import earn, publish, redeem_ok

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("CONTRACT_EXAMPLES", "12"))
CHECKS = [
    st_checks.not_a_server_error,
    st_checks.status_code_conformance,
    st_checks.content_type_conformance,
    st_checks.response_headers_conformance,
    st_checks.response_schema_conformance,
]
NEGATIVE_CHECKS = [*CHECKS, st_checks.negative_data_rejection]
# Operations that end the caller's own session or account would take the rest of the run's identity
# with them; each is still exercised, by a resident of its own.
SELF_ENDING = {("DELETE", "/v1/me"), ("POST", "/v1/auth/logout")}


class PartnerSignature(requests.auth.AuthBase):
    """Signs the request as sent: method, path and query, a fresh timestamp, the exact body bytes."""

    def __init__(self, key_id: str, secret: str) -> None:
        self.key_id = key_id
        self.secret = secret

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        assert isinstance(body, str | bytes), "generated bodies are sent whole"
        raw = body.encode() if isinstance(body, str) else body
        url = urlsplit(str(request.url))
        path = url.path + (f"?{url.query}" if url.query else "")
        request.headers.update(signed_headers(self.key_id, self.secret, str(request.method), path, raw))
        return request


@contextlib.asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    """The app under uvicorn on a free loopback port, in this event loop; yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_config=None, access_log=False)
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn offers no event to wait on)
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def build_world(api: Api, sign_in_staff: Callable[..., Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    client = api.client
    resident = (await client.post("/v1/auth/dev", json={"name": "contract"})).json()
    await earn(client, resident, rides=3)
    enterprise = await sign_in_staff(Role.enterprise)
    reward = await publish(client, enterprise)
    await redeem_ok(client, resident, reward["id"])
    admin = await sign_in_staff(Role.admin_super)
    async with api.db.sessionmaker.begin() as session:
        partner = await partners.create_partner(session, code="contract-bus", name="Bus", kind="transit_card")
        key, secret = await partners.issue_partner_key(session, box=api.app.state.secret_box, partner_id=partner.id)
    return {
        "resident": bearer(resident),
        "enterprise": bearer(enterprise),
        "admin": bearer(admin),
        "partner": PartnerSignature(key.key_id, secret),
    }


def credentials_for(
    method: str, path: str, world: dict[str, Any], fresh_resident: Callable[[], dict[str, str]]
) -> dict[str, Any]:
    if path.startswith("/v1/partner/"):
        return {"auth": world["partner"]}
    if (method, path) in SELF_ENDING:
        return {"headers": fresh_resident()}
    if path.startswith(("/v1/admin/", "/v1/staff/")):
        return {"headers": world["admin"]}
    if path.startswith("/v1/enterprise/"):
        return {"headers": world["enterprise"]}
    return {"headers": world["resident"]}


def ignores_unknown_query_parameters(failure: Failure) -> bool:
    """The service ignores query parameters it does not know, as HTTP APIs commonly do (an H5 page may add
    a cache-busting `_=`); a request whose only fault is such a parameter is not bad input. (A dropped
    Authorization header is no fault either: the run always sends its own.)"""
    component = failure.message.partition("Invalid component:")[2]
    faults = [line for line in component.strip().splitlines() if "(was Authorization)" not in line]
    return failure.title == "Schema-violating request accepted" and all(
        "query" in line and "additionalProperties" in line for line in faults if line.strip()
    )


def run_operation(operation: Any, base_url: str, credentials: dict[str, Any], mode: GenerationMode) -> list[str]:
    """Send EXAMPLES generated requests; returns what went wrong, one line per distinct failure."""
    failures: dict[str, str] = {}
    extra = {key: value for key, value in credentials.items() if key != "headers"}
    session = requests.Session()

    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def check(case: Any) -> None:
        headers = {**(case.headers or {}), **credentials.get("headers", {})}
        try:
            case.call_and_validate(
                base_url=base_url,
                session=session,
                headers=headers,
                checks=NEGATIVE_CHECKS if mode is GenerationMode.NEGATIVE else CHECKS,
                **extra,
            )
        except (Failure, FailureGroup) as failed:
            for failure in failed.exceptions if isinstance(failed, FailureGroup) else [failed]:
                assert isinstance(failure, Failure)
                if ignores_unknown_query_parameters(failure):
                    continue
                key = f"{failure.title}: {failure.message}"[:2000]
                request = f"{case.method} {case.formatted_path} query={case.query} body={str(case.body)[:200]}"
                failures.setdefault(key, f"{operation.label} [{mode.value}] {key}\n    {request}")

    try:
        check()
    except hypothesis.errors.Unsatisfiable:
        # an operation that takes no input has no invalid request to send
        assert mode is GenerationMode.NEGATIVE, operation.label
    finally:
        session.close()
    return list(failures.values())


@pytest.mark.slow
async def test_every_operation_keeps_to_the_document(
    api: Api, sign_in_staff: Callable[..., Awaitable[dict[str, Any]]]
) -> None:
    world = await build_world(api, sign_in_staff)
    schema = schemathesis.openapi.from_path(ROOT / "mobile_api_docs" / "openapi.json")
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the document has an operation schemathesis cannot read: {result.err()}"
        operations.append(result.ok())
    loop = asyncio.get_running_loop()

    async with serving(api.app) as base_url:

        def fresh_resident() -> dict[str, str]:
            name = f"contract-{time.monotonic_ns()}"
            reply = requests.post(f"{base_url}/v1/auth/dev", json={"name": name}, timeout=10)
            return bearer(reply.json())

        def exercise(operation: Any) -> list[str]:
            # runs in a worker thread: the service answers from this test's event loop meanwhile
            credentials = credentials_for(operation.method.upper(), operation.path, world, fresh_resident)
            found = []
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                found += run_operation(operation, base_url, credentials, mode)
            return found

        failures: list[str] = []
        for operation in operations:
            failures += await loop.run_in_executor(None, exercise, operation)
    if failures:
        pytest.fail(f"{len(failures)} ways the service departs from its document:\n" + "\n".join(failures))
