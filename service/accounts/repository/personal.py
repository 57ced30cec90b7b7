"""The accounts domain's SQL for a resident's personal data: erasing it, reading it out, and the retention
schedule's deletions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import Device, RefreshToken, Resident
from service.db import ReadSession


async def erase_resident(session: AsyncSession, resident_id: int) -> None:
    """Clear every personal column and give the row a new, random public id that no one was ever told; the
    row, its id and its pseudonym stay for the ledger."""
    await session.execute(
        update(Resident)
        .where(Resident.id == resident_id)
        .values(
            public_id=uuid.uuid4(),
            openid=None,
            unionid=None,
            nickname=None,
            community_id=None,
            organisation_id=None,
            leaderboard_visible=False,
            frozen_reason=None,
            deleted_at=func.coalesce(Resident.deleted_at, func.now()),
            erased_at=func.now(),
            updated_at=func.now(),
        )
    )


async def lock_unerased(session: AsyncSession, *, limit: int) -> Sequence[int]:
    """Up to `limit` accounts deleted but not yet erased, locked; those another transaction holds are left."""
    statement = (
        select(Resident.id)
        .where(Resident.deleted_at.is_not(None), Resident.erased_at.is_(None))
        .order_by(Resident.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(statement)).all()


async def delete_devices_of(session: AsyncSession, resident_id: int) -> int:
    result = await session.execute(delete(Device).where(Device.resident_id == resident_id))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def delete_refresh_tokens_of(session: AsyncSession, resident_id: int) -> int:
    statement = delete(RefreshToken).where(
        RefreshToken.subject_kind == "resident", RefreshToken.subject_id == resident_id
    )
    result = await session.execute(statement)
    return int(result.rowcount)  # type: ignore[attr-defined]


async def devices_of(session: AsyncSession | ReadSession, resident_id: int) -> Sequence[Device]:
    statement = select(Device).where(Device.resident_id == resident_id).order_by(Device.first_seen, Device.device_id)
    return (await session.scalars(statement)).all()


async def delete_devices_unseen_since(session: AsyncSession, *, before: datetime, limit: int) -> int:
    """Delete up to `limit` devices no one has signed in from since `before`."""
    due = (
        select(Device.device_id, Device.resident_id)
        .where(Device.last_seen < before)
        .order_by(Device.last_seen)
        .limit(limit)
    )
    result = await session.execute(delete(Device).where(tuple_(Device.device_id, Device.resident_id).in_(due)))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def delete_refresh_tokens_expired_before(session: AsyncSession, *, before: datetime, limit: int) -> int:
    """Delete up to `limit` refresh tokens (of residents and staff alike) that expired before `before`."""
    due = select(RefreshToken.id).where(RefreshToken.expires_at < before).order_by(RefreshToken.expires_at).limit(limit)
    result = await session.execute(delete(RefreshToken).where(RefreshToken.id.in_(due.scalar_subquery())))
    return int(result.rowcount)  # type: ignore[attr-defined]
