"""Engines, sessions, migrations, and opening the database: the embedded server
(service/embedded_postgres.py) when none is configured.

One transaction per request: `SessionDep` yields a session whose transaction commits when the endpoint
returns and rolls back when it raises, and — because the dependency has function scope — the commit
happens before the response is sent, so a failed commit can never answer 200. `ReadSessionDep` yields a
`ReadSession`, a narrower type over a READ ONLY transaction (optionally on a replica): a write on a GET
path is a type error and, failing that, a database error. What must happen once a write has committed on
this process (a revocation learnt at once, say) is a hook in `app.state.after_commit`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Protocol, TypeVar, cast

import asyncpg
from fastapi import Depends, Request
from sqlalchemy import URL, Executable, MetaData, Result, ScalarResult, Text, make_url, text
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

from service.config import Settings
from service.embedded_postgres import EmbeddedPostgres
from service.errors import AppError, DatabaseUnavailable, answers

logger = logging.getLogger(__name__)

SERVICE_DIR = Path(__file__).resolve().parent
MIGRATIONS_DIR = SERVICE_DIR.parent / "migrations"

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# A text key of codes and identifiers that the hot paths look up (cap-usage periods and behaviour types,
# rate-limit keys, a partner's record ids, trip groups): compared byte by byte, with memcmp. Under a
# locale's collation every comparison in an index search would go through strcoll().
KeyText = Text(collation="C")


def enum_check(column: str, enum: type[StrEnum]) -> str:
    """A CHECK expression: the column holds one of the enum's values."""
    return f"{column} IN ({', '.join(repr(member.value) for member in enum)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


T = TypeVar("T")


class ReadSession(Protocol):
    """What a read-only request may do with its session."""

    async def execute(self, statement: Executable, params: Any = None) -> Result[Any]: ...

    async def scalar(self, statement: Executable, params: Any = None) -> Any: ...

    async def scalars(self, statement: Executable, params: Any = None) -> ScalarResult[Any]: ...

    async def get(self, entity: type[T], ident: Any) -> T | None: ...


def to_async_url(url: str) -> URL:
    """Accept postgres://, postgresql:// or postgresql+asyncpg:// and return an asyncpg URL."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    return parsed.set(drivername="postgresql+asyncpg")


class Database:
    """The engines one process uses; built in the lifespan and kept on `app.state.db`."""

    def __init__(self, url: str, *, settings: Settings, read_url: str | None = None) -> None:
        server_settings = {
            "application_name": "tanpuhui",
            "statement_timeout": str(settings.db_statement_timeout_ms),
            "idle_in_transaction_session_timeout": "60000",
        }
        connect_args: dict[str, Any] = {"server_settings": server_settings, "timeout": 5}
        self.url = to_async_url(url)
        self.engine: AsyncEngine = create_async_engine(
            self.url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_pre_ping=False,
            pool_timeout=10,
            connect_args=connect_args,
            # A statement that fails is logged with its SQL, never with the values bound to it.
            hide_parameters=True,
        )
        self._replica: AsyncEngine | None = (
            create_async_engine(
                to_async_url(read_url),
                pool_size=settings.db_pool_size,
                connect_args=connect_args,
                hide_parameters=True,
            )
            if read_url
            else None
        )
        self.read_engine = (self._replica or self.engine).execution_options(postgresql_readonly=True)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self.read_sessionmaker = async_sessionmaker(self.read_engine, expire_on_commit=False, autoflush=False)
        self._connect_args = connect_args
        self._statements = _StatementPool(self.engine, connect_args, settings.db_pool_size)
        read_only = {**server_settings, "default_transaction_read_only": "on"}
        self._reads = _StatementPool(
            self._replica or self.engine, {**connect_args, "server_settings": read_only}, settings.db_pool_size
        )

    def statement_connection(self) -> contextlib.AbstractAsyncContextManager[asyncpg.Connection]:
        """A plain asyncpg connection, for writes that are one statement (recording calls one function):
        no ORM, no session, no transaction of ours, each statement committed before it answers. Recording
        is most of the traffic, and checking a connection out of SQLAlchemy's pool and setting it to
        autocommit costs more than the statement's own client side."""
        return self._statements.acquire()

    def read_connection(self) -> contextlib.AbstractAsyncContextManager[asyncpg.Connection]:
        """The same for reads that are one statement each (the boards): on the replica when there is
        one, and read-only by the server's own setting, so that a write through it is refused. A single
        statement sees one snapshot, so it needs no transaction around it either."""
        return self._reads.acquire()

    async def dedicated_connection(self) -> asyncpg.Connection:
        """A connection of its own, outside every pool (for LISTEN); the caller closes it."""
        args, kwargs = self.engine.dialect.create_connect_args(self.engine.url)
        connection: asyncpg.Connection = await asyncpg.connect(*args, **{**kwargs, **self._connect_args})
        return connection

    async def dispose(self) -> None:
        await self._statements.close()
        await self._reads.close()
        await self.engine.dispose()
        if self._replica is not None:
            await self._replica.dispose()


