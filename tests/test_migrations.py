"""Migrations: a real downgrade for every revision, a schema that matches the models, and the seed data."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import String, make_url
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

import service.models  # noqa: F401  (registers every table on Base.metadata)
from service.db import Base, run_migrations, to_async_url
from service.main import create_app
from tests.conftest import test_settings as settings_for
from tests.fixtures.wechat import FakeWechat

ALEMBIC_OWN = {"alembic_version", "alembic_version_pkc"}


def _connect_args(url: str, database: str) -> dict[str, Any]:
    parsed = make_url(url)
    return {
        "user": parsed.username or "postgres",
        "password": parsed.password,
        "host": parsed.query.get("host") or parsed.host or "127.0.0.1",
        "port": parsed.port or 5432,
        "database": database,
    }


@pytest.fixture
async def empty_database(pg_server: str) -> AsyncIterator[str]:
    """A brand-new database with nothing in it: not a copy of the migrated template."""
    name = f"tanpuhui_mig_{os.getpid()}"
    admin = await asyncpg.connect(**_connect_args(pg_server, make_url(pg_server).database or "postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        yield to_async_url(pg_server).set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _objects_of_ours(url: str) -> dict[str, set[str]]:
    """Relations (tables, indexes, sequences, views) and functions in the public schema."""
    parsed = make_url(url)
    connection = await asyncpg.connect(**_connect_args(url, parsed.database or ""))
    try:
        relations = await connection.fetch(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'"
        )
        functions = await connection.fetch(
            "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'"
        )
        types = await connection.fetch(
            "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
            "WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd') "
        )
    finally:
        await connection.close()
    return {
        "relations": {r["relname"] for r in relations} - ALEMBIC_OWN,
        "functions": {r["proname"] for r in functions},
        "types": {r["typname"] for r in types},
    }


def _schema_differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
    return list(compare_metadata(context, Base.metadata))


async def _differences(url: str) -> list[Any]:
    engine = create_async_engine(to_async_url(url), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_schema_differences)
    finally:
        await engine.dispose()


@asynccontextmanager
async def running_app(database_url: str, wechat: FakeWechat) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings_for(database_url, wechat))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tanpuhui.test") as client,
    ):
        yield client


async def test_downgrading_to_base_removes_everything_and_upgrading_again_works(
    empty_database: str, wechat: FakeWechat
) -> None:
    await asyncio.to_thread(run_migrations, empty_database)
    migrated = await _objects_of_ours(empty_database)
    assert {"accounts_resident", "kit_rate_limit_bucket", "ledger_entry"} <= migrated["relations"]
    assert "kit_rate_limit_take" in migrated["functions"]

    await asyncio.to_thread(run_migrations, empty_database, "base", downgrade=True)

    assert await _objects_of_ours(empty_database) == {"relations": set(), "functions": set(), "types": set()}

    await asyncio.to_thread(run_migrations, empty_database)

    assert await _objects_of_ours(empty_database) == migrated
    async with running_app(empty_database, wechat) as client:
        communities = (await client.get("/v1/communities")).json()
        signed_in = await client.post("/v1/auth/dev", json={"name": "after-round-trip"})
    codes = [c["code"] for c in communities]
    assert len(codes) == len(set(codes))
    assert "xianshuigu" in codes
    assert signed_in.status_code == 200, signed_in.text


async def _collations(url: str) -> dict[tuple[str, str], str]:
    """Every column of ours that has a collation other than the database's default, and that collation."""
    parsed = make_url(url)
    connection = await asyncpg.connect(**_connect_args(url, parsed.database or ""))
    try:
        rows = await connection.fetch(
            "SELECT table_name, column_name, collation_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND collation_name IS NOT NULL"
        )
    finally:
        await connection.close()
    return {(r["table_name"], r["column_name"]): r["collation_name"] for r in rows}


async def test_the_migrated_schema_matches_the_models(database_url: str) -> None:
    differences = await _differences(database_url)
    # Alembic's comparison passes over a column's collation.
    declared = {
        (table.name, column.name): column.type.collation
        for table in Base.metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, String) and column.type.collation
    }

    assert differences == []
    assert declared
    assert await _collations(database_url) == declared


async def test_the_seed_communities_include_xianshuigu_and_the_haihe_education_park(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v1/communities")

    assert response.status_code == 200
    by_name = {c["name_zh"]: c for c in response.json()}
    assert by_name["咸水沽镇"]["code"] == "xianshuigu"
    assert by_name["咸水沽镇"]["kind"] == "town"
    assert by_name["海河教育园区"]["code"] == "haihe-education-park"
    assert by_name["海河教育园区"]["kind"] == "area"
    assert by_name["海河教育园区"]["name_en"] == "Haihe Education Park"
