"""The SQLite backend: sessions in one database file, shared by tasks, threads and processes."""

from __future__ import annotations

from sessionstore.backends.sqlite.store import SQLiteSessionStore

__all__ = ["SQLiteSessionStore"]
