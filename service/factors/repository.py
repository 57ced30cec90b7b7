"""All SQL of the factors domain."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import ReadSession
from service.factors.models import FactorDraft, FactorVersion


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


async def get_version_by_id(session: AsyncSession | ReadSession, version_id: int) -> FactorVersion | None:
    return await session.get(FactorVersion, version_id)


async def version_exists(session: AsyncSession | ReadSession, set_code: str, version: str) -> bool:
    statement = select(FactorVersion.id).where(FactorVersion.set_code == set_code, FactorVersion.version == version)
    return await session.scalar(statement) is not None


async def insert_draft(session: AsyncSession, values: dict[str, Any]) -> FactorDraft:
    statement = pg_insert(FactorDraft).values(**values).returning(FactorDraft)
    return (await session.scalars(statement)).one()


async def get_draft(session: AsyncSession | ReadSession, draft_id: int) -> FactorDraft | None:
    return await session.get(FactorDraft, draft_id)


async def lock_draft(session: AsyncSession, draft_id: int) -> FactorDraft | None:
    statement = select(FactorDraft).where(FactorDraft.id == draft_id).with_for_update()
    return await session.scalar(statement)


async def decide_draft(session: AsyncSession, draft_id: int, values: dict[str, Any]) -> FactorDraft:
    statement = (
        update(FactorDraft)
        .where(FactorDraft.id == draft_id)
        .values(**values, decided_at=func.now())
        .returning(FactorDraft)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return (await session.scalars(statement)).one()


async def drafts(
    session: AsyncSession | ReadSession, *, status: str | None, before: int | None, limit: int
) -> Sequence[FactorDraft]:
    """Newest first; pending ones through their partial index."""
    statement = select(FactorDraft).order_by(FactorDraft.id.desc()).limit(limit)
    if status is not None:
        statement = statement.where(FactorDraft.status == status)
    if before is not None:
        statement = statement.where(FactorDraft.id < before)
    return (await session.scalars(statement)).all()


async def published_versions(session: AsyncSession | ReadSession, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of these (set, version) pairs are published."""
    if not keys:
        return set()
    statement = select(FactorVersion.set_code, FactorVersion.version).where(
        tuple_(FactorVersion.set_code, FactorVersion.version).in_(sorted(keys))
    )
    return {(row.set_code, row.version) for row in (await session.execute(statement)).all()}
