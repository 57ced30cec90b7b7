"""The app under test keeps its photos in a store of the test's own: a folder, or a bucket of the S3-compatible
server on loopback. Tests that should hold for both stores parametrize `store` indirectly (BOTH_STORES)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import Api
from tests.fixtures.photos import S3Server, Store


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    with S3Server() as server:
        yield server


@pytest.fixture
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    kind = getattr(request, "param", "filesystem")
    if kind == "s3":
        server: S3Server = request.getfixturevalue("s3_server")
        return Store(kind, tmp_path, server, server.new_bucket())
    return Store(kind, tmp_path)


@pytest.fixture
async def api(make_api: Callable[..., Awaitable[Api]], store: Store) -> Api:
    return await make_api(**store.settings())
