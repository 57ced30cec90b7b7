"""The admin action log: `record` writes one line in the caller's transaction; `search` reads them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.tokens import Principal
from service.audit.models import AdminAction
from service.db import ReadSession
from service.kit.context import request_id_var


def actor_of(principal: Principal) -> str:
    return f"user:{principal.subject_id}"


async def record(
    session: AsyncSession,
    principal: Principal | None,
    action: str,
    target: str,
    *,
    reason: str | None = None,
    **details: Any,
) -> None:
    """Log an action in the same transaction as the action: both commit, or neither. `principal` None is
    the command line, run by whoever holds the server's credentials."""
    await session.execute(
        insert(AdminAction).values(
            actor=actor_of(principal) if principal else "cli",
            role=principal.role.value if principal else "operator-shell",
            action=action,
            target=target,
            reason=reason,
            details=details,
            request_id=request_id_var.get(None),
        )
    )


async def search(
    session: AsyncSession | ReadSession,
    *,
    actor: str | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
    before_id: int | None,
    limit: int,
) -> Sequence[AdminAction]:
    statement = select(AdminAction).order_by(AdminAction.id.desc()).limit(limit)
    if actor is not None:
        statement = statement.where(AdminAction.actor == actor)
    if action is not None:
        statement = statement.where(AdminAction.action == action)
    if since is not None:
        statement = statement.where(AdminAction.at >= since)
    if until is not None:
        statement = statement.where(AdminAction.at < until)
    if before_id is not None:
        statement = statement.where(AdminAction.id < before_id)
    return (await session.scalars(statement)).all()
