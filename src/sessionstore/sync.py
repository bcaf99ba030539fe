"""``SyncSessionStore``: the whole store contract for synchronous code.

Scripts, Flask or Django views and notebooks (whose event loop is already
running) call the same methods by the same names and get plain values back.
Each call runs on a private event loop, in one daemon thread for the process,
so a caller inside a running loop needs no ``nest_asyncio`` and never runs
the store on its own loop; the store itself is safe to use from that loop and any
other at the same time ("Threads and event loops" in the contract).

A facade made from a URL opens the store and closes it with ``close()`` or at
the end of a ``with`` block; a facade given a store leaves that store open.
"""

from __future__ import annotations

import asyncio
import builtins
import os
import sys
import threading
from collections.abc import AsyncIterator, Coroutine, Generator, Iterable, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar

from sessionstore._errors import InvalidArgumentError, StoreClosedError
from sessionstore._messages import Message, MessageInput
from sessionstore._open import open_store
from sessionstore._records import ListOptions, SessionRecord, Snapshot
from sessionstore._store import SessionStore

__all__ = ["SyncSessionStore"]

_T = TypeVar("_T")


class _LoopThread:
    """The process's private event loop, on a daemon thread started on first use.

    One loop serves every facade: pools bound to a loop (psycopg, redis-py) are
    made once on it and live as long as their store, rather than being stranded
    on the loop of a facade that has gone. A forked child starts its own.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pid = 0

    def run(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        """Run ``coroutine`` on the private loop and return its result (or raise its error)."""
        loop = self._loop if self._pid == os.getpid() else None
        if loop is None:
            loop = self._start()
        if threading.current_thread() is self._thread:
            coroutine.close()
            raise RuntimeError(
                "SyncSessionStore was called from its own event loop; await the async store instead"
            )
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result()

    def _start(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="sessionstore-sync", daemon=True
                )
                thread.start()
                self._loop, self._thread, self._pid = loop, thread, os.getpid()
            return self._loop


_LOOP = _LoopThread()


def run_on_private_loop(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Run ``coroutine`` on the process's private loop thread, for the adapters' sync methods.

    Works from plain threads and from inside a running loop, where ``asyncio.run``
    cannot; the one loop keeps the stores' per-loop pools warm between calls.
    """
    return _LOOP.run(coroutine)


