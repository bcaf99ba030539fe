"""``SQLiteSessionStore``: the embedded default backend, one file shared by tasks and processes.

Why it is built this way:

* WAL journal, ``synchronous=FULL`` by default: a write that returned
  survives a power cut. ``durability="normal"`` (``synchronous=NORMAL``)
  never corrupts the file either, but may lose the last commits on power loss
  in exchange for fewer fsyncs.
* Group commit: every write goes to one writer thread that drains all queued
  calls into a single transaction, so one fsync covers many callers while
  each call stays atomic, ordered, version-checked and fails alone (a failure
  that may have written undoes the transaction and re-runs its batch-mates,
  each in a SAVEPOINT; see ``sqlite_workers``).
* Reads use their own thread and connection, so a load never queues behind
  an fsync, and the event loop never runs SQLite code.
* The layout (a ``sessions`` index table plus JSON-array ``segments``, small
  trailing segments merged at the byte level) and its reasons are described
  in ``sqlite_schema``.
* Many processes may share the file: ``busy_timeout``, ``BEGIN IMMEDIATE``
  and retries on SQLITE_BUSY; the schema is created inside ``BEGIN
  IMMEDIATE`` with the version re-checked there, so concurrent first opens
  are race-free.
"""

from __future__ import annotations

import asyncio
import math
import os
import warnings
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from sqlite3 import Connection
from typing import Any, Literal, Self, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

from sessionstore._errors import ConflictError, InvalidArgumentError
from sessionstore._messages import EncodedMessages, Message, decode_segments
from sessionstore._records import (
    ListOptions,
    SessionId,
    SessionRecord,
    datetime_from_micros,
    micros_from_datetime,
)
from sessionstore._store import SessionStore
from sessionstore.backends import sqlite_schema as sql
from sessionstore.backends.sqlite_workers import (
    Batch,
    GroupCommitWriter,
    Reader,
    open_connection,
)

__all__ = ["SQLiteSessionStore"]

T = TypeVar("T")
Durability = Literal["full", "normal"]
_SYNCHRONOUS: dict[str, str] = {"full": "FULL", "normal": "NORMAL"}
_EMPTY_ARRAY = b"[]"


