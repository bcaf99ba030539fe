"""The SQLite threads: the ``Reader`` and the ``GroupCommitWriter``, each owning a connection.

Each serves a queue of requests; results travel back to each caller's loop
with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from itertools import islice
from typing import Any, TypeVar

from sessionstore._errors import BackendError, SessionStoreError
from sessionstore.backends.sqlite.connection import retry_busy, translate_error
from sessionstore.backends.sqlite.schema import DATA_VERSION, MAX_SEQ
from sessionstore.backends.sqlite.transaction import StateCache, Transaction

__all__ = ["GroupCommitWriter", "Reader"]

T = TypeVar("T")

#: How many queued writes at most share one transaction.
MAX_BATCH = 1024
#: How many sessions' write states the writer keeps between transactions at most
#: (oldest first out; an entry is the id and six ints, so a few MB at most).
MAX_CACHED_STATES = 10_000


def _deliver(outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, result, error in outcomes:
        if future.done():  # the caller was cancelled; the write still happened
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)


class _Request:
    __slots__ = ("future", "loop", "stop", "work")

    def __init__(
        self,
        work: Callable[..., Any] | None,
        loop: asyncio.AbstractEventLoop | None,
        future: asyncio.Future[Any] | None,
        stop: bool,
    ) -> None:
        self.work = work
        self.loop = loop
        self.future = future
        self.stop = stop


def _waited_for(work: Callable[..., Any] | None, *, stop: bool = False) -> _Request:
    """A request whose caller, on the running loop, awaits its ``future``."""
    loop = asyncio.get_running_loop()
    return _Request(work, loop, loop.create_future(), stop)


class _ConnectionThread:
    """A daemon thread owning one connection and serving a queue of requests."""

    def __init__(self, name: str, path: str, connect: Callable[[], sqlite3.Connection]) -> None:
        self.path = path
        self._connect = connect
        self._queue: queue.SimpleQueue[_Request] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._started = False

    def start(self) -> asyncio.Future[None]:
        """Start the thread; the future resolves once the connection is open."""
        startup = _waited_for(None)
        self._queue.put(startup)
        self._started = True
        self._thread.start()
        assert startup.future is not None
        return startup.future

    def submit(self, work: Callable[..., T]) -> asyncio.Future[T]:
        """Queue ``work`` for the thread; await the returned future for its result."""
        # The hot path of every write: no more than one future and one request.
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Request(work, loop, future, False))
        return future

    async def stop(self) -> None:
        """Finish everything queued before this call, close the connection, end the thread."""
        if not self._started:
            return
        request = _waited_for(None, stop=True)
        self._queue.put(request)
        assert request.future is not None
        await request.future
        self._thread.join()

    def stop_nowait(self) -> None:
        """Ask the thread to close its connection and end, without waiting (from ``__del__``)."""
        if self._started and self._thread.is_alive():
            self._queue.put(_Request(None, None, None, True))

    @staticmethod
    def _settle(request: _Request, result: Any, error: BaseException | None) -> None:
        if request.loop is None or request.future is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
            request.loop.call_soon_threadsafe(_deliver, [(request.future, result, error)])

    def _run(self) -> None:
        startup = self._queue.get()
        try:
            conn = self._connect()
        except BaseException as exc:
            self._settle(startup, None, translate_error(exc, "open the database", self.path))
            return
        self._settle(startup, None, None)
        try:
            self._serve(conn)
        finally:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def _serve(self, conn: sqlite3.Connection) -> None:
        raise NotImplementedError

    def _finish(self, conn: sqlite3.Connection, request: _Request) -> None:
        error: BaseException | None = None
        try:
            conn.close()
        except sqlite3.Error as exc:
            error = translate_error(exc, "close the database", self.path)
        self._settle(request, None, error)


class Reader(_ConnectionThread):
    """Runs read-only work ``work(conn)`` one call at a time on its own connection."""

    def _serve(self, conn: sqlite3.Connection) -> None:
        while True:
            request = self._queue.get()
            if request.stop:
                self._finish(conn, request)
                return
            assert request.work is not None
            try:
                result = request.work(conn)
            except BaseException as exc:
                self._settle(request, None, translate_error(exc, "read", self.path))
            else:
                self._settle(request, result, None)


class GroupCommitWriter(_ConnectionThread):
    """Runs write work ``work(conn, transaction)``: all queued calls share one transaction."""

    def __init__(
        self,
        name: str,
        path: str,
        connect: Callable[[], sqlite3.Connection],
        busy_timeout: float,
    ) -> None:
        super().__init__(name, path, connect)
        self._busy_timeout = busy_timeout
        # Trusted only while PRAGMA data_version says no other connection wrote.
        self._state_cache: StateCache = {}
        self._data_version: int | None = None

    def _serve(self, conn: sqlite3.Connection) -> None:
        while True:
            first = self._queue.get()
            batch: list[_Request] = []
            stopper: _Request | None = None
            request: _Request | None = first
            while request is not None:
                if request.stop:
                    stopper = request
                    break
                batch.append(request)
                if len(batch) >= MAX_BATCH:
                    break
                try:
                    request = self._queue.get_nowait()
                except queue.Empty:
                    request = None
            if batch:
                self._commit(conn, batch)
            if stopper is not None:
                self._finish(conn, stopper)
                return

    def _commit(self, conn: sqlite3.Connection, batch: list[_Request]) -> None:
        pending, guarded = batch, False
        while pending:
            pending, guarded = self._attempt(conn, pending, guarded=guarded)

    def _begin(self, conn: sqlite3.Connection, *, guarded: bool) -> Transaction:
        """BEGIN IMMEDIATE; the transaction, with the state cache unless guarded or stale."""
        retry_busy(lambda: conn.execute("BEGIN IMMEDIATE"), self._busy_timeout)
        cache = self._state_cache
        data_version = conn.execute(DATA_VERSION).fetchone()[0]
        if data_version != self._data_version or guarded:
            # Another connection committed (or we re-run after a failure): forget.
            cache.clear()
            self._data_version = data_version
        elif len(cache) > MAX_CACHED_STATES:
            for session_id in list(islice(cache, len(cache) - MAX_CACHED_STATES)):
                del cache[session_id]
        return Transaction(conn.execute(MAX_SEQ).fetchone()[0], None if guarded else cache)

    def _rollback(self, conn: sqlite3.Connection) -> None:
        """Undo the transaction; the cached states may hold its writes, so drop them too."""
        self._state_cache.clear()
        if conn.in_transaction:
            conn.execute("ROLLBACK")

    def _attempt(
        self, conn: sqlite3.Connection, batch: list[_Request], *, guarded: bool
    ) -> tuple[list[_Request], bool]:
        """Run ``batch`` in one transaction; return the calls to run again, and whether guarded.

        Unguarded, calls run without savepoints and may defer writes (see
        Transaction); if running those fails, every call runs again, guarded.
        ``guarded``: nothing is deferred, and each call of a batch of several
        runs in its own SAVEPOINT.
        """
        outcomes: list[tuple[_Request, Any, BaseException | None]] = []
        try:
            transaction = self._begin(conn, guarded=guarded)
            if len(batch) == 1:
                outcomes.append(self._run_alone(conn, transaction, batch[0]))
            elif guarded:
                for index, request in enumerate(batch):
                    outcome = self._run_guarded(conn, transaction, request)
                    if not conn.in_transaction:  # its error made SQLite abort everything
                        self._settle(*outcome)
                        return batch[:index] + batch[index + 1 :], True
                    outcomes.append(outcome)
            else:
                for index, request in enumerate(batch):
                    assert request.work is not None
                    changes = conn.total_changes
                    try:
                        outcomes.append((request, request.work(conn, transaction), None))
                    except Exception as exc:
                        if transaction.flush_failed:  # a deferred write of some call failed
                            self._rollback(conn)
                            return batch, True
                        error = self._call_error(exc)
                        if isinstance(exc, SessionStoreError) and conn.total_changes == changes:
                            outcomes.append((request, None, error))  # it wrote nothing
                            continue
                        # It may have written part of itself: undo the transaction.
                        self._rollback(conn)
                        self._settle(request, None, error)
                        return batch[:index] + batch[index + 1 :], True
                try:
                    transaction.flush(conn)
                except Exception:
                    self._rollback(conn)
                    return batch, True
            if conn.in_transaction:  # not when the only call failed and rolled back
                conn.execute("COMMIT")
        except Exception as exc:
            with contextlib.suppress(sqlite3.Error):
                self._rollback(conn)
            for request in batch:
                self._settle(request, None, self._batch_error(exc))
            return [], False
        self._settle_all(outcomes)
        return [], False

    def _batch_error(self, exc: Exception) -> BaseException:
        doing = "commit a batch of writes (nothing of it was written)"
        if isinstance(exc, sqlite3.Error):
            return translate_error(exc, doing, self.path)
        error = BackendError(f"failed to {doing} in {self.path!r}: {exc!r}")
        error.__cause__ = exc
        return error

    def _call_error(self, exc: Exception) -> BaseException:
        if isinstance(exc, SessionStoreError):
            return exc
        return translate_error(exc, "write", self.path)

    def _run_alone(
        self, conn: sqlite3.Connection, transaction: Transaction, request: _Request
    ) -> tuple[_Request, Any, BaseException | None]:
        """Run the only call of a batch: its failure rolls back the transaction."""
        assert request.work is not None
        try:
            result = request.work(conn, transaction)
            transaction.flush(conn)
        except Exception as exc:
            self._rollback(conn)
            return request, None, self._call_error(exc)
        return request, result, None

    def _run_guarded(
        self, conn: sqlite3.Connection, transaction: Transaction, request: _Request
    ) -> tuple[_Request, Any, BaseException | None]:
        """Run one call in its own savepoint, so that its failure undoes only itself."""
        assert request.work is not None
        conn.execute("SAVEPOINT call")
        try:
            result = request.work(conn, transaction)
        except Exception as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK TO call")
                conn.execute("RELEASE call")
            return request, None, self._call_error(exc)
        conn.execute("RELEASE call")
        return request, result, None

    def _settle_all(self, outcomes: list[tuple[_Request, Any, BaseException | None]]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any, Any]]] = {}
        for request, result, error in outcomes:
            if request.loop is not None and request.future is not None:
                by_loop.setdefault(request.loop, []).append((request.future, result, error))
        for loop, items in by_loop.items():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_deliver, items)
