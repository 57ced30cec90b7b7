from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator

import pytest

from tests.conftest import Api
from tests.fixtures.webhooks import FAST, Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


@pytest.fixture
async def api(make_api: Callable[..., Awaitable[Api]]) -> Api:
    """The app with its dispatcher looking every 50 ms and retrying soon."""
    return await make_api(**FAST)
