from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.photos import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """Photos kept on the filesystem under the test's own folder."""
    return Store("filesystem", tmp_path)
