"""The dashboard's other figures: residents registered by a day, and the communities' names (the credits
come from the tallies, tally.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Row, text

from service.db import ReadSession

_REGISTERED = text("SELECT count(*) FROM accounts_resident WHERE deleted_at IS NULL AND created_at < :end")
_COMMUNITIES = text("SELECT id, name_zh, name_en FROM accounts_community")


async def communities(session: ReadSession) -> dict[int, Row[Any]]:
    """Every community by id, with its names."""
    return {row.id: row for row in await session.execute(_COMMUNITIES)}


async def registered_residents(session: ReadSession, *, end: date) -> int:
    """Residents registered before `end` and not erased."""
    return int(await session.scalar(_REGISTERED, {"end": end}) or 0)
