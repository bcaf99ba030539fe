"""Opening and closing a store, from any thread and any event loop.

The first call opens the store, whichever loop it runs on; calls that arrive
on other loops or threads meanwhile wait for that open (a thread-safe
future, not an ``asyncio.Lock``, which would bind the store to one loop). An
open that fails is retried by the next call.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from types import TracebackType
from typing import Self

from sessionstore._errors import StoreClosedError
from sessionstore._hooks import StoreHooks

__all__ = ["StoreLifecycle"]


class StoreLifecycle(StoreHooks):
    """``open``/``close`` and the async context manager; ``_open``/``_close`` are the hooks."""

    _closed: bool = False
    _opened: bool = False
    _opening: concurrent.futures.Future[None] | None = None
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
                waiting = self._opening
                if waiting is None:
                    mine = self._opening = concurrent.futures.Future()
            if waiting is not None:
                try:
                    await asyncio.wrap_future(waiting)
                except Exception:
                    continue
                continue
            try:
                await self._open()
            except BaseException as exc:
                with self._state_lock:
                    self._opening = None
                mine.set_exception(exc if isinstance(exc, Exception) else RuntimeError("cancelled"))
                raise
            self._opened = True
            mine.set_result(None)
        self._ensure_not_closed()

    async def close(self) -> None:
        """Release connections and files. Idempotent; any later call raises StoreClosedError."""
        if self._closed:
            return
        self._closed = True
        await self._close()

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
