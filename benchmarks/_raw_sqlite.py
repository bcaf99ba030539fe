"""Hand-written ``sqlite3`` + ``orjson`` baselines: what a careful user would write by hand.

Both layouts keep the same bookkeeping our store keeps (a session row with a
write sequence, message count, timestamps and version) so the comparison is
about overhead, not about doing less work. Each layout is its own object on
its own database file, with its SQLite calls on its own worker thread awaited
from asyncio (the same thread hop our store pays): sides that shared a file
would pay for each other's WAL checkpoints.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import orjson

from _harness import WorkerThread

T = TypeVar("T")

ROWS_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY, seq INTEGER NOT NULL, message_count INTEGER NOT NULL,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, version INTEGER NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS sessions_by_seq ON sessions (seq);
CREATE TABLE IF NOT EXISTS messages (
    session_id TEXT NOT NULL, position INTEGER NOT NULL, payload BLOB NOT NULL,
    PRIMARY KEY (session_id, position)) WITHOUT ROWID;
"""
BLOB_SCHEMA = """
CREATE TABLE IF NOT EXISTS blobs (
    id TEXT PRIMARY KEY, seq INTEGER NOT NULL, message_count INTEGER NOT NULL,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, version INTEGER NOT NULL,
    payload BLOB NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS blobs_by_seq ON blobs (seq);
"""

# Upsert of the session row; RETURNING the new count tells where appended rows go.
UPSERT_SESSION_APPEND = """
INSERT INTO sessions (id, seq, message_count, created_at, updated_at, version)
VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM sessions), ?2, ?3, ?3, 1)
ON CONFLICT (id) DO UPDATE SET seq = excluded.seq,
    message_count = message_count + excluded.message_count,
    updated_at = excluded.updated_at, version = version + 1
RETURNING message_count
"""
UPSERT_SESSION_REPLACE = """
INSERT INTO sessions (id, seq, message_count, created_at, updated_at, version)
VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM sessions), ?2, ?3, ?3, 1)
ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, message_count = excluded.message_count,
    updated_at = excluded.updated_at, version = version + 1
"""
INSERT_MESSAGE = "INSERT INTO messages (session_id, position, payload) VALUES (?, ?, ?)"
DELETE_MESSAGES = "DELETE FROM messages WHERE session_id = ?"
SELECT_MESSAGES = "SELECT payload FROM messages WHERE session_id = ? ORDER BY position"
UPSERT_BLOB = """
INSERT INTO blobs (id, seq, message_count, created_at, updated_at, version, payload)
VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM blobs), ?2, ?3, ?3, 1, ?4)
ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, message_count = excluded.message_count,
    updated_at = excluded.updated_at, version = version + 1, payload = excluded.payload
"""
SELECT_TAIL = (
    "SELECT payload FROM messages WHERE session_id = ?1 AND position >= "
    "(SELECT message_count FROM sessions WHERE id = ?1) - ?2 ORDER BY position"
)
SELECT_BLOB = "SELECT payload FROM blobs WHERE id = ?"
LIST_NEWEST = (
    "SELECT id, message_count, created_at, updated_at, version FROM sessions "
    "ORDER BY seq DESC LIMIT ?"
)
BULK_SESSION = (
    "INSERT INTO sessions (id, seq, message_count, created_at, updated_at, version) "
    "VALUES (?, ?, 1, ?, ?, 1)"
)


