"""``SQLiteSessionStore``: argument and URL checks, the two threads' lifecycle, the contract.

Each method of the contract queues one function of ``reads``, ``operations``
or ``edits`` on the reader or the writer thread and awaits it.
"""

from __future__ import annotations

import asyncio
import math
import os
import warnings
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
from pathlib import Path
from sqlite3 import Connection
from types import MappingProxyType
from typing import Any, Literal, Self, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

from sessionstore._errors import InvalidArgumentError, UnsupportedOperationError
from sessionstore._messages import EncodedMessages, Message
from sessionstore._records import (
    NO_ATTRIBUTES,
    ListOptions,
    SessionId,
    SessionRecord,
    Snapshot,
    micros_from_datetime,
)
from sessionstore._store import SessionStore
from sessionstore.backends.sqlite.connection import open_connection
from sessionstore.backends.sqlite.edits import (
    fork_session,
    pop_messages,
    replace_tail,
    update_attributes,
)
from sessionstore.backends.sqlite.operations import (
    append_messages,
    clear_namespace,
    delete_session,
    prune_sessions,
    save_messages,
)
from sessionstore.backends.sqlite.reads import (
    count_sessions,
    get_record,
    list_namespaces,
    list_records,
    load_messages,
    read_snapshot,
    scan_records,
)
from sessionstore.backends.sqlite.threads import ConnectionThread, Reader
from sessionstore.backends.sqlite.transaction import Transaction
from sessionstore.backends.sqlite.writer import GroupCommitWriter

__all__ = ["SQLiteSessionStore"]

T = TypeVar("T")
Durability = Literal["full", "normal"]
_SYNCHRONOUS: dict[str, str] = {"full": "FULL", "normal": "NORMAL"}