class SyncSessionStore:
    """A ``SessionStore`` for synchronous code: the same methods, returning plain values.

    ``store_or_url`` is a store (left open on ``close()``), a URL opened with
    ``open_store`` (closed with the facade), or None for ``$SESSIONSTORE_URL``,
    then ``sqlite:///sessions.db``. Safe to share between threads. Use it as a
    context manager or call ``close()``.
    """

    def __init__(self, store_or_url: SessionStore | str | None = None) -> None:
        if isinstance(store_or_url, SessionStore):
            self._store, self._owns_store = store_or_url, False
        elif store_or_url is None or isinstance(store_or_url, str):
            self._store, self._owns_store = open_store(store_or_url), True
        else:
            raise InvalidArgumentError(
                "SyncSessionStore needs a SessionStore, a URL or None, "
                f"got {type(store_or_url).__name__}"
            )
        self._is_view = False
        self._closed = False

    @classmethod
    def _view(cls, store: SessionStore) -> SyncSessionStore:
        view = cls.__new__(cls)
        view._store, view._owns_store, view._is_view, view._closed = store, False, True, False
        return view

    def __repr__(self) -> str:
        return f"SyncSessionStore({self._store!r})"

    @property
    def store(self) -> SessionStore:
        """The async store every call goes to."""
        return self._store

    @property
    def namespace_name(self) -> str:
        """The namespace this object sees: ``""`` for the store itself."""
        return self._store.namespace_name

    @property
    def supports_restore(self) -> bool:
        """Whether ``restore`` works on this store."""
        return self._store.supports_restore

    @property
    def supports_cursor_scan(self) -> bool:
        """Whether ``scan`` pages by a cursor on the listing order."""
        return self._store.supports_cursor_scan

    @property
    def closed(self) -> bool:
        """Whether this facade or its store was closed."""
        return self._closed or self._store.closed

    def namespace(self, name: str) -> SyncSessionStore:
        """A synchronous view of namespace ``name`` of the same storage (see ``SessionStore``)."""
        return SyncSessionStore._view(self._store.namespace(name))

    def _run(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        if self._closed:
            coroutine.close()
            raise StoreClosedError("SyncSessionStore is closed")
        return _LOOP.run(coroutine)

    # -- lifecycle -----------------------------------------------------------------------------

    def open(self) -> None:
        """Connect or create storage now; otherwise the first call does it."""
        self._run(self._store.open())

    def close(self) -> None:
        """Close the store if this facade opened it; later calls raise StoreClosedError.

        Idempotent. A namespace view's ``close`` does nothing, as for async views.
        """
        if self._is_view or self._closed:
            return
        if self._owns_store:
            _LOOP.run(self._store.close())
        self._closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- reading -------------------------------------------------------------------------------

    def load(
        self, session_id: str, *, start: int = 0, stop: int | None = None
    ) -> list[Message] | None:
        """The transcript or its ``[start:stop]`` slice; None when unknown."""
        return self._run(self._store.load(session_id, start=start, stop=stop))

    def snapshot(
        self, session_id: str, *, start: int = 0, stop: int | None = None
    ) -> Snapshot | None:
        """The record and a slice read atomically, or None when unknown."""
        return self._run(self._store.snapshot(session_id, start=start, stop=stop))

    def get(self, session_id: str) -> SessionRecord | None:
        """The session's record, or None when unknown."""
        return self._run(self._store.get(session_id))

    def list(self) -> builtins.list[SessionRecord]:
        """Every session, newest-last."""
        return self._run(self._store.list())

    def list_paginated(self, options: ListOptions | None = None) -> builtins.list[SessionRecord]:
        """A window of the listing order."""
        return self._run(self._store.list_paginated(options))

    def count(self) -> int:
        """How many sessions exist."""
        return self._run(self._store.count())

    def namespaces(self) -> builtins.list[str]:
        """Every namespace holding at least one session, sorted."""
        return self._run(self._store.namespaces())

    def scan(self, *, page_size: int = 500) -> Generator[SessionRecord, None, None]:
        """Every session's record in listing order, fetched ``page_size`` at a time."""
        records = self._store.scan(page_size=page_size)
        try:
            while True:
                page = self._run(_next_page(records, page_size))
                yield from page
                if len(page) < page_size:
                    return
        finally:
            # At interpreter exit the loop's daemon thread no longer runs: waiting would hang.
            if not sys.is_finalizing():
                _LOOP.run(_close_iterator(records))

    # -- writing -------------------------------------------------------------------------------

    def save(
        self,
        session_id: str,
        messages: Iterable[MessageInput],
        *,
        expected_version: int | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> SessionRecord:
        """Atomically replace the transcript; return the new record."""
        return self._run(
            self._store.save(
                session_id, messages, expected_version=expected_version, attributes=attributes
            )
        )

    def append(
        self,
        session_id: str,
        messages: Iterable[MessageInput],
        *,
        expected_version: int | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> SessionRecord:
        """Atomically add messages at the end; return the new record."""
        return self._run(
            self._store.append(
                session_id, messages, expected_version=expected_version, attributes=attributes
            )
        )

    def restore(
        self,
        session_id: str,
        messages: Iterable[MessageInput],
        *,
        created_at: datetime,
        updated_at: datetime,
        expected_version: int | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> SessionRecord:
        """``save`` with the given timestamps (an optional capability)."""
        return self._run(
            self._store.restore(
                session_id,
                messages,
                created_at=created_at,
                updated_at=updated_at,
                expected_version=expected_version,
                attributes=attributes,
            )
        )

    def pop(
        self, session_id: str, count: int = 1, *, expected_version: int | None = None
    ) -> builtins.list[Message]:
        """Atomically remove and return the last ``count`` messages."""
        return self._run(self._store.pop(session_id, count, expected_version=expected_version))

    def replace_tail(
        self,
        session_id: str,
        start: int,
        messages: Iterable[MessageInput],
        *,
        expected_version: int | None = None,
    ) -> SessionRecord:
        """Atomically replace the messages from index ``start`` on."""
        return self._run(
            self._store.replace_tail(session_id, start, messages, expected_version=expected_version)
        )

    def fork(
        self,
        source_id: str,
        target_id: str,
        *,
        stop: int | None = None,
        expected_version: int | None = None,
    ) -> SessionRecord:
        """Copy a session (or its first ``stop`` messages) to ``target_id`` inside the storage."""
        return self._run(
            self._store.fork(source_id, target_id, stop=stop, expected_version=expected_version)
        )

    def update_attributes(
        self,
        session_id: str,
        changes: Mapping[str, Any],
        *,
        expected_version: int | None = None,
    ) -> SessionRecord:
        """Merge ``changes`` into the session's attributes."""
        return self._run(
            self._store.update_attributes(session_id, changes, expected_version=expected_version)
        )

    def delete(self, session_id: str) -> None:
        """Remove the session; an unknown id is a no-op."""
        self._run(self._store.delete(session_id))

    def clear(self) -> int:
        """Delete every session of this namespace; return how many went."""
        return self._run(self._store.clear())

    def prune(
        self, *, updated_before: datetime | None = None, keep_newest: int | None = None
    ) -> int:
        """Delete old sessions; return how many were deleted."""
        return self._run(self._store.prune(updated_before=updated_before, keep_newest=keep_newest))


async def _next_page(records: AsyncIterator[SessionRecord], size: int) -> list[SessionRecord]:
    page: list[SessionRecord] = []
    async for record in records:
        page.append(record)
        if len(page) == size:
            break
    return page


async def _close_iterator(records: AsyncIterator[SessionRecord]) -> None:
    close = getattr(records, "aclose", None)
    if close is not None:
        await close()
