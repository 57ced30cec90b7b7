"""The dashboard's other figures: residents registered by a day, and the communities' names (the credits
come from the tallies, tally.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Row, text

from service.accounts import scope
from service.db import ReadSession

_REGISTERED = {
    False: text("SELECT count(*) FROM accounts_resident WHERE deleted_at IS NULL AND created_at < :end"),
    True: text(
        "SELECT count(*) FROM accounts_resident"
        " WHERE community_id = :scope_community_id AND deleted_at IS NULL AND created_at < :end"
    ),
}
_COMMUNITIES = text("SELECT id, name_zh, name_en FROM accounts_community")


async def communities(session: ReadSession) -> dict[int, Row[Any]]:
    """Every community by id, with its names."""
    return {row.id: row for row in await session.execute(_COMMUNITIES)}


async def registered_residents(session: ReadSession, *, end: date, community_id: int | None) -> int:
    """Residents (of one community, if given) registered before `end` and not erased."""
    values = {"end": end, **scope.params(community_id)}
    return int(await session.scalar(_REGISTERED[community_id is not None], values) or 0)
