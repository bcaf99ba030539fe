"""What the calls of one SQLite write transaction share (``Transaction``), and ``WriteState``.

The writer makes one ``Transaction`` per transaction and passes it to every
write it runs there; ``WriteState`` is what its state cache holds per session.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any, NamedTuple, TypeAlias

from sessionstore._records import datetime_from_micros

__all__ = ["StateCache", "Transaction", "WriteState"]


class WriteState(NamedTuple):
    """A session's write state: its ``sessions`` row as ``SELECT_WRITE_STATE`` reads it.

    The fields follow that statement's columns, so ``WriteState(*row)`` builds
    one from its row. A NamedTuple rather than a dataclass: every append builds
    one, and a NamedTuple builds as cheaply as a plain tuple.
    """

    #: The session's integer key, which its segment rows carry.
    key: int
    version: int
    created_us: int
    message_count: int
    #: The position the next segment takes.
    next_position: int
    #: The position of the first segment of the small trailing run.
    tail_start: int


#: The writer's cache: session id -> its write state as this connection's commits left it.
StateCache: TypeAlias = dict[str, WriteState]


class Transaction:
    """What the calls of one group-commit transaction share: sequence, clock, cache, deferred rows.

    ``now_us``/``now`` is the time the transaction began: the same instant for
    every call it commits, read once rather than once per call.

    ``state_cache`` is the writer's cache of session write states (each one
    what ``SELECT_WRITE_STATE`` would read now), or None when calls must read
    and write the tables directly (a guarded re-run). While it is not None,
    rows given to ``write`` are deferred: each statement's rows run in one
    ``executemany`` at ``flush``, which the writer calls before COMMIT and a
    call calls before it reads or changes rows a deferred write touches.
    Statements flush in the order first deferred, so only writes whose order
    across statements does not matter may go through ``write``; and a call
    that raises one of our errors must do so before it writes or defers
    anything (the writer then takes it to have written nothing).
    """

    __slots__ = ("deferred", "flush_failed", "now", "now_us", "seq", "state_cache")

    def __init__(self, seq: int, state_cache: StateCache | None) -> None:
        self.seq = seq
        self.now_us = time.time_ns() // 1000
        self.now = datetime_from_micros(self.now_us)
        self.state_cache = state_cache
        self.deferred: dict[str, list[tuple[Any, ...]]] = {}
        self.flush_failed = False

    def next_seq(self) -> int:
        """The next listing sequence number (monotonic across processes under the lock)."""
        self.seq += 1
        return self.seq

    def write(self, conn: sqlite3.Connection, statement: str, row: tuple[Any, ...]) -> None:
        """Run ``statement`` with ``row`` now, or defer it to ``flush`` while the cache is on."""
        if self.state_cache is None:
            conn.execute(statement, row)
        else:
            self.deferred.setdefault(statement, []).append(row)

    def flush(self, conn: sqlite3.Connection) -> None:
        """Run the deferred writes; if that fails, mark the transaction: no one call is to blame."""
        if not self.deferred:
            return
        try:
            for statement, rows in self.deferred.items():
                conn.executemany(statement, rows)
        except BaseException:
            self.flush_failed = True
            raise
        self.deferred.clear()
