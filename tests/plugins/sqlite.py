"""The SQLite backend's fixtures: every store gets a fresh database file in a temporary dir."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from sessionstore.backends.sqlite import SQLiteSessionStore
from sessionstore.testing import StoreFactory


@pytest.fixture
def sqlite_store_factory(tmp_path: Path) -> StoreFactory:
    """Fresh SQLite stores, each on a new file under ``tmp_path``."""
    numbers = itertools.count()

    @asynccontextmanager
    async def factory() -> AsyncIterator[SQLiteSessionStore]:
        async with SQLiteSessionStore(tmp_path / f"store-{next(numbers)}.db") as store:
            yield store

    return factory
