from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from tests.conftest import Api
from tests.fixtures.photos import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """Photos kept on the filesystem under the test's own folder."""
    return Store("filesystem", tmp_path)


@pytest.fixture
async def api(make_api: Callable[..., Awaitable[Api]], store: Store) -> Api:
    """The app keeps its photos in `store`; the tests run the retention pass themselves."""
    return await make_api(**store.settings())