class _StatementPool:
    """A plain asyncpg pool beside an engine, made on first use with the engine's own connection
    arguments and holding up to `size` connections."""

    def __init__(self, engine: AsyncEngine, connect_args: dict[str, Any], size: int) -> None:
        self._engine = engine
        self._connect_args = connect_args
        self._size = size
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[asyncpg.Connection]:
        pool = self._pool or await self._open()
        async with pool.acquire(timeout=10) as connection:
            yield connection

    async def _open(self) -> asyncpg.Pool:
        async with self._lock:
            if self._pool is None:
                args, kwargs = self._engine.dialect.create_connect_args(self._engine.url)
                self._pool = await asyncpg.create_pool(
                    *args,
                    **{**kwargs, **self._connect_args},
                    min_size=0,
                    max_size=self._size,
                    max_inactive_connection_lifetime=300,
                    reset=_end_of_statement,
                )
            return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


async def _end_of_statement(connection: asyncpg.Connection) -> None:
    """What a statement connection needs on its way back to the pool. It only ever runs single statements
    outside a transaction, so it has no cursors, listeners or settings to undo: asyncpg's default reset
    (RESET ALL, UNLISTEN *, CLOSE ALL, advisory unlocks) would be a round trip and more on every request."""
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


def database_of(request: Request) -> Database:
    return cast(Database, request.app.state.db)


# Dependencies are async: FastAPI runs a plain `def` dependency in the thread pool, a thread hop per request.
@answers(DatabaseUnavailable)
async def get_database(request: Request) -> Database:
    return database_of(request)


# Run, in order, after each request's write transaction commits; each is told the committed session (its
# `info` says what the transaction did) and must not raise: the answer stands whatever it does.
AfterCommit = Callable[[AsyncSession], Awaitable[None]]


async def _committed(request: Request, session: AsyncSession) -> None:
    await session.commit()
    hooks: list[AfterCommit] = getattr(request.app.state, "after_commit", [])
    for hook in hooks:
        await hook(session)


@answers(DatabaseUnavailable)
async def _write_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with database_of(request).sessionmaker() as session:
        try:
            yield session
        except AppError as error:
            if error.keeps_writes:
                await _committed(request, session)
            else:
                await session.rollback()
            raise
        except BaseException:
            await session.rollback()
            raise
        else:
            await _committed(request, session)


@answers(DatabaseUnavailable)
async def _read_session(request: Request) -> AsyncIterator[ReadSession]:
    async with database_of(request).read_sessionmaker() as session:
        try:
            yield cast(ReadSession, session)
        finally:
            await session.rollback()


@answers(DatabaseUnavailable)
async def _statement_connection(request: Request) -> AsyncIterator[asyncpg.Connection]:
    """A plain connection whose every statement is its own transaction (Database.statement_connection).
    For writes that are one atomic statement this saves the BEGIN and COMMIT round trips of a session."""
    async with database_of(request).statement_connection() as connection:
        yield connection


@answers(DatabaseUnavailable)
async def _read_connection(request: Request) -> AsyncIterator[asyncpg.Connection]:
    """A plain read-only connection whose every statement sees its own snapshot (Database.read_connection)."""
    async with database_of(request).read_connection() as connection:
        yield connection


