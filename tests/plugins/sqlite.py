"""The SQLite backend's fixtures and test helpers: fresh files, and ways to look behind the API."""

from __future__ import annotations

import asyncio
import itertools
import os
import sqlite3
import subprocess
from collections.abc import AsyncIterator, Awaitable, Iterator
from contextlib import asynccontextmanager, closing, contextmanager
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
    "lower_length_limit",
    "integrity_check",
    "raw",
    "read_only_view",
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


@contextmanager
def read_only_view(directory: Path, view: Path) -> Iterator[Path]:
    """``directory`` seen at ``view`` read-only, for real: a read-only bind mount.

    Root (these tests' usual user) bypasses permission bits, so ``chmod`` proves
    nothing: the bind mount is read-only media (EROFS) even to root. Without
    root, ``chmod a-w`` is honest (the kernel enforces it on us) and is used
    instead. Skips when root may not mount (a container without CAP_SYS_ADMIN).
    """
    view.mkdir()
    if os.geteuid() != 0:
        view.rmdir()
        directory.chmod(0o555)
        try:
            yield directory
        finally:
            directory.chmod(0o755)
        return
    mounted = subprocess.run(
        ["mount", "--bind", "-o", "ro", str(directory), str(view)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot make a read-only bind mount: {mounted.stderr.strip()}")
    try:
        # Older mount(8) ignores "ro" on --bind: remount the bind read-only to be sure.
        subprocess.run(["mount", "-o", "remount,bind,ro", str(view)], check=True)
        assert os.statvfs(view).f_flag & os.ST_RDONLY, "the view is not read-only"
        yield view
    finally:
        subprocess.run(["umount", str(view)], check=True)


async def lower_length_limit(store: SQLiteSessionStore, limit: int) -> None:
    """Set ``SQLITE_LIMIT_LENGTH`` (the most bytes in one blob or row) on ``store``'s own two
    connections, as a SQLite built with a smaller ``SQLITE_MAX_LENGTH`` would have it: a test
    of what SQLite cannot store then needs megabytes, not the default gigabyte."""
    await store.open()
    writer, reader = store._writer, store._reader
    assert writer is not None and reader is not None

    def lower(conn: sqlite3.Connection, *_: object) -> None:
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, limit)
        assert conn.getlimit(sqlite3.SQLITE_LIMIT_LENGTH) == limit

    await writer.submit(lower)
    await reader.submit(lower)
