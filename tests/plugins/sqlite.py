"""The SQLite backend's fixtures and test helpers: fresh files, and ways to look behind the API."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any

import pytest

from plugins._urls import StoreUrls
from sessionstore import Message, SQLiteSessionStore
from sessionstore.testing import HOSTILE_IDS as SHARED_HOSTILE_IDS
from sessionstore.testing import StoreFactory

__all__ = [
    "HOSTILE_IDS",
    "dump",
    "in_one_batch",
    "integrity_check",
    "raw",
    "segment_count",
    "sqlite_store_factory",
    "sqlite_urls",
]

#: The suite's hostile ids, plus SQL-injection and case shapes aimed at SQLite.
HOSTILE_IDS = [
    *SHARED_HOSTILE_IDS,
    "x'); DROP TABLE segments; --",
    "' OR '1'='1",
    '"; DELETE FROM sessions; --',
    "SPACED",
    "\n\t",
]


def raw(path: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection to the store's file, to look behind the API."""
    return sqlite3.connect(path, isolation_level=None)


def dump(path: Path) -> list[Any]:
    """Every row of every table, plus the schema and its version."""
    with raw(path) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        rows: list[Any] = [conn.execute("PRAGMA user_version").fetchone(), tables]
        for table in tables:
            rows.append(sorted(conn.execute(f'SELECT * FROM "{table}"').fetchall()))
    return rows


def segment_count(path: Path, session_id: str, namespace: str = "") -> int:
    """How many segment rows hold the transcript of ``session_id`` in ``namespace``."""
    with raw(path) as conn:
        count: int = conn.execute(
            "SELECT count(*) FROM segments WHERE session_key = "
            "(SELECT key FROM sessions WHERE namespace = ? AND id = ?)",
            (namespace, session_id),
        ).fetchone()[0]
    return count


async def in_one_batch(path: Path, store: SQLiteSessionStore, *calls: Awaitable[Any]) -> list[Any]:
    """Run ``calls`` as one group-commit batch; their results or exceptions, in order.

    Another connection holds the write lock, so the writer stalls on a first
    append ("first") and the calls queue behind it and commit together.
    """
    blocker = raw(path)
    blocker.execute("BEGIN IMMEDIATE")
    first = asyncio.create_task(store.append("first", [Message.user("1")]))
    await asyncio.sleep(0.1)
    pending = asyncio.gather(*calls, return_exceptions=True)
    await asyncio.sleep(0.1)
    blocker.execute("ROLLBACK")
    blocker.close()
    await first
    return await pending


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
