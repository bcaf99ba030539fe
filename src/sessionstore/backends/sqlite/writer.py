"""``GroupCommitWriter``: the thread that runs each batch of queued writes in one transaction.

A *batch* is the list of calls queued together; the ``Transaction`` is what
those calls share while they run. How a failure in a batch stays with its
call is told in the package docstring.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
from collections.abc import Callable
from itertools import islice
from typing import Any, TypeAlias

from sessionstore._errors import BackendError, SessionStoreError
from sessionstore.backends.sqlite.connection import is_read_only, retry_busy, translate_error
from sessionstore.backends.sqlite.schema import DATA_VERSION, LISTING_SEQ, SET_LISTING_SEQ
from sessionstore.backends.sqlite.threads import ConnectionThread, Delivery, Request, deliver
from sessionstore.backends.sqlite.transaction import StateCache, Transaction

__all__ = ["MAX_BATCH", "MAX_CACHED_STATES", "GroupCommitWriter"]

#: How many queued writes at most share one transaction.
MAX_BATCH = 1024
#: How many sessions' write states the writer keeps between transactions at
#: most, oldest first out (an entry is a namespace, an id and six ints).
MAX_CACHED_STATES = 10_000

#: How one call of a batch ended: the call, its result, or the error to raise instead.
_Outcome: TypeAlias = tuple[Request, Any, BaseException | None]


class _Rerun:
    """The transaction was undone: run ``calls`` again in a new one, guarded."""

    __slots__ = ("calls",)

    def __init__(self, calls: list[Request]) -> None:
        self.calls = calls


class GroupCommitWriter(ConnectionThread):
    """Runs write work ``work(conn, transaction)``: calls queued together share a transaction."""

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
        #: Whether the file could only be opened read-only (known once started).
        self.read_only = False

    def _connected(self, conn: sqlite3.Connection) -> None:
        self.read_only = is_read_only(conn)

    def _serve(self, conn: sqlite3.Connection) -> None:
        while True:
            first = self._queue.get()
            batch: list[Request] = []
            stopper: Request | None = None
            request: Request | None = first
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

    def _commit(self, conn: sqlite3.Connection, batch: list[Request]) -> None:
        """Run ``batch``; whatever a rollback leaves to run again runs guarded, until none is."""
        rerun = self._attempt(conn, batch, guarded=False)
        while rerun:
            rerun = self._attempt(conn, rerun, guarded=True)

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
        return Transaction(conn.execute(LISTING_SEQ).fetchone()[0], None if guarded else cache)

    def _rollback(self, conn: sqlite3.Connection) -> None:
        """Undo the transaction; the cached states may hold its writes, so drop them too."""
        self._state_cache.clear()
        if conn.in_transaction:
            conn.execute("ROLLBACK")

    def _attempt(
        self, conn: sqlite3.Connection, batch: list[Request], *, guarded: bool
    ) -> list[Request]:
        """Run ``batch`` in one transaction; return the calls to run again, guarded, if undone.

        A batch of one runs alone (``_run_alone``). Unguarded, the calls of a
        larger batch run without savepoints and defer their rows
        (``_run_deferring``); guarded, nothing is deferred and each call runs
        in its own SAVEPOINT (``_run_guarded``). If BEGIN or COMMIT fails,
        every call of the batch fails.
        """
        done: list[_Outcome] | _Rerun
        try:
            transaction = self._begin(conn, guarded=guarded)
            if len(batch) == 1:
                done = [self._run_alone(conn, transaction, batch[0])]
            elif guarded:
                done = self._run_guarded(conn, transaction, batch)
            else:
                done = self._run_deferring(conn, transaction, batch)
            if isinstance(done, _Rerun):
                return done.calls
            if conn.in_transaction:  # not when the only call failed and rolled back
                transaction.finish(conn, SET_LISTING_SEQ)
                conn.execute("COMMIT")
        except Exception as exc:
            self._fail_batch(conn, batch, exc)
            return []
        self._settle_all(done)
        return []

    def _run_alone(
        self, conn: sqlite3.Connection, transaction: Transaction, request: Request
    ) -> _Outcome:
        """Run the only call of a batch: its failure rolls back the transaction."""
        assert request.work is not None
        try:
            result = request.work(conn, transaction)
            transaction.flush(conn)
        except Exception as exc:
            self._rollback(conn)
            return request, None, self._call_error(exc)
        return request, result, None

    def _run_deferring(
        self, conn: sqlite3.Connection, transaction: Transaction, batch: list[Request]
    ) -> list[_Outcome] | _Rerun:
        """Run the calls without savepoints, their deferred rows flushed once at the end.

        A call that raises one of our errors without having changed a row fails
        alone. Any other failure undoes the transaction: a call that may have
        written fails now and the others run again; a failed flush, which no
        one call is to blame for, runs the whole batch again.
        """
        outcomes: list[_Outcome] = []
        for index, request in enumerate(batch):
            assert request.work is not None
            changes = conn.total_changes
            try:
                outcomes.append((request, request.work(conn, transaction), None))
            except Exception as exc:
                if transaction.flush_failed:  # a deferred write of some call failed
                    self._rollback(conn)
                    return _Rerun(batch)
                error = self._call_error(exc)
                if isinstance(exc, SessionStoreError) and conn.total_changes == changes:
                    outcomes.append((request, None, error))  # it wrote nothing
                    continue
                # It may have written part of itself: undo the transaction.
                self._rollback(conn)
                self._settle(request, None, error)
                return _Rerun(batch[:index] + batch[index + 1 :])
        try:
            transaction.flush(conn)
        except Exception:
            self._rollback(conn)
            return _Rerun(batch)
        return outcomes

    def _run_guarded(
        self, conn: sqlite3.Connection, transaction: Transaction, batch: list[Request]
    ) -> list[_Outcome] | _Rerun:
        """Run each call in its own SAVEPOINT, so that a failure undoes only that call.

        If a call's error makes SQLite abort the whole transaction even so, that
        call fails now and the others run again.
        """
        outcomes: list[_Outcome] = []
        for index, request in enumerate(batch):
            outcome = self._run_in_savepoint(conn, transaction, request)
            if not conn.in_transaction:  # its error made SQLite abort everything
                self._settle(*outcome)
                return _Rerun(batch[:index] + batch[index + 1 :])
            outcomes.append(outcome)
        return outcomes

    def _run_in_savepoint(
        self, conn: sqlite3.Connection, transaction: Transaction, request: Request
    ) -> _Outcome:
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

    def _fail_batch(self, conn: sqlite3.Connection, batch: list[Request], exc: Exception) -> None:
        """Undo the transaction and fail every call of ``batch``: nothing of it was written."""
        with contextlib.suppress(sqlite3.Error):
            self._rollback(conn)
        for request in batch:
            self._settle(request, None, self._batch_error(exc))

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

    def _settle_all(self, outcomes: list[_Outcome]) -> None:
        """Resolve every call's future, with one callback per event loop."""
        by_loop: dict[asyncio.AbstractEventLoop, list[Delivery]] = {}
        for request, result, error in outcomes:
            if request.loop is not None and request.future is not None:
                by_loop.setdefault(request.loop, []).append((request.future, result, error))
        for loop, deliveries in by_loop.items():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(deliver, deliveries)
