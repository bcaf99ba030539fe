"""The threads that own the SQLite connections: ``ConnectionThread`` and the ``Reader``.

A ``ConnectionThread`` opens its connection on its own thread and serves a
queue of ``Request``s; results travel back to each caller's loop with
``call_soon_threadsafe``. The ``Reader`` runs one read at a time; the writer
(``writer.GroupCommitWriter``) runs many writes per transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, TypeAlias, TypeVar

from sessionstore._errors import StoreClosedError
from sessionstore.backends.sqlite.connection import translate_error

__all__ = ["ConnectionThread", "Delivery", "Reader", "Request", "deliver"]

T = TypeVar("T")

#: A result for a caller's future: the future, the result, or the error to raise instead.
Delivery: TypeAlias = tuple[asyncio.Future[Any], Any, BaseException | None]


def deliver(deliveries: list[Delivery]) -> None:
    """Resolve the futures, on their loop (a callback of ``call_soon_threadsafe``)."""
    for future, result, error in deliveries:
        if future.done():  # the caller was cancelled; the write still happened
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)


class Request:
    """One call queued for a thread: its work, and the future on the loop that awaits it.

    ``stop`` asks the thread to finish; ``work`` None with ``stop`` False is the
    thread's startup, resolved once the connection is open.
    """

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


def waited_for(work: Callable[..., Any] | None, *, stop: bool = False) -> Request:
    """A request whose caller, on the running loop, awaits its ``future``."""
    loop = asyncio.get_running_loop()
    return Request(work, loop, loop.create_future(), stop)


class ConnectionThread:
    """A daemon thread owning one connection and serving a queue of requests."""

    def __init__(self, name: str, path: str, connect: Callable[[], sqlite3.Connection]) -> None:
        self.path = path
        self._connect = connect
        self._queue: queue.SimpleQueue[Request] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._started = False
        # Guards the two flags below against the thread's exit: a stop is asked at
        # most once, and never of a thread that ended (nobody would answer it).
        self._lock = threading.Lock()
        self._stop_asked = False
        self._ended = False
        self._end_waiters: list[Request] = []  # the stop() calls to answer once it ended

    def start(self) -> asyncio.Future[None]:
        """Start the thread; the future resolves once the connection is open."""
        startup = waited_for(None)
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
        self._queue.put(Request(work, loop, future, False))
        return future

    async def stop(self) -> None:
        """Finish everything queued before this call, close the connection, end the thread.

        Safe whatever state the thread is in: never started, still opening its
        connection, asked to stop already (``stop_nowait``), or ended.
        """
        if not self._started:
            return
        loop = asyncio.get_running_loop()
        ended: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if not self._ended:
                self._end_waiters.append(Request(None, loop, ended, True))
                if not self._stop_asked:  # its answer carries a failure to close
                    self._stop_asked = True
                    self._queue.put(Request(None, loop, ended, True))
            else:
                ended.set_result(None)
        try:
            await ended
        except Exception:  # closing the connection failed: the thread ends all the same
            self._thread.join()
            raise
        self._thread.join()  # past its last statement already

    def stop_nowait(self) -> None:
        """Ask the thread to close its connection and end, without waiting.

        For ``__del__`` and an open cut short: needs no event loop, and whatever
        the thread is doing (even still connecting), it ends after that.
        """
        with self._lock:
            if self._started and not self._stop_asked and not self._ended:
                self._stop_asked = True
                self._queue.put(Request(None, None, None, True))

    @property
    def alive(self) -> bool:
        """Whether the thread is running (started and not yet ended)."""
        return self._thread.is_alive()

    @staticmethod
    def _settle(request: Request, result: Any, error: BaseException | None) -> None:
        if request.loop is None or request.future is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
            request.loop.call_soon_threadsafe(deliver, [(request.future, result, error)])

    def _run(self) -> None:
        startup = self._queue.get()
        try:
            conn = self._connect()
            try:
                self._connected(conn)
            except BaseException:
                conn.close()
                raise
        except BaseException as exc:
            self._settle(startup, None, translate_error(exc, "open the database", self.path))
            self._end()
            return
        self._settle(startup, None, None)
        try:
            self._serve(conn)
        finally:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
            self._end()

    def _end(self) -> None:
        """Mark the thread ended; answer whatever is still queued (a stop: done)."""
        with self._lock:
            self._ended = True
            waiters, self._end_waiters = self._end_waiters, []
        for waiter in waiters:
            self._settle(waiter, None, None)
        while True:
            try:
                request = self._queue.get_nowait()
            except queue.Empty:
                return
            error = None if request.stop else StoreClosedError(f"{self.path!r} is closed")
            self._settle(request, None, error)

    def _connected(self, conn: sqlite3.Connection) -> None:
        """Look at the new connection, before ``start()`` returns (a hook)."""

    def _serve(self, conn: sqlite3.Connection) -> None:
        raise NotImplementedError

    def _finish(self, conn: sqlite3.Connection, request: Request) -> None:
        error: BaseException | None = None
        try:
            conn.close()
        except sqlite3.Error as exc:
            error = translate_error(exc, "close the database", self.path)
        self._settle(request, None, error)


class Reader(ConnectionThread):
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
