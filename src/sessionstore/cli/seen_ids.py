"""``SeenIds``: the session ids a command has already met, each with a number, in bounded memory.

``export``, ``copy`` and ``doctor`` read every session once while other writers
may move sessions they already read to the end of the listing: remembering
every id read keeps such a session from being read twice. ``import`` remembers
the line each id was first on, to report duplicates and then to check the store
for each id before writing. A store may hold millions of sessions, so past
``in_memory`` ids they move to a private temporary SQLite database (on disk once
its page cache is full, gone when closed), which keeps the process small.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from types import TracebackType
from typing import Self

__all__ = ["IN_MEMORY", "SeenIds"]

#: Ids kept in a Python dict before they move to the temporary database.
IN_MEMORY = 100_000


def _number(item: tuple[str, int]) -> int:
    return item[1]


class SeenIds:
    """Ids, each with the number it was first given; use it as a context manager."""

    def __init__(self, in_memory: int = IN_MEMORY) -> None:
        self._limit = in_memory
        self._memory: dict[str, int] = {}
        self._database: sqlite3.Connection | None = None
        self._count = 0

    def setdefault(self, session_id: str, number: int) -> int:
        """The number ``session_id`` was first given; ``number`` if it is new (then kept)."""
        if self._database is not None:
            cursor = self._database.execute(
                "INSERT OR IGNORE INTO seen VALUES (?, ?)", (session_id, number)
            )
            if cursor.rowcount == 1:
                self._count += 1
                return number
            row = self._database.execute(
                "SELECT number FROM seen WHERE id = ?", (session_id,)
            ).fetchone()
            first: int = row[0]
            return first
        known = self._memory.get(session_id)
        if known is not None:
            return known
        self._memory[session_id] = number
        self._count += 1
        if self._count > self._limit:
            self._spill()
        return number

    def __len__(self) -> int:
        return self._count

    def in_order(self) -> Iterator[tuple[str, int]]:
        """Every id with the number it was first given, in the order of the numbers."""
        if self._database is None:
            return iter(sorted(self._memory.items(), key=_number))
        return iter(self._database.execute("SELECT id, number FROM seen ORDER BY number"))

    @property
    def on_disk(self) -> bool:
        """Whether the ids have moved to the temporary database."""
        return self._database is not None

    def _spill(self) -> None:
        # "" = a private temporary database, deleted when the connection closes.
        database = sqlite3.connect("", isolation_level=None)
        database.execute("PRAGMA cache_size = -8000")  # spill to its file past 8 MB
        database.execute("PRAGMA journal_mode = OFF")
        database.execute("PRAGMA synchronous = OFF")
        database.execute("CREATE TABLE seen (id TEXT PRIMARY KEY, number INTEGER) WITHOUT ROWID")
        database.execute("BEGIN")
        database.executemany("INSERT INTO seen VALUES (?, ?)", self._memory.items())
        database.execute("COMMIT")
        self._database = database
        self._memory = {}

    def close(self) -> None:
        """Forget everything; deletes the temporary database."""
        self._memory = {}
        if self._database is not None:
            self._database.close()
            self._database = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
