"""``SQLiteSessionStore``: argument and URL checks, the two threads' lifecycle, the contract.

Each method of the contract queues one function of ``operations`` on the
reader or the writer thread and awaits it.
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
from typing import Literal, Self, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

from sessionstore._errors import InvalidArgumentError
from sessionstore._messages import EncodedMessages, Message
from sessionstore._records import ListOptions, SessionId, SessionRecord, micros_from_datetime
from sessionstore._store import SessionStore
from sessionstore.backends.sqlite.connection import open_connection
from sessionstore.backends.sqlite.operations import (
    append_messages,
    count_sessions,
    delete_session,
    get_record,
    list_records,
    load_messages,
    prune_sessions,
    save_messages,
    scan_records,
)
from sessionstore.backends.sqlite.threads import Reader
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

    def _write(self, work: Callable[[Connection, Transaction], T]) -> asyncio.Future[T]:
        """Queue ``work`` for the writer; await the future (a plain method: one less coroutine)."""
        assert self._writer is not None
        return self._writer.submit(work)

    # -- the contract --------------------------------------------------------------

    async def _load(self, session_id: SessionId) -> list[Message] | None:
        return await self._read(partial(load_messages, session_id))

    async def _save(
        self, session_id: SessionId, messages: EncodedMessages, expected_version: int | None
    ) -> SessionRecord:
        return await self._write(partial(save_messages, session_id, messages, expected_version))

    def _append(
        self, session_id: SessionId, messages: EncodedMessages, expected_version: int | None
    ) -> asyncio.Future[SessionRecord]:
        # The writer's future itself, not a coroutine awaiting it: one less per append.
        return self._write(partial(append_messages, session_id, messages, expected_version))

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
            partial(save_messages, session_id, messages, expected_version, stamps=stamps)
        )

    async def _get(self, session_id: SessionId) -> SessionRecord | None:
        return await self._read(partial(get_record, session_id))

    async def _list(self, options: ListOptions) -> list[SessionRecord]:
        return await self._read(partial(list_records, options))

    async def _scan_page(self, after: int, limit: int) -> list[tuple[int, SessionRecord]]:
        return await self._read(partial(scan_records, after, limit))

    async def _count(self) -> int:
        return await self._read(count_sessions)

    async def _delete(self, session_id: SessionId) -> None:
        await self._write(partial(delete_session, session_id))

    async def _prune(self, updated_before: datetime | None, keep_newest: int | None) -> int:
        return await self._write(partial(prune_sessions, updated_before, keep_newest))
