"""``PostgresSessionStore``: sessions in PostgreSQL through psycopg 3 and an async pool.

Why it looks like this:

- Every save and append is one call of a PL/pgSQL function created by the
  schema's migration (see ``postgres_schema``): one round trip, one
  transaction, the session row locked while the version is checked and the
  segments written. A load is one ``SELECT`` of the segments in order.
- psycopg is an optional extra. This module imports without it; building a
  store without it raises ``MissingDependencyError`` naming the extra.
- Driver failures are translated at this boundary. A lost connection or a
  server that is down raises ``StoreUnavailableError`` (the psycopg error
  chained) and makes the pool test its idle connections, so the store heals
  by itself when the server is back. Reads are retried once after that; writes
  never are, since one that failed in flight may have committed.
- A password in the connection string never appears in ``repr``, in error
  messages or in this module's log lines.
"""

from __future__ import annotations

import builtins
import hashlib
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Self, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

from sessionstore._errors import (
    BackendError,
    ConflictError,
    InvalidArgumentError,
    MissingDependencyError,
    SchemaVersionError,
    StoreUnavailableError,
)
from sessionstore._messages import EncodedMessages, Message, decode_segments
from sessionstore._records import (
    ListOptions,
    SessionId,
    SessionRecord,
    datetime_from_micros,
    micros_from_datetime,
    utc_now,
)
from sessionstore._store import SessionStore
from sessionstore.backends import postgres_schema as q

try:
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict
    from psycopg_pool import AsyncConnectionPool, PoolTimeout

    _HAVE_PSYCOPG = True
except ImportError:  # the extra is not installed; the constructor says so
    _HAVE_PSYCOPG = False

if TYPE_CHECKING:
    from psycopg import AsyncConnection