def connect(path: str, durability: str, schema: str) -> sqlite3.Connection:
    """An autocommit connection in WAL mode with ``synchronous`` = FULL or NORMAL."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(f"PRAGMA synchronous={'FULL' if durability == 'full' else 'NORMAL'}")
    connection.executescript(schema)
    return connection


def _now_micros() -> int:
    return time.time_ns() // 1000


def append_rows_sync(
    connection: sqlite3.Connection, session_id: str, payloads: list[bytes]
) -> None:
    """Append encoded messages as rows plus the session-row bookkeeping (no transaction)."""
    (count,) = connection.execute(
        UPSERT_SESSION_APPEND, (session_id, len(payloads), _now_micros())
    ).fetchone()
    start = count - len(payloads)
    connection.executemany(
        INSERT_MESSAGE, [(session_id, start + i, p) for i, p in enumerate(payloads)]
    )


class _RawFile:
    """One layout on its own database file, its connection on its own worker thread."""

    schema = ""

    def __init__(self, path: str, durability: str) -> None:
        self._worker = WorkerThread(type(self).__name__)
        self._path = path
        self._durability = durability
        self._connection: sqlite3.Connection | None = None

    async def open(self) -> None:
        self._connection = await self._worker.run(
            lambda: connect(self._path, self._durability, self.schema)
        )

    async def close(self) -> None:
        connection = self._connection
        if connection is not None:
            await self._worker.run(connection.close)
        self._worker.shutdown()

    @property
    def _db(self) -> sqlite3.Connection:
        assert self._connection is not None, f"{type(self).__name__}.open() first"
        return self._connection

    async def _run(self, work: Callable[[], T]) -> T:
        return await self._worker.run(work)


class RawRows(_RawFile):
    """A row per message plus a session row, one transaction per call."""

    schema = ROWS_SCHEMA

    async def append(self, session_id: str, messages: list[dict[str, Any]]) -> None:
        def work() -> None:
            payloads = [orjson.dumps(m) for m in messages]
            self._db.execute("BEGIN IMMEDIATE")
            try:
                append_rows_sync(self._db, session_id, payloads)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

        await self._run(work)

    async def save(self, session_id: str, messages: list[dict[str, Any]]) -> None:
        def work() -> None:
            payloads = [orjson.dumps(m) for m in messages]
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(DELETE_MESSAGES, (session_id,))
                db.execute(UPSERT_SESSION_REPLACE, (session_id, len(payloads), _now_micros()))
                db.executemany(INSERT_MESSAGE, [(session_id, i, p) for i, p in enumerate(payloads)])
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

        await self._run(work)

    async def load(self, session_id: str) -> list[Any]:
        def work() -> list[Any]:
            rows = self._db.execute(SELECT_MESSAGES, (session_id,)).fetchall()
            return [orjson.loads(payload) for (payload,) in rows]

        return await self._run(work)

    async def tail(self, session_id: str, count: int) -> list[Any]:
        """The last ``count`` messages, found through the session row's count."""

        def work() -> list[Any]:
            rows = self._db.execute(SELECT_TAIL, (session_id, count)).fetchall()
            return [orjson.loads(payload) for (payload,) in rows]

        return await self._run(work)

    async def list_newest(self, limit: int) -> list[Any]:
        return await self._run(lambda: self._db.execute(LIST_NEWEST, (limit,)).fetchall())

    async def populate_sessions(self, count: int, prefix: str) -> None:
        """Add ``count`` session rows (one message each) in one transaction."""

        def work() -> None:
            db = self._db
            (top,) = db.execute("SELECT COALESCE(MAX(seq), 0) FROM sessions").fetchone()
            now = _now_micros()
            db.execute("BEGIN IMMEDIATE")
            db.executemany(
                BULK_SESSION, ((f"{prefix}{i}", top + 1 + i, now, now) for i in range(count))
            )
            db.execute("COMMIT")

        await self._run(work)


class RawBlob(_RawFile):
    """One ``orjson`` array per session, upserted with its bookkeeping."""

    schema = BLOB_SCHEMA

    async def save(self, session_id: str, messages: list[dict[str, Any]]) -> None:
        def work() -> None:
            payload = orjson.dumps(messages)
            self._db.execute(UPSERT_BLOB, (session_id, len(messages), _now_micros(), payload))

        await self._run(work)

    async def load(self, session_id: str) -> list[Any]:
        def work() -> list[Any]:
            row = self._db.execute(SELECT_BLOB, (session_id,)).fetchone()
            result: list[Any] = orjson.loads(row[0])
            return result

        return await self._run(work)


class GroupCommitAppender:
    """Raw group commit: one writer thread drains every pending append into one transaction."""

    def __init__(self, path: str, durability: str) -> None:
        self._path = path
        self._durability = durability
        self._queue: queue.SimpleQueue[
            tuple[str, list[bytes], asyncio.Future[None], asyncio.AbstractEventLoop] | None
        ] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self.transactions = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join()

    async def append(self, session_id: str, messages: list[dict[str, Any]]) -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._queue.put((session_id, [orjson.dumps(m) for m in messages], future, loop))
        await future

    def _run(self) -> None:
        connection = connect(self._path, self._durability, ROWS_SCHEMA)
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                batch = [first]
                stop = False
                while True:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        stop = True
                        break
                    batch.append(item)
                connection.execute("BEGIN IMMEDIATE")
                for session_id, payloads, _, _ in batch:
                    append_rows_sync(connection, session_id, payloads)
                connection.execute("COMMIT")
                self.transactions += 1
                for _, _, future, loop in batch:
                    loop.call_soon_threadsafe(_resolve, future)
                if stop:
                    return
        finally:
            connection.close()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
