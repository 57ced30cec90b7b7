"""The privacy domain's SQL: the retention pass's lock, its mark on behaviours, and its runs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import ReadSession
from service.privacy.models import RetentionRun, RetentionState


async def behaviour_mark(session: AsyncSession) -> int:
    return int(
        (await session.execute(select(RetentionState.behaviour_through).where(RetentionState.id == 1))).scalar_one()
    )


async def set_behaviour_mark(session: AsyncSession, through: int) -> None:
    await session.execute(update(RetentionState).where(RetentionState.id == 1).values(behaviour_through=through))


async def insert_run(
    session: AsyncSession, *, started_at: datetime, schedule: dict[str, Any], counts: dict[str, int]
) -> RetentionRun:
    statement = insert(RetentionRun).values(started_at=started_at, schedule=schedule, counts=counts)
    return (await session.scalars(statement.returning(RetentionRun))).one()


async def runs(session: AsyncSession | ReadSession, *, before_id: int | None, limit: int) -> Sequence[RetentionRun]:
    statement = select(RetentionRun).order_by(RetentionRun.id.desc()).limit(limit)
    if before_id is not None:
        statement = statement.where(RetentionRun.id < before_id)
    return (await session.scalars(statement)).all()
