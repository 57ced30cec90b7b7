"""Test harness: a real PostgreSQL, the schema built by `alembic upgrade head`, a database per test.

The server is TANPUHUI_TEST_DATABASE_URL if set, else 127.0.0.1:5432 when a server answers there, else an
embedded PostgreSQL with its data under .data/test-postgres (shared by every process that runs tests, and
stopped by the last one). Migrations run once into a template database per process; each test gets its
own copy (CREATE DATABASE … TEMPLATE), so tests really commit and still cannot see each other. WeChat is
played by a small HTTP server on loopback (tests/fixtures/wechat.py), one per process.

`make test` runs the suite in several processes (pytest-xdist); everything a process makes on the server
is named by its worker id and process id, so processes never meet, nor do runs from two checkouts. Plain
`pytest` runs in one process, as before.
"""

from __future__ import annotations

import asyncio
import fcntl
import gc
import itertools
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import asyncpg
import httpx
import pytest
from argon2 import PasswordHasher

from service.accounts import passwords, staff
from service.accounts.models import EnterpriseStatus, Role
from service.accounts.schemas import UserCreate
from service.config import Settings
from service.db import Database, run_migrations
from service.kit.devdb import admin_connection, asyncpg_dsn, development_server, with_database
from service.main import create_app
from tests.fixtures.evidence import seed_test_sites
from tests.fixtures.wechat import FakeWechat

ROOT = Path(__file__).resolve().parent.parent
for _name in [n for n in os.environ if n.startswith("TANPUHUI_") and n != "TANPUHUI_TEST_DATABASE_URL"]:
    del os.environ[_name]


