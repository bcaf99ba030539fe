"""A private event loop on a daemon thread, on which adapters run the store for sync callers.

Synchronous framework methods (LangChain's ``history.messages``) may be called
from a plain thread or from inside a running loop (a notebook, an async server
calling sync code); ``asyncio.run`` fails in the latter. Running the coroutine
on one long-lived loop of our own works in both and keeps the store's per-loop
connections warm between calls.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["run_sync"]

_T = TypeVar("_T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None
_pid = 0


def _running_loop() -> asyncio.AbstractEventLoop:
    global _loop, _thread, _pid
    with _lock:
        # A forked child (a pre-forking server's worker) has no thread: it starts its own.
        if _loop is None or _thread is None or _pid != os.getpid() or not _thread.is_alive():
            _loop, _pid = asyncio.new_event_loop(), os.getpid()
            _thread = threading.Thread(
                target=_loop.run_forever, name="sessionstore-sync", daemon=True
            )
            _thread.start()
        return _loop


def run_sync(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Run ``coroutine`` on the private loop and return its result (or raise its error)."""
    loop = _running_loop()
    if threading.current_thread() is _thread:
        coroutine.close()
        raise RuntimeError(
            "a synchronous sessionstore adapter method was called from its own loop; "
            "await the async method instead"
        )
    return asyncio.run_coroutine_threadsafe(coroutine, loop).result()
