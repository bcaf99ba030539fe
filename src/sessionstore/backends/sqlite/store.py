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

from sessionstore._errors import InvalidArgumentError
from sessionstore._messages import EncodedMessages, Message
from sessionstore._records import (
    NO_ATTRIBUTES,
    ListOptions,
    SessionId,
    SessionRecord,
    Snapshot,
    micros_from_datetime,
)
from sessionstore._rest import Encryption, make_codec
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
    ``encryption`` (an ``Encryption``) and ``compression="zstd"`` seal every
    segment and the attributes (see the README's "Data at rest").
    """

    supports_restore = True
    supports_cursor_scan = True

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        durability: Durability = "full",
        busy_timeout: float = 30.0,
        encryption: Encryption | None = None,
        compression: Literal["zstd"] | None = None,
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
        self._codec = make_codec(encryption, compression)
        self._path = Path(text)
        self._durability: Durability = durability
        self._busy_timeout = float(busy_timeout)
        self._writer: GroupCommitWriter | None = None
        self._reader: Reader | None = None

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        encryption: Encryption | None = None,
        compression: Literal["zstd"] | None = None,
    ) -> Self:
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
        return cls(
            path,
            durability=durability,  # type: ignore[arg-type]
            encryption=encryption,
            compression=compression,
        )

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

    async def _load(
        self, namespace: str, session_id: SessionId, start: int, stop: int | None
    ) -> list[Message] | None:
        return await self._read(
            partial(load_messages, namespace, session_id, start, stop, codec=self._codec)
        )

    async def _snapshot(
        self, namespace: str, session_id: SessionId, start: int, stop: int | None
    ) -> Snapshot | None:
        return await self._read(
            partial(read_snapshot, namespace, session_id, start, stop, codec=self._codec)
        )

    async def _save(
        self,
        namespace: str,
        session_id: SessionId,
        messages: EncodedMessages,
        expected_version: int | None,
        attributes: Mapping[str, Any] | None,
    ) -> SessionRecord:
        return await self._write(
            partial(
                save_messages,
                namespace,
                session_id,
                messages,
                expected_version,
                attributes,
                codec=self._codec,
            )
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
            partial(
                append_messages,
                namespace,
                session_id,
                messages,
                expected_version,
                attributes,
                codec=self._codec,
            )
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
            stamps=stamps, exact=exact, codec=self._codec,
        )  # fmt: skip
        return await self._write(work)

    async def _pop(
        self, namespace: str, session_id: SessionId, count: int, expected_version: int | None
    ) -> list[Message]:
        return await self._write(
            partial(pop_messages, namespace, session_id, count, expected_version, codec=self._codec)
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
            partial(
                replace_tail,
                namespace,
                session_id,
                start,
                messages,
                expected_version,
                codec=self._codec,
            )
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
            partial(
                fork_session,
                namespace,
                source_id,
                target_id,
                stop,
                expected_version,
                codec=self._codec,
            )
        )

    async def _update_attributes(
        self,
        namespace: str,
        session_id: SessionId,
        changes: Mapping[str, Any],
        expected_version: int | None,
    ) -> SessionRecord:
        return await self._write(
            partial(
                update_attributes,
                namespace,
                session_id,
                changes,
                expected_version,
                codec=self._codec,
            )
        )

    async def _get(self, namespace: str, session_id: SessionId) -> SessionRecord | None:
        return await self._read(partial(get_record, namespace, session_id, codec=self._codec))

    async def _list(self, namespace: str, options: ListOptions) -> list[SessionRecord]:
        return await self._read(partial(list_records, namespace, options, codec=self._codec))

    async def _scan_page(
        self, namespace: str, after: int, limit: int
    ) -> list[tuple[int, SessionRecord]]:
        return await self._read(partial(scan_records, namespace, after, limit, codec=self._codec))

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