class SQLiteSessionStore(SessionStore):
    """Sessions in one SQLite file (WAL), safe to share between tasks and processes.

    ``durability="full"`` (default): a write that returned survives power loss.
    ``durability="normal"``: never corrupt, but the last commits may be lost on
    power loss. ``busy_timeout`` is how many seconds to wait for another
    process's lock before failing with StoreUnavailableError. A write whose
    caller is cancelled after the write was queued still happens.
    """

    supports_restore = True

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        durability: Durability = "full",
        busy_timeout: float = 30.0,
    ) -> None:
        if not isinstance(path, (str, os.PathLike)):
            raise InvalidArgumentError(
                f"path must be a str or os.PathLike, got {type(path).__name__}"
            )
        text = os.fspath(path)
        if not isinstance(text, str) or not text or "\x00" in text:
            raise InvalidArgumentError(f"path must be a non-empty file path, got {path!r}")
        if text == ":memory:":
            raise InvalidArgumentError(
                f"path must name a file on disk, got {text!r}; "
                "use InMemorySessionStore for a store without a file"
            )
        if not isinstance(durability, str) or durability not in _SYNCHRONOUS:
            raise InvalidArgumentError(f"durability must be 'full' or 'normal', got {durability!r}")
        if (
            isinstance(busy_timeout, bool)
            or not isinstance(busy_timeout, (int, float))
            or not 0 < busy_timeout < math.inf
        ):
            raise InvalidArgumentError(
                f"busy_timeout must be a number of seconds > 0, got {busy_timeout!r}"
            )
        self._path = Path(text)
        self._durability: Durability = durability
        self._busy_timeout = float(busy_timeout)
        self._writer: GroupCommitWriter | None = None
        self._reader: Reader | None = None

    @classmethod
    def from_url(cls, url: str) -> Self:
        """Open ``sqlite:///relative.db`` or ``sqlite:////abs/path.db`` (``?durability=normal``)."""
        parts = urlsplit(url)
        if parts.scheme.lower() != "sqlite" or parts.netloc or not parts.path.startswith("/"):
            raise InvalidArgumentError(
                f"SQLite URL must look like sqlite:///relative.db or sqlite:////abs/path.db, "
                f"got {url!r}"
            )
        path = unquote(parts.path[1:])
        options = parse_qs(parts.query, keep_blank_values=True)
        unknown = sorted(set(options) - {"durability"})
        if unknown:
            raise InvalidArgumentError(
                f"unknown SQLite URL option(s) {', '.join(unknown)} in {url!r}; known: durability"
            )
        durability = options.get("durability", ["full"])[-1]
        if durability not in _SYNCHRONOUS:
            raise InvalidArgumentError(
                f"durability must be 'full' or 'normal', got {durability!r} in {url!r}"
            )
        return cls(path, durability=durability)  # type: ignore[arg-type]

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    @property
    def durability(self) -> Durability:
        """``"full"`` or ``"normal"``, as given."""
        return self._durability

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open" if self._opened else "unopened"
        return f"SQLiteSessionStore({str(self._path)!r}, durability={self._durability!r}, {state})"

    def __del__(self) -> None:
        if getattr(self, "_opened", False) and not getattr(self, "_closed", True):
            warnings.warn(f"unclosed {self!r}", ResourceWarning, source=self, stacklevel=1)
            for worker in (self._writer, self._reader):
                if worker is not None:
                    worker.stop_nowait()

    # -- lifecycle -----------------------------------------------------------------

    async def _open(self) -> None:
        path = str(self._path)
        synchronous = _SYNCHRONOUS[self._durability]
        connect = partial(
            open_connection, path, synchronous=synchronous, busy_timeout=self._busy_timeout
        )
        writer = GroupCommitWriter(
            "sessionstore-sqlite-writer", path, partial(connect, writer=True), self._busy_timeout
        )
        await writer.start()  # creates the file and schema before the reader opens it
        reader = Reader("sessionstore-sqlite-reader", path, partial(connect, writer=False))
        try:
            await reader.start()
        except BaseException:
            await writer.stop()
            raise
        self._writer, self._reader = writer, reader

    async def _close(self) -> None:
        writer, reader = self._writer, self._reader
        if writer is not None:
            await writer.stop()  # every write queued before close() still lands
        if reader is not None:
            await reader.stop()

    async def _read(self, work: Callable[[Connection], T]) -> T:
        assert self._reader is not None
        return await self._reader.submit(work)

    def _write(self, work: Callable[[Connection, Batch], T]) -> asyncio.Future[T]:
        """Queue ``work`` for the writer; await the future (a plain method: one less coroutine)."""
        assert self._writer is not None
        return self._writer.submit(work)

    # -- the contract --------------------------------------------------------------

    async def _load(self, session_id: SessionId) -> list[Message] | None:
        return await self._read(partial(_load, session_id))

    async def _save(
        self, session_id: SessionId, messages: EncodedMessages, expected_version: int | None
    ) -> SessionRecord:
        return await self._write(partial(_save, session_id, messages, expected_version))

    async def _append(
        self, session_id: SessionId, messages: EncodedMessages, expected_version: int | None
    ) -> SessionRecord:
        return await self._write(partial(_append, session_id, messages, expected_version))

    async def _restore(
        self,
        session_id: SessionId,
        messages: EncodedMessages,
        expected_version: int | None,
        created_at: datetime,
        updated_at: datetime,
    ) -> SessionRecord:
        stamps = (micros_from_datetime(created_at), micros_from_datetime(updated_at))
        return await self._write(
            partial(_save, session_id, messages, expected_version, stamps=stamps)
        )

    async def _get(self, session_id: SessionId) -> SessionRecord | None:
        return await self._read(partial(_get, session_id))

    async def _list(self, options: ListOptions) -> list[SessionRecord]:
        return await self._read(partial(_list, options))

    async def _count(self) -> int:
        return await self._read(_count)

    async def _delete(self, session_id: SessionId) -> None:
        await self._write(partial(_delete, session_id))

    async def _prune(self, updated_before: datetime | None, keep_newest: int | None) -> int:
        return await self._write(partial(_prune, updated_before, keep_newest))


