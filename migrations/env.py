"""Alembic environment: async engine on asyncpg; one advisory lock so concurrent starts migrate once."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

import service.models  # noqa: F401  (registers every table on Base.metadata)
from service.config import Settings
from service.db import Base, to_async_url

MIGRATION_LOCK_KEY = 7_314_159_265

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("database_url")
    if url:
        return str(url)
    settings = Settings()
    if settings.database_url is None:
        raise SystemExit("set TANPUHUI_DATABASE_URL (or run `tanpuhui serve`, which starts the embedded database)")
    return settings.database_url.get_secret_value()


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(to_async_url(_url()), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
