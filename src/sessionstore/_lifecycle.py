"""Opening and closing a store, from any thread and any event loop.

The first call opens the store, whichever loop it runs on; calls that arrive
on other loops or threads meanwhile wait for that open (a thread-safe
future, not an ``asyncio.Lock``, which would bind the store to one loop). An
open that fails is retried by the next call.

The open runs as a task of its own: a caller that is cancelled or times out
stops waiting, but never cuts an open half way (which would leave threads or
connections nobody owns), and the next call waits for that same open instead
of starting another. ``close()`` during an open waits for it, then closes what
it opened; the callers that were waiting get StoreClosedError.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self, TypeVar

from sessionstore._errors import StoreClosedError, StoreUnavailableError
from sessionstore._hooks import StoreHooks

__all__ = ["StoreLifecycle"]

_T = TypeVar("_T")
#: How long ``close()`` lets calls under way finish before it releases connections anyway.
_DRAIN_SECONDS = 30.0


def _waiter(opening: concurrent.futures.Future[None]) -> asyncio.Future[None]:
    """An awaitable of ``opening`` whose failure counts as seen even if its caller gave up.

    (A caller cancelled while the open fails would otherwise leave asyncio to log
    "Future exception was never retrieved" for the open's error.)
    """
    waiter = asyncio.wrap_future(opening)
    waiter.add_done_callback(lambda done: done.cancelled() or done.exception())
    return waiter


class StoreLifecycle(StoreHooks):
    """``open``/``close`` and the async context manager; ``_open``/``_close`` are the hooks."""

    _closed: bool = False
    _opened: bool = False
    _opening: concurrent.futures.Future[None] | None = None
    _open_task: asyncio.Task[None] | None = None
    _calls: int = 0  # calls between _enter and _leave: close() lets them finish
    _state_lock = threading.Lock()  # shared by all stores: held only to swap ``_opening``

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def open(self) -> None:
        """Connect or create storage now; otherwise the first call does it. Idempotent."""
        while not self._opened:
            self._ensure_not_closed()
            with self._state_lock:
                opening = self._opening
                if opening is None:
                    opening = self._opening = concurrent.futures.Future()
                    opening.set_running_or_notify_cancel()  # a waiter's cancel cannot cancel it
                    self._open_task = asyncio.get_running_loop().create_task(
                        self._run_open(opening)
                    )
            try:
                await asyncio.shield(_waiter(opening))
            except Exception:
                if opening.done() and opening.exception() is not None and not self._closed:
                    raise
        self._ensure_not_closed()

    async def _run_open(self, opening: concurrent.futures.Future[None]) -> None:
        try:
            await self._open()
        except BaseException as exc:  # handed to every waiter through ``opening``
            with self._state_lock:
                self._opening = None
            opening.set_exception(
                exc
                if isinstance(exc, Exception)
                else StoreUnavailableError(
                    f"{type(self).__name__}: opening was interrupted ({type(exc).__name__}: "
                    "its event loop stopped); the next call opens it again"
                )
            )
            return
        self._opened = True
        opening.set_result(None)

    async def close(self) -> None:
        """Release connections and files. Idempotent; any later call raises StoreClosedError.

        Calls already under way finish first (for up to ``_DRAIN_SECONDS``), so
        none is cut half way: each either completed or raised StoreClosedError
        without touching storage. An open in progress is waited for too, so
        nothing it makes outlives the store.
        """
        if self._closed:
            return
        self._closed = True
        opening = self._opening
        if opening is not None and not opening.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(_waiter(opening))
        deadline = time.monotonic() + _DRAIN_SECONDS
        # Calls run on any thread and loop, so no asyncio.Event can tell this one.
        while self._calls and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.002)
        await self._close()

    def _enter(self) -> None:
        """Count a call in; StoreClosedError once ``close()`` has begun."""
        with self._state_lock:
            if self._closed:
                raise StoreClosedError(f"{type(self).__name__} is closed")
            self._calls += 1

    def _leave(self) -> None:
        with self._state_lock:
            self._calls -= 1

    async def _run_hook(self, hook: Callable[..., Awaitable[_T]], *args: Any) -> _T:
        """``await hook(*args)`` once the store is open, counted in for ``close()``."""
        self._enter()
        try:
            if self._closed or not self._opened:
                await self._ready()
            return await hook(*args)
        finally:
            self._leave()

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._closed

    def _ensure_not_closed(self) -> None:
        if self._closed:
            raise StoreClosedError(f"{type(self).__name__} is closed")

    async def _ready(self) -> None:
        if self._closed or not self._opened:
            await self.open()

    async def _open(self) -> None:
        """Connect / create storage. Called once, before the first operation."""

    async def _close(self) -> None:
        """Release resources. Called once."""