SessionDep = Annotated[AsyncSession, Depends(_write_session, scope="function")]
StatementConnectionDep = Annotated[asyncpg.Connection, Depends(_statement_connection, scope="function")]
ReadSessionDep = Annotated[ReadSession, Depends(_read_session, scope="function")]
ReadConnectionDep = Annotated[asyncpg.Connection, Depends(_read_connection, scope="function")]
DatabaseDep = Annotated[Database, Depends(get_database)]


# ----------------------------------------------------------------------------------------------------
# Stored functions


_TRY_XACT_LOCK = text("SELECT pg_try_advisory_xact_lock(:key)")


async def try_xact_lock(connection: AsyncConnection | AsyncSession, key: int) -> bool:
    """Take the transaction-level advisory lock `key` if no other session holds it: how a background job
    has one leader across every worker and host, for the length of its transaction."""
    return bool(await connection.scalar(_TRY_XACT_LOCK, {"key": key}))


def current_sql_files() -> dict[str, Path]:
    """The current text of each stored function and view of ours, by name: `service/<domain>/sql/<name>.sql`.

    A file holds one CREATE OR REPLACE statement, the definition the database should have; a migration
    that changes the object applies a frozen copy of the file. Each name has exactly one current file:
    the same name in two domains' folders is an error.
    """
    files: dict[str, Path] = {}
    for path in sorted(SERVICE_DIR.glob("*/sql/*.sql")):
        if path.stem in files:
            raise ValueError(f"{path.stem} has two current files: {files[path.stem]} and {path}")
        files[path.stem] = path
    return files


_DEFINITIONS = text(
    "SELECT pg_get_functiondef(p.oid) FROM pg_proc p"
    " JOIN pg_namespace n ON n.oid = p.pronamespace"
    " WHERE n.nspname = 'public' AND p.proname = :name AND p.prokind IN ('f', 'p')"
    " ORDER BY p.oid"
)


async def stored_definitions(engine: AsyncEngine, name: str) -> list[str]:
    """What the database runs for every function of ours of that name (pg_get_functiondef)."""
    async with engine.connect() as connection:
        return [str(row[0]) for row in await connection.execute(_DEFINITIONS, {"name": name})]


# ----------------------------------------------------------------------------------------------------
# Migrations


def alembic_config(url: str, *, secret_key: str | None = None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = url
    if secret_key is not None:
        config.attributes["secret_key"] = secret_key
    return config


def run_migrations(url: str, revision: str = "head", *, downgrade: bool = False, secret_key: str | None = None) -> None:
    """Apply (or revert) migrations; blocking — call from a thread inside an event loop. `secret_key` is
    the service's, for the migrations that keep stored secrets under it (without it, they read the
    environment's)."""
    from alembic import command

    config = alembic_config(url, secret_key=secret_key)
    if downgrade:
        command.downgrade(config, revision)
    else:
        command.upgrade(config, revision)


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[Database]:
    """Start the embedded server when no URL is set, migrate if asked, and dispose of it all on exit."""
    embedded: EmbeddedPostgres | None = None
    if settings.database_url is None:
        embedded = EmbeddedPostgres(settings.embedded_pgdata)
        url = await asyncio.to_thread(embedded.start)
    else:
        url = settings.database_url.get_secret_value()
    read_url = settings.read_database_url.get_secret_value() if settings.read_database_url else None
    db = Database(url, settings=settings, read_url=read_url)
    try:
        if settings.migrate_on_start:
            await asyncio.to_thread(
                functools.partial(run_migrations, url, secret_key=settings.secret_key.get_secret_value())
            )
        yield db
    finally:
        await db.dispose()
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)


def execute_script(connection: Any, sql: str) -> None:
    """Run several SQL statements (e.g. a PL/pgSQL function and its triggers) from a migration.

    asyncpg prepares each statement and so refuses several in one; its simple-query path does not.
    `connection` is the synchronous Connection Alembic hands to a migration, inside run_sync.
    """
    from sqlalchemy.util import await_only

    driver = connection.connection.dbapi_connection.driver_connection
    await_only(driver.execute(sql))
