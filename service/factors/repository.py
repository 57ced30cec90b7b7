"""All SQL of the factors domain."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import ReadSession
from service.factors.models import FactorVersion


async def insert_version(session: AsyncSession, values: dict[str, Any]) -> FactorVersion | None:
    statement = (
        pg_insert(FactorVersion)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[FactorVersion.set_code, FactorVersion.version])
        .returning(FactorVersion)
    )
    return (await session.scalars(statement)).one_or_none()


async def get_version(session: AsyncSession | ReadSession, set_code: str, version: str) -> FactorVersion | None:
    statement = select(FactorVersion).where(FactorVersion.set_code == set_code, FactorVersion.version == version)
    return await session.scalar(statement)


async def versions_after(session: AsyncSession | ReadSession, last_id: int) -> Sequence[FactorVersion]:
    statement = select(FactorVersion).where(FactorVersion.id > last_id).order_by(FactorVersion.id)
    return (await session.scalars(statement)).all()


async def latest_id(session: AsyncSession | ReadSession) -> int:
    return int(await session.scalar(select(func.coalesce(func.max(FactorVersion.id), 0))) or 0)
