"""Opening the SQLite connections, busy retries, and where sqlite3 errors become ours.

``open_connection`` gives the writer a connection on a WAL file with the
schema migrated, and a reader a ``query_only`` one whose schema version it
checked. ``retry_busy`` waits out a busy database where SQLite does not honour
``busy_timeout``. ``translate_error`` maps a sqlite3 error to
``StoreUnavailableError`` or ``BackendError``, the original chained.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sessionstore._errors import (
    BackendError,
    SchemaVersionError,
    StoreUnavailableError,
    UnsupportedOperationError,
)
from sessionstore.backends.sqlite.schema import MIGRATIONS, SCHEMA_VERSION

__all__ = ["is_read_only", "open_connection", "read_only_uri", "retry_busy", "translate_error"]

T = TypeVar("T")

_UNAVAILABLE_CODES = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_PERM,
        sqlite3.SQLITE_AUTH,
        sqlite3.SQLITE_READONLY,
    }
)


def _is_busy(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    text = str(exc)
    return "locked" in text or "busy" in text


def translate_error(exc: BaseException, doing: str, path: str) -> BaseException:
    """Our error for ``exc`` raised while ``doing``; our own errors pass through."""
    if not isinstance(exc, sqlite3.Error):
        return exc
    code = getattr(exc, "sqlite_errorcode", None)
    kind = (
        StoreUnavailableError
        if code is not None and code & 0xFF in _UNAVAILABLE_CODES
        else BackendError
    )
    error = kind(f"SQLite failed to {doing} in {path!r}: {exc}")
    error.__cause__ = exc
    return error


def retry_busy(action: Callable[[], T], deadline_seconds: float) -> T:
    """Run ``action``, retrying with jittered backoff while SQLite reports busy/locked.

    Needed where SQLite does not honour busy_timeout (``PRAGMA journal_mode``,
    a reader during WAL recovery) and as a last resort around ``BEGIN IMMEDIATE``.
    """
    deadline = time.monotonic() + deadline_seconds
    delay = 0.001
    while True:
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 2, 0.05)


def _check_version(version: int, path: str) -> None:
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{path!r} has schema version {version}, but this sessionstore only knows "
            f"versions up to {SCHEMA_VERSION}; upgrade sessionstore to open it"
        )


def _migrate(conn: sqlite3.Connection, path: str) -> None:
    """Bring the schema to SCHEMA_VERSION inside BEGIN IMMEDIATE, re-checking the version there."""
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    _check_version(version, path)
    if version == SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Another process may have migrated while we waited for the write lock.
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        _check_version(version, path)
        for step in MIGRATIONS[version:]:
            for statement in step.split(";"):
                if statement.strip():
                    conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _writable(file: Path) -> bool:
    """Whether a connection can write ``file``: the file, and its directory (where the
    ``-wal`` and ``-shm`` are made) unless both exist already and can be written."""
    if not os.access(file, os.W_OK):
        return False
    if os.access(file.parent, os.W_OK):
        return True
    companions = [Path(f"{file}{suffix}") for suffix in ("-wal", "-shm")]
    return all(os.access(companion, os.W_OK) for companion in companions)


def read_only_uri(path: str) -> str | None:
    """The URI to open an existing ``path`` read-only by, or None if it can be written.

    A WAL file is read through its ``-shm`` index, which a reader must be able
    to create or find (https://sqlite.org/wal.html#readonly). On read-only
    media nothing can change the file, so a file without pending WAL content
    opens ``immutable`` (no ``-shm``, no locks); anywhere else, and when the
    media holds a ``-wal`` with content, ``mode=ro``.
    """
    file = Path(path).absolute()
    if not file.is_file() or _writable(file):
        return None
    uri = file.as_uri()
    wal = Path(f"{file}-wal")
    media_read_only = hasattr(os, "statvfs") and bool(os.statvfs(file.parent).f_flag & os.ST_RDONLY)
    if media_read_only and (not wal.exists() or wal.stat().st_size == 0):
        return f"{uri}?immutable=1"
    return f"{uri}?mode=ro"


def is_read_only(conn: sqlite3.Connection) -> bool:
    """Whether ``conn`` was opened read-only by ``open_connection`` (it is then ``query_only``)."""
    return bool(conn.execute("PRAGMA query_only").fetchone()[0])


def _check_readable(
    conn: sqlite3.Connection, path: str, busy_timeout: float, *, read_only: bool
) -> None:
    """A reader's check: the schema is this version's (a read-only file cannot be migrated)."""
    version: int = retry_busy(
        lambda: conn.execute("PRAGMA user_version").fetchone()[0], busy_timeout
    )
    _check_version(version, path)
    if version < SCHEMA_VERSION and read_only:
        raise UnsupportedOperationError(
            f"{path!r} is read-only and has schema version {version}; this sessionstore "
            f"reads version {SCHEMA_VERSION}: open it once where it can be written to upgrade it"
        )


def open_connection(
    path: str, *, synchronous: str, busy_timeout: float, writer: bool
) -> sqlite3.Connection:
    """Open ``path``; the writer also switches to WAL and migrates the schema (race-free).

    A file that cannot be written (or whose directory cannot) opens read-only
    (``read_only_uri``) for the writer too, which then only checks it: the
    store refuses writes itself, reads work.
    """
    uri = read_only_uri(path)
    try:
        return _connect(
            path, uri, synchronous=synchronous, busy_timeout=busy_timeout, writer=writer
        )
    except sqlite3.Error as exc:
        if uri is None or "mode=ro" not in uri or Path(f"{path}-shm").exists():
            raise
        error = StoreUnavailableError(
            f"{path!r} cannot be written here, so it was opened read-only, and SQLite failed to "
            f"read it ({exc}): a WAL file is read through its -shm file, which cannot be made "
            "in a directory that cannot be written (https://sqlite.org/wal.html#readonly); "
            "open it once with write access to its directory, or give that access"
        )
        raise error from exc


def _connect(
    path: str, uri: str | None, *, synchronous: str, busy_timeout: float, writer: bool
) -> sqlite3.Connection:
    conn = sqlite3.connect(
        path if uri is None else uri,
        timeout=busy_timeout,
        isolation_level=None,  # we issue BEGIN/COMMIT ourselves
        check_same_thread=False,
        cached_statements=64,
        uri=uri is not None,
    )
    try:
        conn.execute("PRAGMA cache_size = -16000")
        if writer and uri is None:
            # journal_mode may answer SQLITE_BUSY without waiting on busy_timeout
            # while another process creates or converts the file.
            def to_wal() -> None:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise sqlite3.OperationalError(f"database is locked (journal_mode={mode})")

            retry_busy(to_wal, busy_timeout)
            retry_busy(lambda: _migrate(conn, path), busy_timeout)
        else:
            conn.execute("PRAGMA query_only = 1")
            _check_readable(conn, path, busy_timeout, read_only=uri is not None)
        conn.execute(f"PRAGMA synchronous = {synchronous}")
    except BaseException:
        conn.close()
        raise
    return conn
