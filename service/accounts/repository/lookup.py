"""Finding a resident for an administrator: by public id, or by the pseudonym the boards show. Erased
accounts are found too: their amounts stay in the ledger under the pseudonym."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import Resident
from service.db import ReadSession


async def resident_by_handle(session: AsyncSession | ReadSession, handle: str) -> Resident | None:
    return await session.scalar(select(Resident).where(Resident.pseudonym == handle))
