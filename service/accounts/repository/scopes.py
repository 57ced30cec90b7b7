"""Administrators' scopes: the community a town or community officer is kept to (service/accounts/scope.py)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import Community, User
from service.db import ReadSession


async def communities_by_id(session: AsyncSession | ReadSession) -> dict[int, Community]:
    """Every community (a dozen rows), by id."""
    return {c.id: c for c in await session.scalars(select(Community))}


async def set_user_scope(session: AsyncSession, user_id: int, *, community_id: int | None) -> User | None:
    statement = update(User).where(User.id == user_id).values(scope_community_id=community_id).returning(User)
    return (await session.scalars(statement, execution_options={"populate_existing": True})).one_or_none()
