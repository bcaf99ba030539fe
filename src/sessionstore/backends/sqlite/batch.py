"""What the calls of one SQLite group-commit transaction share: ``Batch``."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from sessionstore._records import datetime_from_micros

__all__ = ["Batch"]


class Batch:
    """What the calls of one group-commit transaction share: sequence, clock, cache, deferred rows.

    ``now_us``/``now`` is the time the transaction began (the same instant for
    every call it commits), read once rather than once per call.

    ``states`` is the writer's cache of session write-state rows (id -> the row
    ``SELECT_WRITE_STATE`` would return now), or None when calls must read and
    write the tables directly (a guarded re-run). While it is not None, rows
    given to ``write`` are deferred: each statement's rows run in one
    ``executemany`` at ``flush``, which the writer calls before COMMIT and a
    call calls before it reads or changes rows a deferred write touches.
    Statements flush in the order first deferred, so only writes whose order
    across statements does not matter may go through ``write``; and a call
    that raises one of our errors must do so before it writes or defers
    anything (the writer then takes it to have written nothing).
    """

    __slots__ = ("deferred", "flush_failed", "now", "now_us", "seq", "states")

    def __init__(self, seq: int, states: dict[str, Any] | None) -> None:
        self.seq = seq
        self.now_us = time.time_ns() // 1000
        self.now = datetime_from_micros(self.now_us)
        self.states = states
        self.deferred: dict[str, list[tuple[Any, ...]]] = {}
        self.flush_failed = False

    def next_seq(self) -> int:
        """The next listing sequence number (monotonic across processes under the lock)."""
        self.seq += 1
        return self.seq

    def write(self, conn: sqlite3.Connection, statement: str, row: tuple[Any, ...]) -> None:
        """Run ``statement`` with ``row`` now, or defer it to ``flush`` when ``states`` is set."""
        if self.states is None:
            conn.execute(statement, row)
        else:
            self.deferred.setdefault(statement, []).append(row)

    def flush(self, conn: sqlite3.Connection) -> None:
        """Run the deferred writes; if that fails, mark the batch (no one call is to blame)."""
        if not self.deferred:
            return
        try:
            for statement, rows in self.deferred.items():
                conn.executemany(statement, rows)
        except BaseException:
            self.flush_failed = True
            raise
        self.deferred.clear()
