"""``PostgresSessionStore``: the store class; its design is told in the package docstring."""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any, Literal, Self
from urllib.parse import urlsplit

from sessionstore._errors import InvalidArgumentError, SchemaVersionError
from sessionstore._loops import PerLoop
from sessionstore._options import (
    CONNECTION_OPTIONS,
    ConnectionOptions,
    require_driver,
    split_query_options,
)
from sessionstore._records import is_count
from sessionstore._rest import Encryption, make_codec
from sessionstore._store import SessionStore
from sessionstore.backends.postgres import schema as q
from sessionstore.backends.postgres.operations import PostgresOperations
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
_QUERY_OPTIONS = ("schema", "table_prefix", "prepare_threshold", *CONNECTION_OPTIONS)

#: The named statements, by the key ``_sql`` holds them under.
_TEMPLATES = {
    "create_schema": q.CREATE_SCHEMA_SQL,
    "create_migrations": q.CREATE_MIGRATIONS_TABLE_SQL,
    "current_version": q.CURRENT_VERSION_SQL,
    "record_version": q.RECORD_VERSION_SQL,
    "write": q.WRITE_SQL,
    "tail": q.TAIL_SQL,
    "fork": q.FORK_SQL,
    "pop": q.POP_SQL,
    "splice": q.SPLICE_SQL,
    "append_read": q.APPEND_READ_SQL,
    "attributes": q.ATTRIBUTES_SQL,
    "slice": q.SLICE_SQL,
    "get": q.GET_SQL,
    "list_asc": q.LIST_ASC_SQL,
    "list_desc": q.LIST_DESC_SQL,
    "scan_after": q.SCAN_AFTER_SQL,
    "count": q.COUNT_SQL,
    "namespaces": q.NAMESPACES_SQL,
    "delete": q.DELETE_SQL,
    "clear": q.CLEAR_SQL,
    "prune": q.PRUNE_SQL,
}


#: The name after the prefix of every object a store creates in its schema (tables, indexes,
#: sequences, functions, and the names PostgreSQL derives from them). ``tests/test_postgres.py``
#: checks this against what a store really creates.
OBJECT_SUFFIXES = (
    "sessions", "segments", "migrations", "seq", "sessions_seq", "sessions_ns_seq",
    "sessions_pkey", "key_seq", "sessions_key", "segments_pkey", "segments_v3",
    "migrations_pkey", "segments_v3_pkey", "segments_v3_key_fkey",
    "write", "restore", "row", "put", "cut", "finish", "pop", "tail", "fork", "splice",
)  # fmt: skip


def _colliding_endings(suffixes: tuple[str, ...]) -> tuple[str, ...]:
    """Prefix endings ``t`` for which ``p + t + y == p + x`` for two object names ``x``, ``y``.

    A prefix ending so would name one of its objects like another prefix's object
    in the same schema (``app_`` + ``sessions_seq`` is ``app_sessions_`` + ``seq``).
    """
    return tuple(
        sorted({x[: -len(y)] for x in suffixes for y in suffixes if x != y and x.endswith(y)})
    )


_COLLIDING_ENDINGS = _colliding_endings(OBJECT_SUFFIXES)


def _validate_prefix(value: object) -> str:
    prefix = _validate_identifier("table_prefix", value, _MAX_PREFIX_LENGTH)
    for ending in _COLLIDING_ENDINGS:
        if prefix.endswith(ending):
            raise InvalidArgumentError(
                f"table_prefix {prefix!r} ends with {ending!r}: its objects' names would be those "
                f"of the prefix {prefix[: -len(ending)]!r}'s objects in the same schema "
                f"(e.g. {prefix + 'seq'!r}); choose another prefix"
            )
    return prefix


def _check_min_connections(value: object, most: int) -> None:
    if not is_count(value) or value > most:  # type: ignore[operator]
        raise InvalidArgumentError(
            f"min_connections must be an int from 0 to max_connections ({most}), got {value!r}"
        )


