"""All SQL of the ingest domain outside the recording function."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import ReadSession
from service.ingest.models import Behaviour


async def get_behaviour(session: AsyncSession | ReadSession, behaviour_id: int) -> Behaviour | None:
    return await session.scalar(select(Behaviour).where(Behaviour.id == behaviour_id))


async def resident_behaviour_by_client_id(
    session: AsyncSession | ReadSession, *, resident_id: int, client_id: str
) -> Behaviour | None:
    statement = select(Behaviour).where(Behaviour.resident_id == resident_id, Behaviour.client_id == client_id)
    return await session.scalar(statement)


async def resident_behaviours(
    session: AsyncSession | ReadSession, *, resident_id: int, before: tuple[datetime, int] | None, limit: int
) -> Sequence[Behaviour]:
    """A resident's behaviours by when they happened, most recent first (ties newest recorded first),
    from just after `before` (occurred_at, id): one range of ix_ingest_behaviour_resident_id_occurred_at."""
    statement = select(Behaviour).where(Behaviour.resident_id == resident_id)
    if before is not None:
        statement = statement.where(tuple_(Behaviour.occurred_at, Behaviour.id) < tuple_(*before))
    order = (Behaviour.occurred_at.desc(), Behaviour.id.desc())
    return (await session.scalars(statement.order_by(*order).limit(limit))).all()


async def pending_behaviours(session: ReadSession, *, after_id: int | None, limit: int) -> Sequence[Behaviour]:
    statement = select(Behaviour).where(Behaviour.status == "pending_review")
    if after_id is not None:
        statement = statement.where(Behaviour.id > after_id)
    return (await session.scalars(statement.order_by(Behaviour.id).limit(limit))).all()


async def partner_behaviours_by_key(
    session: AsyncSession, *, partner_id: int, external_ids: Sequence[str]
) -> dict[str, Behaviour]:
    statement = select(Behaviour).where(Behaviour.partner_id == partner_id, Behaviour.external_id.in_(external_ids))
    return {row.external_id: row for row in (await session.scalars(statement)).all() if row.external_id}
