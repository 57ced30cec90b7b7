"""Access revocations: written beside the refresh tokens they end (`revoke_refresh_family`,
`revoke_subject_tokens` in the package), read by every worker (service/accounts/revocations.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, insert, literal, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import AccessRevocation, User
from service.db import ReadSession

# Every worker listens on this channel for new revocations.
CHANNEL = "tanpuhui_access_revocation"
NOTIFY = text(f"SELECT pg_notify('{CHANNEL}', '')")
# Set in a session's `info` by every write of a revocation, so that the worker that made it reads it as
# soon as it commits (Revocations.after_commit).
REVOKED = "access_revoked"


async def announce(session: AsyncSession) -> None:
    """Tell every worker, when this transaction commits, that it holds a new revocation."""
    await session.execute(NOTIFY)
    session.info[REVOKED] = True


async def end_access_of_enterprise(session: AsyncSession, *, enterprise_id: int) -> None:
    """End the access tokens (not the sign-ins) of an enterprise's users: a refresh gives them tokens
    that say what the enterprise's status is now."""
    users = select(literal("user"), User.id).where(User.enterprise_id == enterprise_id)
    await session.execute(
        insert(AccessRevocation).from_select([AccessRevocation.subject_kind, AccessRevocation.subject_id], users)
    )
    await announce(session)


async def since(session: AsyncSession | ReadSession, *, after_id: int, within: timedelta) -> Sequence[Any]:
    """Revocations after `after_id` made within `within` (older ones concern only expired tokens), in order:
    id, subject_kind, subject_id, family_id and revoked_at in seconds since the epoch."""
    statement = (
        select(
            AccessRevocation.id,
            AccessRevocation.subject_kind,
            AccessRevocation.subject_id,
            AccessRevocation.family_id,
            func.extract("epoch", AccessRevocation.revoked_at).label("revoked_at"),
        )
        .where(AccessRevocation.id > after_id, AccessRevocation.revoked_at > func.now() - within)
        .order_by(AccessRevocation.id)
    )
    return (await session.execute(statement)).all()


async def prune(session: AsyncSession, *, older_than: timedelta) -> None:
    await session.execute(delete(AccessRevocation).where(AccessRevocation.revoked_at < func.now() - older_than))