__all__ = ["PostgresSessionStore"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

_INSTALL_HINT = "pip install 'sessionstore[postgres]'"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAX_SCHEMA_LENGTH = 63  # PostgreSQL's NAMEDATALEN - 1
_MAX_PREFIX_LENGTH = 40  # leaves room for the longest suffix ("migrations")
_STORE_QUERY_PARAMETERS = ("schema", "table_prefix")
_PASSWORD_IN_CONNINFO = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


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


def _split_store_parameters(url: str) -> tuple[str, dict[str, str]]:
    """Remove ``schema`` / ``table_prefix`` from a URL's query; the rest goes to libpq as is.

    The query is split by hand, not decoded and re-encoded, so libpq sees every
    other parameter byte for byte (libpq decodes ``%XX`` but not ``+``).
    """
    parts = urlsplit(url)
    ours: dict[str, str] = {}
    kept: list[str] = []
    for pair in parts.query.split("&") if parts.query else []:
        key, _, value = pair.partition("=")
        if unquote(key) in _STORE_QUERY_PARAMETERS:
            ours[unquote(key)] = unquote(value)
        else:
            kept.append(pair)
    if not ours:
        return url, {}
    return urlunsplit(parts._replace(query="&".join(kept))), ours


def _record(session_id: str, row: Sequence[Any]) -> SessionRecord:
    count, created, updated, version = row
    return SessionRecord(
        SessionId(session_id),
        count,
        datetime_from_micros(created),
        datetime_from_micros(updated),
        version,
    )


async def _check_idle_connection(conn: AsyncConnection[Any]) -> None:
    """Refuse a pooled connection the server has hung up on, without a round trip.

    Reading what the socket already holds finds a server's goodbye (a restart,
    an admin kill) before a query is sent on a dead connection; the pool then
    hands out another one.
    """
    if conn.closed or conn.broken:
        raise psycopg.OperationalError("the connection is closed")
    # A closing server sends a FATAL message, then EOF: the first read may get
    # only the message, the second sees EOF and raises.
    for _ in range(2):
        conn.pgconn.consume_input()
    if conn.pgconn.status != psycopg.pq.ConnStatus.OK:
        raise psycopg.OperationalError("the server closed the connection")


class PostgresSessionStore(SessionStore):
    """Sessions in PostgreSQL tables named ``<table_prefix>*`` inside ``schema``.

    Give a libpq connection string (``postgresql://user:pass@host:port/db?sslmode=...``
    or ``"host=... dbname=..."``; every libpq parameter passes through) or a ready
    ``psycopg_pool.AsyncConnectionPool`` as ``pool``. The store closes only what it
    created: a pool passed in must already be open and is left open by ``close()``.
    Autocommit connections are fastest; a pool of non-autocommit connections works
    too. ``min_size``/``max_size`` size the pool the store creates, and ``timeout``
    is how many seconds a call waits for a connection before StoreUnavailableError.

    The schema (created if missing) and tables are migrated on open under an
    advisory lock, so many processes may open the same store at once. Several
    applications can share one database by using different prefixes or schemas.
    """

    def __init__(
        self,
        url_or_conninfo: str | None = None,
        *,
        pool: AsyncConnectionPool[Any] | None = None,
        schema: str = "public",
        table_prefix: str = "sessionstore_",
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 10.0,
    ) -> None:
        if not _HAVE_PSYCOPG:
            raise MissingDependencyError(
                f"PostgresSessionStore needs psycopg 3 and psycopg-pool: {_INSTALL_HINT}"
            )
        if (url_or_conninfo is None) == (pool is None):
            raise InvalidArgumentError(
                "PostgresSessionStore needs exactly one of a connection string or pool="
            )
        self._schema = _validate_identifier("schema", schema, _MAX_SCHEMA_LENGTH)
        self._prefix = _validate_identifier("table_prefix", table_prefix, _MAX_PREFIX_LENGTH)
        if min_size < 0 or max_size < 1 or min_size > max_size:
            raise InvalidArgumentError(
                f"pool sizes must satisfy 0 <= min_size <= max_size, max_size >= 1; "
                f"got min_size={min_size}, max_size={max_size}"
            )
        if timeout <= 0:
            raise InvalidArgumentError(f"timeout must be > 0 seconds, got {timeout!r}")
        self._secrets: list[str] = []
        self._conninfo = "" if url_or_conninfo is None else url_or_conninfo
        self._where = "a caller-provided pool"
        if url_or_conninfo is not None:
            self._where = self._describe(url_or_conninfo)
        self._pool: AsyncConnectionPool[Any] | None = pool
        self._owns_pool = pool is None
        self._min_size = min_size
        self._max_size = max_size
        self._timeout = timeout
        self._sql = self._compose()

    def _describe(self, conninfo: str) -> str:
        """Remember the password to scrub and return a password-free description."""
        if not isinstance(conninfo, str):
            raise InvalidArgumentError(
                f"connection string must be a str, got {type(conninfo).__name__}"
            )
        url_password = urlsplit(conninfo).password if "://" in conninfo else None
        if url_password:
            self._secrets.append(url_password)
        try:
            params = conninfo_to_dict(conninfo)
        except psycopg.ProgrammingError as exc:
            raise InvalidArgumentError(
                f"invalid PostgreSQL connection string: {self._scrub(str(exc))}"
            ) from None
        password = params.pop("password", None)
        if isinstance(password, str) and password:
            self._secrets.append(password)
        shown = ("host", "hostaddr", "port", "dbname", "user")
        return " ".join(f"{key}={params[key]}" for key in shown if params.get(key))

    def _scrub(self, text: str) -> str:
        """``text`` without any password this store knows or finds."""
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return _PASSWORD_IN_CONNINFO.sub(r"\1***", text)

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
            "seq_name": sql.Literal(f'"{self._schema}"."{self._prefix}seq"'),
            "merge_limit": sql.Literal(q.MERGE_LIMIT_BYTES),
        }
        templates = {
            "create_schema": q.CREATE_SCHEMA_SQL,
            "create_migrations": q.CREATE_MIGRATIONS_TABLE_SQL,
            "current_version": q.CURRENT_VERSION_SQL,
            "record_version": q.RECORD_VERSION_SQL,
            "write": q.WRITE_SQL,
            "load": q.LOAD_SQL,
            "get": q.GET_SQL,
            "list_asc": q.LIST_ASC_SQL,
            "list_desc": q.LIST_DESC_SQL,
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
        """Open from ``postgresql://`` or ``postgres://``; ``schema`` and ``table_prefix``
        may be given as query parameters, every other parameter goes to libpq."""
        conninfo, ours = _split_store_parameters(url)
        return cls(
            conninfo,
            schema=ours.get("schema", "public"),
            table_prefix=ours.get("table_prefix", "sessionstore_"),
        )

    def __repr__(self) -> str:
        return (
            f"PostgresSessionStore({self._where!r}, schema={self._schema!r}, "
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
        if self._pool is None:
            self._pool = AsyncConnectionPool(
                self._conninfo,
                min_size=self._min_size,
                max_size=self._max_size,
                timeout=self._timeout,
                kwargs={"autocommit": True},
                check=_check_idle_connection,
                name=f"sessionstore-{self._prefix}",
                open=False,
            )
        try:
            if self._owns_pool:
                try:
                    await self._pool.open(wait=self._min_size > 0, timeout=self._timeout)
                except PoolTimeout as exc:
                    raise StoreUnavailableError(
                        f"cannot open the store: no PostgreSQL connection within "
                        f"{self._timeout}s ({self._where})"
                    ) from exc
            await self._migrate()
        except BaseException:
            if self._owns_pool:
                pool, self._pool = self._pool, None
                await pool.close()
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

        await self._with_connection(run, "open the store", idempotent=True)

    async def _close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None and self._owns_pool:
            await pool.close()

    # -- talking to the server -------------------------------------------------------

    async def _with_connection(
        self,
        work: Callable[[AsyncConnection[Any]], Awaitable[_T]],
        action: str,
        *,
        idempotent: bool,
    ) -> _T:
        """Run ``work(conn)`` on a pooled connection, translating driver errors."""
        for attempt in (1, 2):
            pool = self._pool
            if pool is None:  # closed while the call was queued
                raise StoreUnavailableError(f"cannot {action}: the store's pool is gone")
            try:
                async with pool.connection() as conn:
                    return await work(conn)
            except PoolTimeout as exc:
                raise StoreUnavailableError(
                    f"cannot {action}: no PostgreSQL connection within {self._timeout}s "
                    f"({self._where}): {self._scrub(str(exc))}"
                ) from exc
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                await self._recheck_pool(pool)
                if idempotent and attempt == 1:
                    logger.info("retrying after a lost connection: %s", self._scrub(str(exc)))
                    continue
                outcome = "" if idempotent else "; the write may or may not have been applied"
                raise StoreUnavailableError(
                    f"cannot {action}: PostgreSQL unavailable ({self._where}): "
                    f"{self._scrub(str(exc)).strip()}{outcome}"
                ) from exc
            except psycopg.Error as exc:
                raise BackendError(
                    f"cannot {action}: PostgreSQL error ({self._where}): "
                    f"{self._scrub(str(exc)).strip()}"
                ) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def _recheck_pool(self, pool: AsyncConnectionPool[Any]) -> None:
        """Drop the pool's broken idle connections so the next call gets a fresh one."""
        try:
            await pool.check()
        except Exception as exc:  # the pool replaces what it drops in the background
            logger.debug("pool check failed: %s", self._scrub(str(exc)))

    async def _rows(
        self, query: sql.Composed, params: Sequence[Any], action: str, *, binary: bool = False
    ) -> builtins.list[tuple[Any, ...]]:
        async def work(conn: AsyncConnection[Any]) -> builtins.list[tuple[Any, ...]]:
            cursor = conn.cursor(binary=binary)
            await cursor.execute(query, params)
            return await cursor.fetchall()

        return await self._with_connection(work, action, idempotent=True)

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

        async def work(conn: AsyncConnection[Any]) -> tuple[Any, ...] | None:
            cursor = await conn.execute(self._sql["write"], params)
            return await cursor.fetchone()

        # Never retried: a write whose connection dropped may have committed.
        row = await self._with_connection(work, action, idempotent=False)
        if row is None:  # pragma: no cover - the function always returns a row
            raise BackendError(f"cannot {action}: the write function returned nothing")
        ok, count, created, updated, version = row
        if not ok:
            assert expected_version is not None
            raise ConflictError(session_id, expected=expected_version, actual=version)
        return _record(session_id, (count, created, updated, version))

    async def _save(
        self, session_id: SessionId, messages: EncodedMessages, expected_version: int | None
    ) -> SessionRecord:
        return await self._write(session_id, messages, expected_version, replace=True)

    async def _append(
        self, session_id: SessionId, messages: EncodedMessages, expected_version: int | None
    ) -> SessionRecord:
        return await self._write(session_id, messages, expected_version, replace=False)

    async def _load(self, session_id: SessionId) -> builtins.list[Message] | None:
        rows = await self._rows(
            self._sql["load"], (session_id,), f"load session {session_id!r}", binary=True
        )
        if not rows:
            return None
        return decode_segments(session_id, [row[0] for row in rows])

    async def _get(self, session_id: SessionId) -> SessionRecord | None:
        rows = await self._rows(self._sql["get"], (session_id,), f"get session {session_id!r}")
        return _record(session_id, rows[0]) if rows else None

    async def _list(self, options: ListOptions) -> builtins.list[SessionRecord]:
        query = self._sql["list_desc" if options.newest_first else "list_asc"]
        rows = await self._rows(query, (options.limit, options.offset), "list sessions")
        return [_record(row[0], row[1:]) for row in rows]

    async def _count(self) -> int:
        rows = await self._rows(self._sql["count"], (), "count sessions")
        return int(rows[0][0])

    async def _delete(self, session_id: SessionId) -> None:
        async def work(conn: AsyncConnection[Any]) -> None:
            await conn.execute(self._sql["delete"], (session_id,))

        await self._with_connection(work, f"delete session {session_id!r}", idempotent=True)

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
        return await self._with_connection(work, "prune sessions", idempotent=False)
