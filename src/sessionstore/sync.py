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
import os
import sys
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Generator
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, Self, TypeVar

from sessionstore._errors import InvalidArgumentError, StoreClosedError
from sessionstore._open import open_store
from sessionstore._records import SessionRecord
from sessionstore._store import SessionStore

__all__ = ["SyncSessionStore"]

_T = TypeVar("_T")
_P = ParamSpec("_P")


def _forward(
    method: Callable[Concatenate[SessionStore, _P], Coroutine[Any, Any, _T]], doc: str
) -> Callable[Concatenate[SyncSessionStore, _P], _T]:
    """A ``SyncSessionStore`` method running the store's ``method`` (same parameters) to its
    result on the private loop; looked up by name, so a store subclass's override runs."""
    name = method.__name__

    def forward(self: SyncSessionStore, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        bound: Callable[_P, Coroutine[Any, Any, _T]] = getattr(self._store, name)
        return self._run(bound(*args, **kwargs))

    forward.__name__ = name
    forward.__qualname__ = f"SyncSessionStore.{name}"
    forward.__doc__ = doc
    # inspect.signature (and so help()) shows the store method's parameters.
    forward.__wrapped__ = method  # type: ignore[attr-defined]
    return forward


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

    open = _forward(
        SessionStore.open, "Connect or create storage now; otherwise the first call does it."
    )

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

    load = _forward(
        SessionStore.load, "The transcript or its ``[start:stop]`` slice; None when unknown."
    )
    snapshot = _forward(
        SessionStore.snapshot, "The record and a slice read atomically, or None when unknown."
    )
    get = _forward(SessionStore.get, "The session's record, or None when unknown.")
    list = _forward(SessionStore.list, "Every session, newest-last.")
    list_paginated = _forward(SessionStore.list_paginated, "A window of the listing order.")
    count = _forward(SessionStore.count, "How many sessions exist.")
    namespaces = _forward(
        SessionStore.namespaces, "Every namespace holding at least one session, sorted."
    )

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

    save = _forward(SessionStore.save, "Atomically replace the transcript; return the new record.")
    append = _forward(
        SessionStore.append, "Atomically add messages at the end; return the new record."
    )
    restore = _forward(
        SessionStore.restore, "``save`` with the given timestamps (an optional capability)."
    )
    pop = _forward(SessionStore.pop, "Atomically remove and return the last ``count`` messages.")
    replace_tail = _forward(
        SessionStore.replace_tail, "Atomically replace the messages from index ``start`` on."
    )
    fork = _forward(
        SessionStore.fork,
        "Copy a session (or its first ``stop`` messages) to ``target_id`` inside the storage.",
    )
    update_attributes = _forward(
        SessionStore.update_attributes, "Merge ``changes`` into the session's attributes."
    )
    delete = _forward(SessionStore.delete, "Remove the session; an unknown id is a no-op.")
    clear = _forward(
        SessionStore.clear, "Delete every session of this namespace; return how many went."
    )
    prune = _forward(SessionStore.prune, "Delete old sessions; return how many were deleted.")


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
