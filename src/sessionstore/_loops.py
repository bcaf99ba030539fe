"""``PerLoop``: one resource (a connection pool) per event loop, for drivers whose pools are
bound to the loop that created them (redis-py, psycopg).

A store used from several loops (``asyncio.run`` per call, a framework's
``run_sync`` thread, five threads at once) gets a pool on each loop on first
use there. Each pool is closed on its own loop when that loop shuts down
(``asyncio.run`` returning): a task of ours that only waits is cancelled with
the loop's other tasks and closes the pool there, so no socket or pool task is
left on a dead loop.
``close`` closes each remaining pool on its own loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar

__all__ = ["PerLoop"]

_T = TypeVar("_T")

#: How long ``close`` waits for a pool on another, still running loop to close.
_CLOSE_TIMEOUT = 5.0


class PerLoop(Generic[_T]):
    """The resource of the running event loop, made by ``make`` on first use there."""

    def __init__(
        self,
        make: Callable[[], Coroutine[Any, Any, _T]],
        close: Callable[[_T], Coroutine[Any, Any, None]],
    ) -> None:
        self._make = make
        self._close = close
        self._items: dict[asyncio.AbstractEventLoop, _T] = {}
        self._guards: dict[asyncio.AbstractEventLoop, asyncio.Task[None]] = {}
        self._lock = threading.Lock()

    def current(self) -> _T | None:
        """The running loop's resource, or None when it has none yet (no await: hot path)."""
        return self._items.get(asyncio.get_running_loop())

    async def get(self) -> _T:
        """The running loop's resource, made now if it has none."""
        loop = asyncio.get_running_loop()
        item = self._items.get(loop)
        if item is not None:
            return item
        made = await self._make()
        with self._lock:
            existing = self._items.get(loop)
            if existing is None:
                for stale in [old for old in self._items if old.is_closed()]:
                    del self._items[stale]
                    self._guards.pop(stale, None)
                self._items[loop] = made
        if existing is not None:  # another task on this loop made one meanwhile
            await self._close(made)
            return existing
        self._guards[loop] = loop.create_task(self._close_at_loop_end(loop, made))
        return made

    async def _close_at_loop_end(self, loop: asyncio.AbstractEventLoop, item: _T) -> None:
        """Waits until cancelled (the loop ending, or ``close``), then closes ``item``.

        ``asyncio.run`` cancels every task of its loop and waits for them: this one
        then closes the pool, which also ends pool tasks (psycopg-pool's workers)
        that ignore a cancel, so the loop can end.
        """
        try:
            await loop.create_future()  # resolved by nobody: only a cancel ends the wait
        except asyncio.CancelledError:
            pass
        except GeneratorExit:  # the loop was dropped with this task pending: nothing runs there
            self._forget(loop, item)
            raise
        self._forget(loop, item)
        await self._close(item)

    def _forget(self, loop: asyncio.AbstractEventLoop, item: _T) -> None:
        with self._lock:
            if self._items.get(loop) is item:
                del self._items[loop]
            self._guards.pop(loop, None)

    def __len__(self) -> int:
        return len(self._items)

    async def close(self) -> None:
        """Close every resource, each on its own loop (those of closed loops are dropped)."""
        with self._lock:
            items, self._items = self._items, {}
            guards, self._guards = self._guards, {}
        here = asyncio.get_running_loop()
        for loop, item in items.items():
            guard = guards.get(loop)
            closing = _stop(guard) if guard is not None else self._close(item)
            if loop is here:
                await closing
            elif loop.is_running() and not loop.is_closed():
                future = asyncio.run_coroutine_threadsafe(closing, loop)
                try:
                    await asyncio.wait_for(asyncio.wrap_future(future), _CLOSE_TIMEOUT)
                except (TimeoutError, RuntimeError):
                    future.cancel()
            else:
                closing.close()  # its loop is gone: nothing can run there any more


async def _stop(guard: asyncio.Task[None]) -> None:
    """Cancel ``guard`` and wait while it closes its resource."""
    guard.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await guard
