"""What the calls of one SQLite write transaction share (``Transaction``), and ``WriteState``.

The writer makes one ``Transaction`` per transaction and passes it to every
write it runs there; ``WriteState`` is what its state cache holds per session.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping
from typing import Any, Final, TypeAlias

from sessionstore._records import datetime_from_micros

__all__ = ["StateCache", "Transaction", "WriteState"]


class WriteState:
    """A session's write state: its ``sessions`` row as ``SELECT_WRITE_STATE`` reads it.

    The arguments follow that statement's columns, its attributes decoded.
    Every attribute is ``Final``, so mypy refuses a change: a new state is a
    new value. A slotted class rather than a
    NamedTuple or a frozen dataclass, because every append builds one and a
    slotted class builds and reads fastest.
    """

    __slots__ = (
        "attributes",
        "created_us",
        "key",
        "message_count",
        "small_run",
        "tail_start",
        "version",
    )

    def __init__(
        self,
        key: int,
        version: int,
        created_us: int,
        message_count: int,
        tail_start: int,
        small_run: int,
        attributes: Mapping[str, Any],
    ) -> None:
        #: The session's integer key, which its segment rows carry.
        self.key: Final = key
        self.version: Final = version
        self.created_us: Final = created_us
        self.message_count: Final = message_count
        #: The first message index of the small trailing run (``message_count`` if none).
        self.tail_start: Final = tail_start
        #: How many segments that run holds.
        self.small_run: Final = small_run
        #: The session's attributes, decoded (read-only).
        self.attributes: Final = attributes


#: The writer's cache: (namespace, session id) -> its write state as this connection's
#: commits left it.
StateCache: TypeAlias = dict[tuple[str, str], WriteState]


class Transaction:
    """What the calls of one group-commit transaction share: sequence, clock, cache, deferred rows.

    ``seq`` is the listing counter as the transaction read it; ``finish``
    stores the last number handed out before COMMIT. ``now_us``/``now`` is the
    time the transaction began: the same instant for every call it commits,
    read once rather than once per call.

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

    __slots__ = ("deferred", "first_seq", "flush_failed", "now", "now_us", "seq", "state_cache")

    def __init__(self, seq: int, state_cache: StateCache | None) -> None:
        self.first_seq = self.seq = seq
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
            return
        rows = self.deferred.get(statement)  # not setdefault: no empty list per call
        if rows is None:
            self.deferred[statement] = [row]
        else:
            rows.append(row)

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

    def finish(self, conn: sqlite3.Connection, set_seq: str) -> None:
        """Before COMMIT: run the deferred writes and store the listing counter if it moved."""
        self.flush(conn)
        if self.seq != self.first_seq:
            conn.execute(set_seq, (self.seq,))
            self.first_seq = self.seq