# -- reads: run on the reader thread ---------------------------------------------------


def _record(row: tuple[Any, ...]) -> SessionRecord:
    session_id, count, created_us, updated_us, version = row
    created = datetime_from_micros(created_us)
    updated = created if updated_us == created_us else datetime_from_micros(updated_us)
    return SessionRecord(SessionId(session_id), count, created, updated, version)


def _load(session_id: SessionId, conn: Connection) -> list[Message] | None:
    rows = conn.execute(sql.LOAD_SEGMENTS, (session_id,)).fetchall()
    if not rows:
        return None
    return decode_segments(session_id, [payload for _, payload in rows if payload is not None])


def _get(session_id: SessionId, conn: Connection) -> SessionRecord | None:
    row = conn.execute(sql.SELECT_RECORD, (session_id,)).fetchone()
    return None if row is None else _record(row)


def _list(options: ListOptions, conn: Connection) -> list[SessionRecord]:
    query = sql.LIST_DESCENDING if options.newest_first else sql.LIST_ASCENDING
    limit = -1 if options.limit is None else options.limit
    return [_record(row) for row in conn.execute(query, (limit, options.offset))]


def _count(conn: Connection) -> int:
    count: int = conn.execute(sql.COUNT_SESSIONS).fetchone()[0]
    return count


# -- writes: run on the writer thread, inside the batch's transaction -------------------


def _write_state(conn: Connection, session_id: SessionId, expected: int | None) -> Any:
    """The session's write-state row (None if it does not exist), its version checked."""
    row = conn.execute(sql.SELECT_WRITE_STATE, (session_id,)).fetchone()
    actual = 0 if row is None else row[1]
    if expected is not None and expected != actual:
        raise ConflictError(session_id, expected=expected, actual=actual)
    return row


def _stamp(micros: int, batch: Batch) -> datetime:
    """``micros`` as a datetime, reusing the batch's clock reading when it is that."""
    return batch.now if micros == batch.now_us else datetime_from_micros(micros)


def _tail_after_single(payload: bytes) -> tuple[int, int]:
    """(next_position, tail_start) for a transcript stored as just ``payload`` (maybe none)."""
    if payload == _EMPTY_ARRAY:
        return 0, 0
    return 1, 0 if len(payload) < sql.SMALL_SEGMENT_BYTES else 1


def _create(
    conn: Connection,
    batch: Batch,
    session_id: SessionId,
    messages: EncodedMessages,
    created_us: int,
    now: int,
) -> SessionRecord:
    next_position, tail_start = _tail_after_single(messages.payload)
    cursor = conn.execute(
        sql.INSERT_SESSION,
        (session_id, messages.count, created_us, now, batch.next_seq(), next_position, tail_start),
    )
    if next_position:
        conn.execute(sql.APPEND_SEGMENT, (cursor.lastrowid, 0, messages.payload))
    created = _stamp(created_us, batch)
    updated = created if now == created_us else _stamp(now, batch)
    return SessionRecord(session_id, messages.count, created, updated, 1)


def _save(
    session_id: SessionId,
    messages: EncodedMessages,
    expected: int | None,
    conn: Connection,
    batch: Batch,
    *,
    stamps: tuple[int, int] | None = None,
) -> SessionRecord:
    """Replace the transcript, creating the session if it does not exist.

    ``stamps`` = (created_us, updated_us) to write instead of the clock (restore).
    """
    row = _write_state(conn, session_id, expected)
    if stamps is None:
        now = batch.now_us
        stamps = (now if row is None else row[2], now)
    if row is None:
        return _create(conn, batch, session_id, messages, *stamps)
    return _replace_transcript(conn, batch, session_id, messages, row, *stamps)


