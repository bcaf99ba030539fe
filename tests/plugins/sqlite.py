"""The SQLite backend's fixtures: every store gets a fresh database file in a temporary dir."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path

import pytest

from plugins._urls import StoreUrls
from sessionstore import SQLiteSessionStore
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


def integrity_check(url: str) -> None:
    """Assert SQLite's own ``PRAGMA integrity_check`` finds the file at ``url`` sound."""
    with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.fixture
def sqlite_urls(tmp_path: Path) -> StoreUrls:
    """URLs of new files under ``tmp_path``, checked with ``PRAGMA integrity_check``."""
    numbers = itertools.count()
    return StoreUrls(
        new=lambda: f"sqlite:///{tmp_path / f'by-url-{next(numbers)}.db'}", check=integrity_check
    )
