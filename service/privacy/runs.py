"""The retention pass's runs as an operator reads them."""

from __future__ import annotations

from service.db import ReadSession
from service.kit.pagination import decode_cursor, encode_cursor
from service.privacy import repository
from service.privacy.schemas import RetentionRunPage, RetentionRunRead


async def page(session: ReadSession, *, cursor: str | None, limit: int) -> RetentionRunPage:
    """The retention pass's runs, newest first, each with the schedule it applied and what it did."""
    rows = await repository.runs(session, before_id=decode_cursor(cursor), limit=limit + 1)
    items = [RetentionRunRead.model_validate(row) for row in rows[:limit]]
    return RetentionRunPage(items=items, next_cursor=encode_cursor(items[-1].id) if len(rows) > limit else None)