def _validate_identifier(kind: str, value: object, max_length: int) -> str:
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise InvalidArgumentError(f"{kind} must match [A-Za-z_][A-Za-z0-9_]*, got {value!r}")
    if len(value) > max_length:
        raise InvalidArgumentError(
            f"{kind} {value!r} is {len(value)} characters, more than the {max_length} allowed"
        )
    return value


def _prepare_threshold(value: object) -> int | None:
    """None (never prepare: safe behind any pooler), or how many runs before preparing."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if value is None or (isinstance(value, int) and is_count(value)):
        return value
    raise InvalidArgumentError(f"prepare_threshold must be None or an int >= 0, got {value!r}")


def _lock_key(schema: str) -> int:
    """A stable signed 64-bit advisory-lock key for migrating ``schema``."""
    digest = hashlib.blake2b(f"sessionstore:{schema}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PostgresSessionStore(PostgresOperations, SessionStore):
    """Sessions in PostgreSQL tables named ``<table_prefix>*`` inside ``schema``.

    Give ``url``, a libpq connection string (``postgresql://user:pass@host:port/db?sslmode=...``
    or ``"host=... dbname=..."``; every libpq parameter passes through), or a ready
    ``psycopg_pool.AsyncConnectionPool`` as ``pool``. The store closes only what it
    created: a pool passed in must already be open and is left open by ``close()``;
    give it ``check=AsyncConnectionPool.check_connection`` so that, after a server
    restart, a dead idle connection is replaced before a write uses it (the pools
    the store creates check their idle connections themselves). Autocommit
    connections are fastest; a pool of non-autocommit connections works too.

    psycopg pools belong to the event loop that made them, so the store makes one
    pool per event loop it is used from (on first use there; ``close()`` closes
    each): any thread or loop may use it. A pool passed in serves its own loop
    only. Each pool the store creates keeps ``min_connections`` open and opens at
    most ``max_connections``; a call waits up to ``pool_timeout`` seconds for a free
    connection before StoreUnavailableError, and ``connect_timeout`` (seconds,
    counted whole by libpq, at least 2) bounds each connection attempt (None:
    the connection string's own ``connect_timeout``, if any). A URL's query may
    give ``max_connections``, ``pool_timeout``, ``connect_timeout``, ``schema``,
    ``table_prefix`` and ``prepare_threshold``; a value there overrides the argument.

    A URL may point at the server or at a pooler in transaction mode (PgBouncer):
    no state lives on a server connection between transactions. So the store's
    connections prepare no statement (``prepare_threshold=None``, psycopg's
    setting); on a direct connection, or PgBouncer 1.21+ with
    ``max_prepared_statements``, ``prepare_threshold=5`` (psycopg's default)
    makes loads faster (1.6-2x for 100 messages; appends and saves gain little).

    The schema (created if missing) and tables are migrated on open in one
    transaction under a transaction-scoped advisory lock (which a transaction
    pooler keeps), so many processes may open the same store at once. Several
    applications can share one database by using different prefixes or schemas.

    ``encryption`` (an ``Encryption``) and ``compression="zstd"`` seal the message
    segments and attributes the store writes (see the README's "Data at rest");
    ids, namespaces, counts, timestamps and versions stay readable for listing.
    """

    supports_restore = True
    supports_cursor_scan = True
    #: A write's segments travel as one ``bytea[]`` parameter, a single value that
    #: PostgreSQL caps at 1 GiB; half leaves room for the array's overhead.
    max_write_bytes = 512 * 1024 * 1024

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
        prepare_threshold: int | None = None,
        encryption: Encryption | None = None,
        compression: Literal["zstd"] | None = None,
    ) -> None:
        require_driver(
            DRIVER_MISSING, "PostgresSessionStore", "psycopg 3 and psycopg-pool", "postgres"
        )
        if (url is None) == (pool is None):
            raise InvalidArgumentError(
                "PostgresSessionStore needs exactly one of a connection string or pool="
            )
        self._codec = make_codec(encryption, compression)
        query: dict[str, str] = {}
        if isinstance(url, str) and urlsplit(url).scheme.lower() in _SCHEMES:
            url, query = split_query_options(url, _QUERY_OPTIONS)
        schema = query.get("schema", schema)
        table_prefix = query.get("table_prefix", table_prefix)
        self._schema = _validate_identifier("schema", schema, _MAX_SCHEMA_LENGTH)
        self._prefix = _validate_prefix(table_prefix)
        threshold = _prepare_threshold(query.get("prepare_threshold", prepare_threshold))
        options = ConnectionOptions.checked(max_connections, pool_timeout, connect_timeout, query)
        _check_min_connections(min_connections, options.max_connections)

        def connections() -> PostgresConnections:
            return PostgresConnections(
                url,
                pool,
                name=f"sessionstore-{self._prefix}",
                options=options,
                min_connections=min_connections,
                prepare_threshold=threshold,
            )

        # Checks the connection string now; stays the pool of a caller-provided pool.
        self._connections = connections()
        self._per_loop: PerLoop[PostgresConnections] | None = None
        if pool is None:  # psycopg pools belong to one event loop: one per loop

            async def make() -> PostgresConnections:
                made = connections()
                await made.open()
                return made

            async def close(made: PostgresConnections) -> None:
                await made.close()

            self._per_loop = PerLoop(make, close)
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
            "seq_index_qualified": name("sessions_seq"),
            "ns_seq_index": sql.Identifier(self._prefix + "sessions_ns_seq"),
            "sessions_pkey": sql.Identifier(self._prefix + "sessions_pkey"),
            "key_seq": name("key_seq"),
            "key_seq_name": sql.Literal(f'"{self._schema}"."{self._prefix}key_seq"'),
            "key_unique": sql.Identifier(self._prefix + "sessions_key"),
            "segments_new": name("segments_v3"),
            "segments_bare": sql.Identifier(self._prefix + "segments"),
            "write_fn": name("write"),
            "restore_fn": name("restore"),
            "row_fn": name("row"),
            "put_fn": name("put"),
            "cut_fn": name("cut"),
            "finish_fn": name("finish"),
            "pop_fn": name("pop"),
            "tail_fn": name("tail"),
            "fork_fn": name("fork"),
            "splice_fn": name("splice"),
            "seq_name": sql.Literal(f'"{self._schema}"."{self._prefix}seq"'),
            "merge_limit": sql.Literal(q.MERGE_LIMIT_BYTES),
        }
        composed = {key: sql.SQL(text).format(**fields) for key, text in _TEMPLATES.items()}
        for version, text in enumerate(q.MIGRATIONS, start=1):
            composed[f"migration_{version}"] = sql.SQL(text).format(**fields)
        return composed

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        encryption: Encryption | None = None,
        compression: Literal["zstd"] | None = None,
    ) -> Self:
        """Open from ``postgresql://`` or ``postgres://`` (connects on first use).

        The store's own options may be query parameters; every other parameter goes to libpq.
        """
        return cls(url, encryption=encryption, compression=compression)

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

    async def _conns(self) -> PostgresConnections:
        """The connections of the running event loop (made on first use there)."""
        per_loop = self._per_loop
        if per_loop is None:
            return self._connections
        return per_loop.current() or await per_loop.get()

    async def _open(self) -> None:
        if self._per_loop is None:
            await self._connections.open()
        try:
            await self._migrate()
        except BaseException:
            await self._close()
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
                    # Several statements: never prepared, whatever prepare_threshold says.
                    await conn.execute(self._sql[f"migration_{version}"], prepare=False)
                    await conn.execute(self._sql["record_version"], [version])

        conns = await self._conns()
        await conns.run("open the store", run, idempotent=True)

    async def _close(self) -> None:
        if self._per_loop is None:
            await self._connections.abandon()
        else:
            await self._per_loop.close()