# "gw0", "gw1", … in a pytest-xdist worker; "main" when the suite runs in one process.
WORKER = re.sub(r"\W", "", os.environ.get("PYTEST_XDIST_WORKER", "main"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests first: spread over the workers from the start, not left as one worker's long tail."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashes() -> Iterator[None]:
    """Argon2id at its smallest cost rather than the production one (64 MiB, three passes), which would make
    each staff sign-in (a hash and a check) cost more than the rest of most tests. The same algorithm and
    code paths; only the work factor differs, as with a test hasher in any web framework."""
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "_hasher", cheap)
        patch.setattr(passwords, "_DUMMY_HASH", cheap.hash("tanpuhui-no-such-user"))
        yield


@pytest.fixture(scope="session")
async def pg_server() -> AsyncIterator[str]:
    """URL of the PostgreSQL server's maintenance database."""
    async with development_server() as url:
        yield url


class Databases:
    """Copies of the migrated template, one for each test that asks for a database.

    The copy for the next test is made while the current one runs, and a used copy is dropped in the
    background: DROP DATABASE waits for a checkpoint of the whole server, which on a busy server takes
    longer than most tests do.
    """

    def __init__(self, server: str, template: str) -> None:
        self.server = server
        self.template = template
        self._numbers = itertools.count()
        self._next: asyncio.Task[str] | None = None
        self._drops: list[asyncio.Task[None]] = []

    async def _execute(self, statement: str) -> None:
        admin = await admin_connection(self.server)
        try:
            await admin.execute(statement)
        finally:
            await admin.close()

    async def _copy(self) -> str:
        name = f"{self.template.replace('_tpl_', '_t_')}_{next(self._numbers)}"
        await self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return name

    async def take(self) -> str:
        """A database of its own for a test; the copy for the one after is begun."""
        name = await (self._next or self._copy())
        self._next = asyncio.create_task(self._copy())
        return name

    def give_back(self, name: str) -> None:
        self._drops.append(asyncio.create_task(self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')))

    async def close(self) -> None:
        """Drop every copy, the one made ahead included; a failed drop is raised."""
        if self._next is not None:
            self.give_back(await self._next)
            self._next = None
        await asyncio.gather(*self._drops)


@pytest.fixture(scope="session")
async def template_database(pg_server: str) -> AsyncIterator[Databases]:
    """A database migrated to head, copied for every test."""
    name = f"tanpuhui_tpl_{WORKER}_{os.getpid()}"
    admin = await admin_connection(pg_server)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
        await asyncio.to_thread(run_migrations, with_database(pg_server, name))
        seeding = await asyncpg.connect(**asyncpg_dsn(with_database(pg_server, name)))
        try:
            await seed_test_sites(seeding)
        finally:
            await seeding.close()
        databases = Databases(pg_server, name)
        try:
            yield databases
        finally:
            await databases.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def database_url(pg_server: str, template_database: Databases) -> AsyncIterator[str]:
    """A fresh database of our schema for one test."""
    name = await template_database.take()
    try:
        yield with_database(pg_server, name)
    finally:
        template_database.give_back(name)


@pytest.fixture(scope="session")
def wechat() -> Iterator[FakeWechat]:
    with FakeWechat() as server:
        yield server


def test_settings(database_url: str | None, wechat: FakeWechat, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test",
        "database_url": database_url,
        "migrate_on_start": False,
        "demo_admin": False,
        "wechat_appid": FakeWechat.APPID,
        "wechat_secret": FakeWechat.SECRET,
        "wechat_api_base": wechat.url,
        "wechat_timeout_s": 1.0,
        "rate_signin_per_ip_per_min": 10_000,
        "rate_resident_signin_per_ip_per_min": 10_000,
        "rate_signin_per_username_per_min": 10_000,
        "rate_resident_writes_per_min": 10_000,
        "rate_partner_writes_per_min": 10_000,
        "db_pool_size": 5,
        # tests read a board right after rolling it up; the cache has its own tests
        "leaderboard_cache_s": 0,
        "factors_dir": ROOT / "emission_factors",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@dataclass
class Api:
    """A running app and a client for it."""

    app: Any
    client: httpx.AsyncClient
    settings: Settings

    @property
    def db(self) -> Database:
        db: Database = self.app.state.db
        return db


_app_starts = itertools.count()
FULL_COLLECTION_EVERY = 25


def _leave_what_exists_out_of_the_apps_collection() -> None:
    """The lifespan collects garbage in full, then freezes what survives (gc.collect(); gc.freeze()). In a
    test process that scans every object of every module the suite imported, at each app start. Frozen
    beforehand, they are left out of that collection; the lifespan's own gc.unfreeze() gives them back at
    shutdown, and a full collection every few starts frees what earlier tests left behind."""
    if next(_app_starts) % FULL_COLLECTION_EVERY == 0:
        gc.collect()
    gc.freeze()


@pytest.fixture(scope="session")
def two_apps_lock(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """A file the worker processes of one run share, held by a test while it runs two apps at once."""
    if WORKER == "main":
        return None
    return tmp_path_factory.getbasetemp().parent / "two-apps.lock"


async def _hold(lock: Path) -> IO[bytes]:
    held = lock.open("ab")
    await asyncio.to_thread(fcntl.flock, held, fcntl.LOCK_EX)
    return held


@pytest.fixture
async def make_api(
    database_url: str, wechat: FakeWechat, two_apps_lock: Path | None, tmp_path: Path
) -> AsyncIterator[Callable[..., Awaitable[Api]]]:
    """Start an app with some settings overridden; every app started is shut down after the test. Its data
    folder (where photos go) is the test's own.

    A test that runs two apps on one database (most tests of concurrency) can hold several dozen
    connections; in a parallel run such tests take turns, so that the workers together stay well inside
    the server's max_connections.
    """
    stack: list[Any] = []
    held: list[IO[bytes]] = []

    async def start(**overrides: Any) -> Api:
        if stack and two_apps_lock is not None and not held:
            held.append(await _hold(two_apps_lock))
        settings = test_settings(database_url, wechat, **{"data_dir": tmp_path, **overrides})
        app = create_app(settings)
        lifespan = app.router.lifespan_context(app)
        _leave_what_exists_out_of_the_apps_collection()
        await lifespan.__aenter__()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tanpuhui.test")
        stack.append((lifespan, client))
        return Api(app, client, settings)

    try:
        yield start
        for lifespan, client in reversed(stack):
            await client.aclose()
            await lifespan.__aexit__(None, None, None)
    finally:
        for lock in held:
            lock.close()


@pytest.fixture
async def api(make_api: Callable[..., Awaitable[Api]]) -> Api:
    return await make_api()


@pytest.fixture
async def client(api: Api) -> httpx.AsyncClient:
    return api.client


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


@pytest.fixture
def sign_in_resident(client: httpx.AsyncClient) -> Callable[[str], Awaitable[dict[str, Any]]]:
    """Sign a resident in through the dev login; returns the token pair."""

    async def sign_in(name: str = "alice") -> dict[str, Any]:
        response = await client.post("/v1/auth/dev", json={"name": name})
        assert response.status_code == 200, response.text
        tokens: dict[str, Any] = response.json()
        return tokens

    return sign_in


STAFF_PASSWORD = "correct horse battery staple"


@asynccontextmanager
async def _session(api: Api) -> AsyncIterator[Any]:
    async with api.db.sessionmaker.begin() as session:
        yield session


@pytest.fixture
def sign_in_staff(api: Api) -> Callable[..., Awaitable[dict[str, Any]]]:
    """Create an enterprise or admin user (as `tanpuhui create-user` would) and sign it in over HTTP."""

    async def sign_in(role: Role, username: str | None = None, enterprise_id: int | None = None) -> dict[str, Any]:
        username = username or role.value.replace("admin-", "") + "-user"
        async with _session(api) as session:
            if role is Role.enterprise and enterprise_id is None:
                enterprise = await staff.create_enterprise(
                    session, name=f"{username} Co.", status=EnterpriseStatus.approved
                )
                enterprise_id = enterprise.id
            await staff.create_user(
                session,
                data=UserCreate(
                    username=username,
                    password=STAFF_PASSWORD,
                    display_name=username,
                    role=role,  # type: ignore[arg-type]
                    enterprise_id=enterprise_id,
                ),
            )
        response = await api.client.post("/v1/auth/login", json={"username": username, "password": STAFF_PASSWORD})
        assert response.status_code == 200, response.text
        tokens: dict[str, Any] = response.json()
        return tokens

    return sign_in
