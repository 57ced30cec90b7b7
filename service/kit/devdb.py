"""The PostgreSQL that tests and benchmarks use, and scratch databases on it.

TANPUHUI_TEST_DATABASE_URL if set, else a server on 127.0.0.1:5432 when one answers (user postgres),
else an embedded PostgreSQL with its data under .data/test-postgres in the checkout.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import make_url

from service.db import to_async_url
from service.embedded_postgres import EmbeddedPostgres

LOCAL_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
CHECKOUT = Path(__file__).resolve().parents[2]


def asyncpg_dsn(url: str, database: str | None = None) -> dict[str, Any]:
    parsed = make_url(url)
    return {
        "user": parsed.username or "postgres",
        "password": parsed.password,
        "host": parsed.query.get("host") or parsed.host or "127.0.0.1",
        "port": parsed.port or 5432,
        "database": database or parsed.database or "postgres",
    }


def with_database(url: str, database: str) -> str:
    return to_async_url(url).set(database=database).render_as_string(hide_password=False)


async def _answers(url: str) -> bool:
    try:
        connection = await asyncpg.connect(**asyncpg_dsn(url), timeout=2)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await connection.close()
    return True


@asynccontextmanager
async def development_server() -> AsyncIterator[str]:
    """Yield the URL of the server's maintenance database; stop an embedded server afterwards."""
    configured = os.environ.get("TANPUHUI_TEST_DATABASE_URL")
    if configured:
        yield configured
    elif await _answers(LOCAL_SERVER):
        yield LOCAL_SERVER
    else:
        embedded = EmbeddedPostgres(CHECKOUT / ".data" / "test-postgres")
        url = await asyncio.to_thread(embedded.start)
        try:
            yield url
        finally:
            await asyncio.to_thread(embedded.stop)


async def admin_connection(server: str) -> asyncpg.Connection:
    return await asyncpg.connect(**asyncpg_dsn(server))