class SQLiteSessionStore(SessionStore):
    """Sessions in one SQLite file (WAL), safe to share between tasks and processes.

    ``durability="full"`` (default): a write that returned survives power loss.
    ``durability="normal"``: never corrupt, but the last commits may be lost on
    power loss. ``busy_timeout`` is how many seconds to wait for another
    process's lock before failing with StoreUnavailableError. A write whose
    caller is cancelled after the write was queued still happens.
    """

    supports_restore = True
    supports_cursor_scan = True
    #: No limit on a write as a whole: it is stored in segments of about 32 KiB,
    #: and what SQLite limits is one blob (``SQLITE_LIMIT_LENGTH``, 1e9 bytes by
    #: default), so one *message* is checked, against the connection's own limit,
    #: before anything is written (``segments.check_fits``).
    max_write_bytes = None

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
        #: Every thread an open started and no close has ended, writers first.
        self._workers: list[ConnectionThread] = []

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
    def read_only(self) -> bool:
        """Whether the file could only be opened for reading (False until opened).

        A file that cannot be written, or whose directory cannot, or on read-only
        media, opens read-only: reads work, writes raise UnsupportedOperationError.
        """
        return self._writer is not None and self._writer.read_only

    @property
    def durability(self) -> Durability:
        """``"full"`` or ``"normal"``, as given."""
        return self._durability

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open" if self._opened else "unopened"
        return f"SQLiteSessionStore({str(self._path)!r}, durability={self._durability!r}, {state})"

    def __del__(self) -> None:
        # A finaliser never raises: at interpreter exit this module's globals
        # (``warnings`` among them) may already be None, and under ``-W error``
        # the warning itself would raise. The threads are told to stop first.
        try:
            workers = self.__dict__.get("_workers", ())
            for worker in workers:
                worker.stop_nowait()
            if self._opened and not self._closed:
                warnings.warn(f"unclosed {self!r}", ResourceWarning, source=self, stacklevel=1)
        except BaseException:  # nothing may escape a finaliser
            pass

    # -- lifecycle -----------------------------------------------------------------

    async def _open(self) -> None:
        """Start the writer (it creates the file and schema), then the reader.

        Every thread started is recorded in ``_workers`` before it is awaited, so
        that ``_close`` can end it whatever happened; an open that fails or is
        cut (its loop stopping cancels it) tells its threads to stop at once.
        """
        path = str(self._path)
        synchronous = _SYNCHRONOUS[self._durability]
        connect = partial(
            open_connection, path, synchronous=synchronous, busy_timeout=self._busy_timeout
        )
        writer = GroupCommitWriter(
            "sessionstore-sqlite-writer", path, partial(connect, writer=True), self._busy_timeout
        )
        reader = Reader("sessionstore-sqlite-reader", path, partial(connect, writer=False))
        self._workers = [worker for worker in self._workers if worker.alive]  # earlier tries
        try:
            self._workers.append(writer)
            await writer.start()  # creates the file and schema before the reader opens it
            self._workers.append(reader)
            await reader.start()
        except BaseException:
            writer.stop_nowait()
            reader.stop_nowait()
            raise
        self._writer, self._reader = writer, reader

    async def _close(self) -> None:
        """End every thread any open started: the writer first (its queue still lands)."""
        failure: Exception | None = None
        while self._workers:
            try:
                await self._workers.pop(0).stop()
            except Exception as exc:  # a failed close of one: still end the others
                failure = failure or exc
        if failure is not None:
            raise failure

    async def _read(self, work: Callable[[Connection], T]) -> T:
        assert self._reader is not None
        return await self._reader.submit(work)

    def _write(self, work: Callable[[Connection, Transaction], T]) -> asyncio.Future[T]:
        """Queue ``work`` for the writer; await the future (a plain method: one less coroutine)."""
        assert self._writer is not None
        if self._writer.read_only:
            refused: asyncio.Future[T] = asyncio.get_running_loop().create_future()
            refused.set_exception(
                UnsupportedOperationError(
                    f"{str(self._path)!r} is read-only (the file or its directory cannot be "
                    "written, or it is on read-only media): it was opened for reading only, "
                    "and writes are refused; nothing was written"
                )
            )
            return refused
        return self._writer.submit(work)

    # -- the contract --------------------------------------------------------------

    async def _load(
        self, namespace: str, session_id: SessionId, start: int, stop: int | None
    ) -> list[Message] | None:
        return await self._read(partial(load_messages, namespace, session_id, start, stop))

    async def _snapshot(
        self, namespace: str, session_id: SessionId, start: int, stop: int | None
    ) -> Snapshot | None:
        return await self._read(partial(read_snapshot, namespace, session_id, start, stop))

    async def _save(
        self,
        namespace: str,
        session_id: SessionId,
        messages: EncodedMessages,
        expected_version: int | None,
        attributes: Mapping[str, Any] | None,
    ) -> SessionRecord:
        return await self._write(
            partial(save_messages, namespace, session_id, messages, expected_version, attributes)
        )

    def _append(
        self,
        namespace: str,
        session_id: SessionId,
        messages: EncodedMessages,
        expected_version: int | None,
        attributes: Mapping[str, Any] | None,
    ) -> asyncio.Future[SessionRecord]:
        # The writer's future itself, not a coroutine awaiting it: one less per append.
        return self._write(
            partial(append_messages, namespace, session_id, messages, expected_version, attributes)
        )

    async def _restore(
        self,
        namespace: str,
        session_id: SessionId,
        messages: EncodedMessages,
        expected_version: int | None,
        created_at: datetime,
        updated_at: datetime,
        attributes: Mapping[str, Any],
    ) -> SessionRecord:
        stamps = (micros_from_datetime(created_at), micros_from_datetime(updated_at))
        exact = MappingProxyType(dict(attributes)) if attributes else NO_ATTRIBUTES
        work = partial(
            save_messages, namespace, session_id, messages, expected_version, None,
            stamps=stamps, exact=exact,
        )  # fmt: skip
        return await self._write(work)

    async def _pop(
        self, namespace: str, session_id: SessionId, count: int, expected_version: int | None
    ) -> list[Message]:
        return await self._write(
            partial(pop_messages, namespace, session_id, count, expected_version)
        )

    async def _replace_tail(
        self,
        namespace: str,
        session_id: SessionId,
        start: int,
        messages: EncodedMessages,
        expected_version: int | None,
    ) -> SessionRecord:
        return await self._write(
            partial(replace_tail, namespace, session_id, start, messages, expected_version)
        )

    async def _fork(
        self,
        namespace: str,
        source_id: SessionId,
        target_id: SessionId,
        stop: int | None,
        expected_version: int | None,
    ) -> SessionRecord:
        return await self._write(
            partial(fork_session, namespace, source_id, target_id, stop, expected_version)
        )

    async def _update_attributes(
        self,
        namespace: str,
        session_id: SessionId,
        changes: Mapping[str, Any],
        expected_version: int | None,
    ) -> SessionRecord:
        return await self._write(
            partial(update_attributes, namespace, session_id, changes, expected_version)
        )

    async def _get(self, namespace: str, session_id: SessionId) -> SessionRecord | None:
        return await self._read(partial(get_record, namespace, session_id))

    async def _list(self, namespace: str, options: ListOptions) -> list[SessionRecord]:
        return await self._read(partial(list_records, namespace, options))

    async def _scan_page(
        self, namespace: str, after: int, limit: int
    ) -> list[tuple[int, SessionRecord]]:
        return await self._read(partial(scan_records, namespace, after, limit))

    async def _count(self, namespace: str) -> int:
        return await self._read(partial(count_sessions, namespace))

    async def _namespaces(self) -> list[str]:
        return await self._read(list_namespaces)

    async def _delete(self, namespace: str, session_id: SessionId) -> None:
        await self._write(partial(delete_session, namespace, session_id))

    async def _clear(self, namespace: str) -> int:
        return await self._write(partial(clear_namespace, namespace))

    async def _prune(
        self, namespace: str, updated_before: datetime | None, keep_newest: int | None
    ) -> int:
        return await self._write(partial(prune_sessions, namespace, updated_before, keep_newest))
