"""The admin action log: `log` writes one line in the caller's transaction; `search` reads them.

Every administrator's and operator's write is logged by the service that makes it, in the same
transaction: who, when, what, on what and why. The table refuses UPDATE and DELETE."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import AdminAction
from service.accounts.tokens import Principal
from service.context import request_id_var
from service.db import ReadSession


def actor_of(principal: Principal | None) -> str:
    """How the log and the records an action writes name who took it: `user:<id>`, or `cli`."""
    return f"user:{principal.subject_id}" if principal else "cli"


async def log(
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
            actor=actor_of(principal),
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