def _replace_transcript(
    conn: Connection,
    batch: Batch,
    session_id: SessionId,
    messages: EncodedMessages,
    row: Any,
    created_us: int,
    now: int,
) -> SessionRecord:
    """Save over an existing session: its segments become ``messages``."""
    key, version = row[0], row[1]
    next_position, tail_start = _tail_after_single(messages.payload)
    conn.execute(sql.DELETE_SEGMENTS, (key,))
    if next_position:
        conn.execute(sql.APPEND_SEGMENT, (key, 0, messages.payload))
    conn.execute(
        sql.UPDATE_AFTER_SAVE,
        (messages.count, created_us, now, batch.next_seq(), next_position, tail_start, key),
    )
    return SessionRecord(
        session_id, messages.count, _stamp(created_us, batch), _stamp(now, batch), version + 1
    )


def _merge(parts: list[bytes]) -> bytes:
    """Concatenate JSON-array segments into one array without decoding them."""
    return b"[" + b",".join(part[1:-1] for part in parts if part != _EMPTY_ARRAY) + b"]"


def _append(
    session_id: SessionId,
    messages: EncodedMessages,
    expected: int | None,
    conn: Connection,
    batch: Batch,
) -> SessionRecord:
    """Append, creating the session if it does not exist; merge a full run of small segments.

    The version check, the creation or update of the session row and where the
    payload goes are one statement, so an append costs two (a merge, two more).
    """
    payload = messages.payload
    holds_messages = payload != _EMPTY_ARRAY
    large = len(payload) >= sql.SMALL_SEGMENT_BYTES
    parameters = (
        messages.count,
        batch.now_us,
        batch.seq + 1,  # taken below once the row was written
        holds_messages,
        large,
        sql.MAX_SMALL_RUN,
        session_id,
    )
    if expected is None:
        row = conn.execute(sql.UPSERT_FOR_APPEND, parameters).fetchone()
    else:
        row = conn.execute(sql.UPDATE_FOR_APPEND, (*parameters, expected)).fetchone()
        if row is None:  # missing, or a version conflict: nothing was written
            missing = _write_state(conn, session_id, expected)  # raises the ConflictError
            assert missing is None
            return _create(conn, batch, session_id, messages, batch.now_us, batch.now_us)
    batch.next_seq()
    key, version, created_us, count, next_position, tail_start = row
    if holds_messages:
        if version > 1 and not large and next_position - tail_start == 1:
            # A new run of small segments starts here, or a full run restarts merged.
            parts = [part for (part,) in conn.execute(sql.SELECT_SEGMENTS_FROM, (key, tail_start))]
            if parts:
                payload = _merge([*parts, payload])
                conn.execute(sql.DELETE_SEGMENTS_FROM, (key, tail_start))
                if len(payload) >= sql.SMALL_SEGMENT_BYTES:
                    conn.execute(sql.SET_TAIL_START, (next_position, key))
        conn.execute(sql.APPEND_SEGMENT, (key, next_position - 1, payload))
    return SessionRecord(session_id, count, _stamp(created_us, batch), batch.now, version)


def _delete(session_id: SessionId, conn: Connection, batch: Batch) -> None:
    row = conn.execute(sql.SELECT_WRITE_STATE, (session_id,)).fetchone()
    if row is not None:
        conn.execute(sql.DELETE_SEGMENTS, (row[0],))
        conn.execute(sql.DELETE_SESSION, (row[0],))


def _prune(
    updated_before: datetime | None, keep_newest: int | None, conn: Connection, batch: Batch
) -> int:
    query = sql.PRUNE_SELECT_KEYS[(updated_before is not None, keep_newest is not None)]
    params: list[int] = []
    if updated_before is not None:
        params.append(micros_from_datetime(updated_before))
    if keep_newest is not None:
        params.append(keep_newest)
    keys = [key for (key,) in conn.execute(query, params)]
    conn.executemany(sql.DELETE_SEGMENTS, [(key,) for key in keys])
    conn.executemany(sql.DELETE_SESSION, [(key,) for key in keys])
    return len(keys)
