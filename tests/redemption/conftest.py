"""Every test here ends with the ledger invariants checked on its database: the books balance, nothing is
negative, balances equal their entries and their lot holdings, and every retired gram is certified."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from service.accounts.models import Role
from tests.fixtures.behaviours import Tokens, check_ledger_invariants


@pytest.fixture(autouse=True)
async def _ledger_invariants_hold_afterwards(database_url: str) -> AsyncIterator[None]:
    yield
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with async_sessionmaker(engine)() as session:
            await check_ledger_invariants(session)
    finally:
        await engine.dispose()


@pytest.fixture
async def operator(sign_in_staff: Callable[..., Awaitable[Tokens]]) -> Tokens:
    return await sign_in_staff(Role.admin_operator)
