"""The fraud-flag queue: operators read the flags the scan raised (fraud.py) and confirm or dismiss them.
A flag itself changes nothing: freezing, reversing or approving are separate actions."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts import actions, scope
from service.accounts.tokens import Principal
from service.db import ReadSession
from service.errors import NotFound
from service.ingest import repository
from service.ingest.flag_schemas import FlagKind, FlagPage, FlagRead, FlagResolve, FlagStatus
from service.kit.pagination import decode_cursor, encode_cursor

_RESOLVED = {FlagStatus.open: False, FlagStatus.resolved: True, FlagStatus.all: None}


async def page(
    session: ReadSession,
    *,
    status: FlagStatus,
    kind: FlagKind | None,
    community_id: int | None,
    cursor: str | None,
    limit: int,
) -> FlagPage:
    """Flags of a status (and kind, and about a resident of one community), oldest first."""
    rows = await repository.list_flags(
        session,
        resolved=_RESOLVED[status],
        kind=kind.value if kind else None,
        community_id=community_id,
        after=decode_cursor(cursor) or 0,
        limit=limit + 1,
    )
    items = [FlagRead.model_validate(row) for row in rows[:limit]]
    return FlagPage(items=items, next_cursor=encode_cursor(items[-1].id) if len(rows) > limit else None)


async def resident_page(
    session: ReadSession | AsyncSession, *, resident_id: int, cursor: str | None, limit: int
) -> FlagPage:
    """One resident's flags, whatever their status, newest first."""
    rows = await repository.resident_flags(
        session, resident_id=resident_id, before=decode_cursor(cursor), limit=limit + 1
    )
    items = [FlagRead.model_validate(row) for row in rows[:limit]]
    return FlagPage(items=items, next_cursor=encode_cursor(items[-1].id) if len(rows) > limit else None)


async def resident_counts(session: ReadSession | AsyncSession, *, resident_id: int) -> dict[str, int]:
    """How many behaviours a resident has, how many are held for review, and their flags, open and all."""
    row = await repository.resident_counts(session, resident_id=resident_id)
    return {name: int(value) for name, value in row._mapping.items()}


async def resolve(session: AsyncSession, *, operator: Principal, flag_id: int, decision: FlagResolve) -> FlagRead:
    """Confirm or dismiss an open flag, and log it; an officer reaches flags about its own community's
    residents only."""
    resolution = decision.resolution.value
    exists, resident_id = await repository.flag_resident(session, flag_id)
    if exists and not await scope.reaches_resident(session, operator, resident_id):
        raise NotFound("No open flag of that id.", "没有该编号的待处理标记。")
    if not await repository.resolve_flag(
        session, flag_id=flag_id, resolution=resolution, actor=actions.actor_of(operator), reason=decision.reason
    ):
        raise NotFound("No open flag of that id.", "没有该编号的待处理标记。")
    await actions.log(
        session, operator, "flag.resolve", f"flag:{flag_id}", reason=decision.reason, resolution=resolution
    )
    (row,) = await repository.list_flags(session, resolved=None, kind=None, after=flag_id - 1, limit=1)
    return FlagRead.model_validate(row)
