"""The conformance suite: run the whole ``SessionStore`` contract against any backend.

(Work in progress: the suite itself lands with ``sessionstore.testing.suite``.)
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from sessionstore._store import SessionStore

__all__ = ["StoreFactory"]

#: A zero-argument callable returning an async context manager that yields a
#: fresh, empty, open store and closes it on exit.
StoreFactory = Callable[[], AbstractAsyncContextManager[SessionStore]]
