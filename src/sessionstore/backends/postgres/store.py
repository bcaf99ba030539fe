"""``PostgresSessionStore``: the store class; its design is told in the package docstring."""

from __future__ import annotations

import builtins
import hashlib
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlsplit

from sessionstore._errors import (
    BackendError,
    ConflictError,
    InvalidArgumentError,
    SchemaVersionError,
)
from sessionstore._messages import EncodedMessages, Message, decode_segments
from sessionstore._options import (
    CONNECTION_OPTIONS,
    ConnectionOptions,
    require_driver,
    split_query_options,
)
from sessionstore._records import (
    ListOptions,
    SessionId,
    SessionRecord,
    is_count,
    micros_from_datetime,
    record_from_stored,
    utc_now,
)
from sessionstore._store import SessionStore
from sessionstore.backends.postgres import schema as q
from sessionstore.backends.postgres.pool import DRIVER_MISSING, PostgresConnections

if DRIVER_MISSING is None:  # otherwise the constructor raises MissingDependencyError
    from psycopg import sql

if TYPE_CHECKING:
    from psycopg import AsyncConnection
    from psycopg_pool import AsyncConnectionPool

__all__ = ["PostgresSessionStore"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAX_SCHEMA_LENGTH = 63  # PostgreSQL's NAMEDATALEN - 1
_MAX_PREFIX_LENGTH = 40  # leaves room for the longest suffix ("migrations")
_SCHEMES = ("postgresql", "postgres")
#: The URL query parameters the store takes for itself; every other one goes to libpq.
_QUERY_OPTIONS = ("schema", "table_prefix", *CONNECTION_OPTIONS)


def _validate_identifier(kind: str, value: object, max_length: int) -> str:
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise InvalidArgumentError(f"{kind} must match [A-Za-z_][A-Za-z0-9_]*, got {value!r}")
    if len(value) > max_length:
        raise InvalidArgumentError(
            f"{kind} {value!r} is {len(value)} characters, more than the {max_length} allowed"
        )
    return value


def _lock_key(schema: str) -> int:
    """A stable signed 64-bit advisory-lock key for migrating ``schema``."""
    digest = hashlib.blake2b(f"sessionstore:{schema}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PostgresSessionStore(SessionStore):
    """Sessions in PostgreSQL tables named ``<table_prefix>*`` inside ``schema``.

    Give ``url``, a libpq connection string (``postgresql://user:pass@host:port/db?sslmode=...``
    or ``"host=... dbname=..."``; every libpq parameter passes through), or a ready
    ``psycopg_pool.AsyncConnectionPool`` as ``pool``. The store closes only what it
    created: a pool passed in must already be open and is left open by ``close()``;
    give it ``check=AsyncConnectionPool.check_connection`` so that, after a server
    restart, a dead idle connection is replaced before a write uses it (the pools
    the store creates check their idle connections themselves). Autocommit
    connections are fastest; a pool of non-autocommit connections works too.

    The pool the store creates keeps ``min_connections`` open and opens at most
    ``max_connections``; a call waits up to ``pool_timeout`` seconds for a free
    connection before StoreUnavailableError, and ``connect_timeout`` (seconds,
    counted whole by libpq, at least 2) bounds each connection attempt (None:
    the connection string's own ``connect_timeout``, if any). A URL's query may
    give ``max_connections``, ``pool_timeout``, ``connect_timeout``, ``schema``
    and ``table_prefix``; a value there overrides the argument.

    The schema (created if missing) and tables are migrated on open under an
    advisory lock, so many processes may open the same store at once. Several
    applications can share one database by using different prefixes or schemas.
    """

    supports_restore = True
    supports_cursor_scan = True

    def __init__(
        self,
        url: str | None = None,
        *,
        pool: AsyncConnectionPool[Any] | None = None,
        schema: str = "public",
        table_prefix: str = "sessionstore_",
        min_connections: int = 1,
        max_connections: int = 10,
        pool_timeout: float = 10.0,
        connect_timeout: float | None = None,
    ) -> None:
        require_driver(
            DRIVER_MISSING, "PostgresSessionStore", "psycopg 3 and psycopg-pool", "postgres"
        )
        if (url is None) == (pool is None):
            raise InvalidArgumentError(
                "PostgresSessionStore needs exactly one of a connection string or pool="
            )
        query: dict[str, str] = {}
        if isinstance(url, str) and urlsplit(url).scheme.lower() in _SCHEMES:
            url, query = split_query_options(url, _QUERY_OPTIONS)
        schema = query.get("schema", schema)
        table_prefix = query.get("table_prefix", table_prefix)
        self._schema = _validate_identifier("schema", schema, _MAX_SCHEMA_LENGTH)
        self._prefix = _validate_identifier("table_prefix", table_prefix, _MAX_PREFIX_LENGTH)
        options = ConnectionOptions.checked(max_connections, pool_timeout, connect_timeout, query)
        if not is_count(min_connections) or min_connections > options.max_connections:
            raise InvalidArgumentError(
                f"min_connections must be an int from 0 to max_connections "
                f"({options.max_connections}), got {min_connections!r}"
            )
        self._connections = PostgresConnections(
            url,
            pool,
            name=f"sessionstore-{self._prefix}",
            options=options,
            min_connections=min_connections,
        )
        self._sql = self._compose()

    def _compose(self) -> dict[str, sql.Composed]:
        """Every statement with the schema's and prefix's identifiers filled in."""

        def name(suffix: str) -> sql.Identifier:
            return sql.Identifier(self._schema, self._prefix + suffix)

        fields: dict[str, sql.Composable] = {
            "schema": sql.Identifier(self._schema),
            "sessions": name("sessions"),
            "segments": name("segments"),
            "migrations": name("migrations"),
            "seq": name("seq"),
            "seq_index": sql.Identifier(self._prefix + "sessions_seq"),
            "write_fn": name("write"),
            "restore_fn": name("restore"),
            "seq_name": sql.Literal(f'"{self._schema}"."{self._prefix}seq"'),
            "merge_limit": sql.Literal(q.MERGE_LIMIT_BYTES),
        }
        templates = {
            "create_schema": q.CREATE_SCHEMA_SQL,
            "create_migrations": q.CREATE_MIGRATIONS_TABLE_SQL,
            "current_version": q.CURRENT_VERSION_SQL,
            "record_version": q.RECORD_VERSION_SQL,
            "write": q.WRITE_SQL,
            "restore": q.RESTORE_SQL,
            "load": q.LOAD_SQL,
            "get": q.GET_SQL,
            "list_asc": q.LIST_ASC_SQL,
            "list_desc": q.LIST_DESC_SQL,
            "scan_after": q.SCAN_AFTER_SQL,
            "count": q.COUNT_SQL,
            "delete": q.DELETE_SQL,
            "prune": q.PRUNE_SQL,
        }
        composed = {key: sql.SQL(text).format(**fields) for key, text in templates.items()}
        for version, text in enumerate(q.MIGRATIONS, start=1):
            composed[f"migration_{version}"] = sql.SQL(text).format(**fields)
        return composed

    @classmethod
    def from_url(cls, url: str) -> Self:
        """Open from ``postgresql://`` or ``postgres://`` (connects on first use).

        The store's own options may be query parameters; every other parameter goes to libpq.
        """
        return cls(url)

    def __repr__(self) -> str:
        return (
            f"PostgresSessionStore({self._connections.where!r}, schema={self._schema!r}, "
            f"table_prefix={self._prefix!r})"
        )

    @property
    def schema(self) -> str:
        """The PostgreSQL schema holding this store's tables."""
        return self._schema

    @property
    def table_prefix(self) -> str:
        """The prefix of this store's table, sequence and function names."""
        return self._prefix

    # -- lifecycle -----------------------------------------------------------------

    async def _open(self) -> None:
        await self._connections.open()
        try:
            await self._migrate()
        except BaseException:
            await self._connections.abandon()
            raise

    async def _migrate(self) -> None:
        """Create or upgrade the tables, one process at a time."""
        known = len(q.MIGRATIONS)

        async def run(conn: AsyncConnection[Any]) -> None:
            async with conn.transaction():
                await conn.execute(q.LOCK_SQL, [_lock_key(self._schema)])
                cursor = await conn.execute(q.SCHEMA_EXISTS_SQL, [self._schema])
                if await cursor.fetchone() is None:
                    await conn.execute(self._sql["create_schema"])
                await conn.execute(self._sql["create_migrations"])
                cursor = await conn.execute(self._sql["current_version"])
                row = await cursor.fetchone()
                current = 0 if row is None else int(row[0])
                if current > known:
                    raise SchemaVersionError(
                        f"tables {self._schema}.{self._prefix}* are at schema version "
                        f"{current}, but this sessionstore knows only up to {known}; "
                        "upgrade sessionstore"
                    )
                for version in range(current + 1, known + 1):
                    await conn.execute(self._sql[f"migration_{version}"])
                    await conn.execute(self._sql["record_version"], [version])

        await self._connections.run("open the store", run, idempotent=True)

    async def _close(self) -> None:
        await self._connections.close()

    # -- the contract ----------------------------------------------------------------

    async def _write(
        self,
        session_id: SessionId,
        messages: EncodedMessages,
        expected_version: int | None,
        *,
        replace: bool,
    ) -> SessionRecord:
        now = micros_from_datetime(utc_now())
        params = (
            session_id,
            messages.payload,
            messages.count,
            now,
            expected_version,
            replace,
        )
        action = f"{'save' if replace else 'append to'} session {session_id!r}"
        return await self._call_write("write", params, session_id, expected_version, action)

    async def _call_write(
        self,
        query: str,
        params: tuple[Any, ...],
        session_id: SessionId,
        expected_version: int | None,
        action: str,
    ) -> SessionRecord:
        """Run a write function (``query`` names its SQL) and turn its row into a record."""

        async def work(conn: AsyncConnection[Any]) -> tuple[Any, ...] | None:
            cursor = await conn.execute(self._sql[query], params)
            return await cursor.fetchone()

        # Never retried: a write whose connection dropped may have committed.
        row = await self._connections.run(action, work, idempotent=False)
        if row is None:  # pragma: no cover - the function always returns a row
            raise BackendError(f"cannot {action}: the write function returned nothing")
        ok, count, created, updated, version = row
        if not ok:
            assert expected_version is not None
            raise ConflictError(session_id, expected=expected_version, actual=version)
        return record_from_stored(session_id, (count, created, updated, version))

    async def _save(
        self, session_id: SessionId, messages: EncodedMessages, expected_version: int | None
    ) -> SessionRecord:
        return await self._write(session_id, messages, expected_version, replace=True)

    async def _append(
        self, session_id: SessionId, messages: EncodedMessages, expected_version: int | None
    ) -> SessionRecord:
        return await self._write(session_id, messages, expected_version, replace=False)

    async def _restore(
        self,
        session_id: SessionId,
        messages: EncodedMessages,
        expected_version: int | None,
        created_at: datetime,
        updated_at: datetime,
    ) -> SessionRecord:
        params = (
            session_id,
            messages.payload,
            messages.count,
            micros_from_datetime(created_at),
            micros_from_datetime(updated_at),
            expected_version,
        )
        action = f"restore session {session_id!r}"
        return await self._call_write("restore", params, session_id, expected_version, action)

    async def _load(self, session_id: SessionId) -> builtins.list[Message] | None:
        rows = await self._connections.rows(
            f"load session {session_id!r}", self._sql["load"], (session_id,), binary=True
        )
        if not rows:
            return None
        return decode_segments(session_id, [row[0] for row in rows])

    async def _get(self, session_id: SessionId) -> SessionRecord | None:
        rows = await self._connections.rows(
            f"get session {session_id!r}", self._sql["get"], (session_id,)
        )
        return record_from_stored(session_id, rows[0]) if rows else None

    async def _list(self, options: ListOptions) -> builtins.list[SessionRecord]:
        query = self._sql["list_desc" if options.newest_first else "list_asc"]
        rows = await self._connections.rows("list sessions", query, (options.limit, options.offset))
        return [record_from_stored(row[0], row[1:]) for row in rows]

    async def _scan_page(self, after: int, limit: int) -> builtins.list[tuple[int, SessionRecord]]:
        # seq comes from a sequence, so an in-flight write may commit a smaller seq
        # than one already read; but a write only ever raises a session's seq and
        # each row version is visible in exactly one place, so no session that
        # exists throughout is passed over (one created meanwhile may be).
        rows = await self._connections.rows(
            "scan sessions", self._sql["scan_after"], (after, limit)
        )
        return [(int(row[0]), record_from_stored(row[1], row[2:])) for row in rows]

    async def _count(self) -> int:
        rows = await self._connections.rows("count sessions", self._sql["count"], ())
        return int(rows[0][0])

    async def _delete(self, session_id: SessionId) -> None:
        async def work(conn: AsyncConnection[Any]) -> None:
            await conn.execute(self._sql["delete"], (session_id,))

        await self._connections.run(f"delete session {session_id!r}", work, idempotent=True)

    async def _prune(self, updated_before: datetime | None, keep_newest: int | None) -> int:
        params = {
            "keep": keep_newest,
            "before": None if updated_before is None else micros_from_datetime(updated_before),
        }

        async def work(conn: AsyncConnection[Any]) -> int:
            cursor = await conn.execute(self._sql["prune"], params)
            return cursor.rowcount

        # Not retried: a prune that committed before the connection dropped would
        # report 0 the second time.
        return await self._connections.run("prune sessions", work, idempotent=False)
