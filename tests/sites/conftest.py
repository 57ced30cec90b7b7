from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from service.accounts.models import Role
from tests.fixtures.sites import Tokens


@pytest.fixture
async def operator(sign_in_staff: Callable[..., Awaitable[Tokens]]) -> Tokens:
    return await sign_in_staff(Role.admin_operator)
