"""A resident's account as administrators read it: every entry, newest first, with its transfer's kind."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from service.db import ReadSession
from service.kit.pagination import decode_cursor, encode_cursor
from service.ledger import repository
from service.ledger.schemas import AccountEntryPage, AccountEntryRead


async def resident_entries(
    session: AsyncSession | ReadSession, *, resident_id: int, cursor: str | None, limit: int
) -> AccountEntryPage:
    """A page of the resident's ledger entries, newest first; an account never credited has none."""
    rows = await repository.resident_entries(
        session, resident_id=resident_id, before=decode_cursor(cursor), limit=limit + 1
    )
    items = [AccountEntryRead.model_validate(row) for row in rows[:limit]]
    return AccountEntryPage(items=items, next_cursor=encode_cursor(items[-1].id) if len(rows) > limit else None)
