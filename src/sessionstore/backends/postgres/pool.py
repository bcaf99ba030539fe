"""The PostgreSQL store's pool: it opens connections, runs work on them and translates errors.

A psycopg error becomes ``StoreUnavailableError`` (connection lost, server
down, no free connection in time) or ``BackendError`` (anything else), with
the psycopg error chained and every password scrubbed from the message.

The driver is imported here and only here: ``DRIVER_MISSING`` holds the
ImportError when the ``postgres`` extra is not installed, and then nothing in
this module may be called (the store's constructor checks it first).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from sessionstore._errors import BackendError, InvalidArgumentError, StoreUnavailableError
from sessionstore._options import ConnectionOptions
from sessionstore._urls import scrub_secrets, url_passwords

try:
    import psycopg
    from psycopg.conninfo import conninfo_to_dict
    from psycopg_pool import AsyncConnectionPool, PoolTimeout
except ImportError as exc:  # the extra is not installed; the store's constructor says so
    DRIVER_MISSING: ImportError | None = exc
else:
    DRIVER_MISSING = None

    try:
        from psycopg_pool.pool_async import StopWorker
    except ImportError:  # a psycopg-pool without this private name: its own workers, as they are
        _POOL_CLASS: type[AsyncConnectionPool[Any]] = AsyncConnectionPool
    else:

        class _LoopEndingPool(AsyncConnectionPool):
            """psycopg's pool, whose maintenance workers end when their task is cancelled.

            psycopg-pool's workers catch ``CancelledError`` from a maintenance task
            (adding a connection, say) and wait for the next one; when ``asyncio.run``
            returns, it cancels every task and waits for them, so a worker cancelled
            mid-task kept the loop from ever closing. These workers let it end them.
            """

            @classmethod
            async def worker(cls, q: Any) -> None:
                while True:
                    task = await q.get()
                    if isinstance(task, StopWorker):
                        return
                    try:
                        await task.run()
                    except Exception as error:  # as psycopg's own worker: never die of one task
                        logger.warning(
                            "pool task %s failed: %s: %s", task, type(error).__name__, error
                        )

        _POOL_CLASS = _LoopEndingPool

if TYPE_CHECKING:
    from psycopg import AsyncConnection, sql

__all__ = ["DRIVER_MISSING", "PostgresConnections", "Refusal"]

logger = logging.getLogger("sessionstore.backends.postgres")

_T = TypeVar("_T")

_PASSWORD_IN_CONNINFO = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
_SHOWN_PARAMETERS = ("host", "hostaddr", "port", "dbname", "user")
#: After this many seconds without a connection, opening asks the driver why.
_PROBE_AFTER = 0.5
#: How the server words a refusal that no retry fixes: a wrong password, an unknown role
#: or database, no pg_hba.conf entry. libpq gives no SQLSTATE for a failed connection, so
#: the message it is; a message in another language counts as transient (the open waits).
_REFUSALS = re.compile(
    r"FATAL:\s+(password authentication failed|role .* does not exist|"
    r"database .* does not exist|no pg_hba\.conf entry)"
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


class PostgresConnections:
    """A psycopg pool, made from ``conninfo`` or given, that runs work and translates errors.

    Closes only a pool it created; a pool passed in must already be open and
    is left open, and ``options`` do not apply to it. ``where`` is a
    password-free description for messages. ``prepare_threshold`` is psycopg's
    for the connections it opens: None (the default) prepares nothing.
    """

    def __init__(
        self,
        conninfo: str | None,
        pool: AsyncConnectionPool[Any] | None,
        *,
        name: str,
        options: ConnectionOptions,
        min_connections: int,
        prepare_threshold: int | None = None,
    ) -> None:
        self._secrets: list[str] = []
        self._conninfo = "" if conninfo is None else conninfo
        self.where = "a caller-provided pool" if conninfo is None else self._describe(conninfo)
        self._pool = pool
        self._owns_pool = pool is None
        self._name = name
        self.options = options
        self._min_connections = min_connections
        self._timeout = options.pool_timeout
        self._prepare_threshold = prepare_threshold

    def _describe(self, conninfo: str) -> str:
        """Remember the password to scrub and return a password-free description."""
        if not isinstance(conninfo, str):
            raise InvalidArgumentError(
                f"connection string must be a str, got {type(conninfo).__name__}"
            )
        if "://" in conninfo:
            self._secrets += url_passwords(conninfo)
        try:
            params = conninfo_to_dict(conninfo)
        except psycopg.ProgrammingError as exc:
            raise InvalidArgumentError(
                f"invalid PostgreSQL connection string: {self.scrub(str(exc))}"
            ) from None
        password = params.pop("password", None)
        if isinstance(password, str) and password:
            self._secrets.append(password)
        return " ".join(f"{key}={params[key]}" for key in _SHOWN_PARAMETERS if params.get(key))

    def scrub(self, text: str) -> str:
        """``text`` without any password this pool knows or finds."""
        return _PASSWORD_IN_CONNINFO.sub(r"\1***", scrub_secrets(text, self._secrets))

    async def open(self) -> None:
        """Create the pool if none was given, and open it if it is ours."""
        if self._pool is None:
            self._pool = _POOL_CLASS(
                self._conninfo,
                min_size=self._min_connections,
                max_size=self.options.max_connections,
                timeout=self._timeout,
                kwargs=self._connection_arguments(),
                check=_check_idle_connection,
                name=self._name,
                open=False,
            )
        if not self._owns_pool:
            return
        opening = asyncio.ensure_future(
            self._pool.open(wait=self._min_connections > 0, timeout=self._timeout)
        )
        failure: BaseException | None = None
        try:
            # Not connected soon: ask the driver why. A server that refuses us for
            # good (bad password, no such database) fails the open now; one that is
            # not up yet gets the whole timeout, as a starting server needs.
            done, _ = await asyncio.wait({opening}, timeout=min(_PROBE_AFTER, self._timeout))
            if not done:
                failure = await self._probe()
                if failure is not None and _REFUSALS.search(str(failure)):
                    raise StoreUnavailableError(
                        f"cannot open the store ({self.where}): {self._reason(failure)}"
                    ) from failure
            await opening
        except PoolTimeout as exc:
            await self.abandon()
            if failure is None:  # the early attempt connected, or there was none
                failure = await self._probe()
            reason = "" if failure is None else f": {self._reason(failure)}"
            raise StoreUnavailableError(
                f"cannot open the store: no PostgreSQL connection within "
                f"{self._timeout}s ({self.where}){reason}"
            ) from exc
        except BaseException:
            opening.cancel()
            with contextlib.suppress(BaseException):
                await opening
            await self.abandon()
            raise

    def _connection_arguments(self) -> dict[str, Any]:
        """What every connection of a pool the store creates is opened with.

        ``prepare_threshold=None``: psycopg prepares no statement on the server. A
        pooler in transaction mode (PgBouncer before 1.21, or without
        ``max_prepared_statements``) hands each transaction another server
        connection, where a statement prepared earlier is missing or one of the
        same name already exists. On a direct connection, preparing makes loads and
        gets faster (benchmarks/bench_prepare_postgres.py), so the store's
        ``prepare_threshold`` option turns it back on where no such pooler is.
        """
        arguments: dict[str, Any] = {
            "autocommit": True,
            "prepare_threshold": self._prepare_threshold,
        }
        if self.options.connect_timeout is not None:
            # libpq counts whole seconds: round up, so a short limit never becomes 0 (none).
            arguments["connect_timeout"] = math.ceil(self.options.connect_timeout)
        return arguments

    def _reason(self, failure: BaseException) -> str:
        return self.scrub(str(failure)).strip() or type(failure).__name__

    async def _probe(self) -> BaseException | None:
        """One direct connection attempt: the driver's error, or None if it connects.

        The pool only reports that it timed out; the driver says why (refused,
        no such host, wrong password, no such database).
        """
        seconds = max(2, min(5, round(self._timeout)))  # libpq's minimum is 2 s
        try:
            conn = await asyncio.wait_for(
                psycopg.AsyncConnection.connect(self._conninfo, connect_timeout=seconds),
                timeout=seconds + 1,
            )
        except (psycopg.Error, TimeoutError) as exc:
            return exc
        await conn.close()
        return None

    async def abandon(self) -> None:
        """After a failed open: drop and close the pool if it is ours, keep one given."""
        if self._owns_pool:
            await self.close()

    async def close(self) -> None:
        """Forget the pool; close it if it is ours."""
        pool, self._pool = self._pool, None
        if pool is not None and self._owns_pool:
            await pool.close()

    async def run(
        self,
        action: str,
        work: Callable[[AsyncConnection[Any]], Awaitable[_T]],
        *,
        idempotent: bool,
    ) -> _T:
        """Run ``work(conn)`` on a pooled connection, translating driver errors.

        ``action`` says what the call does, for messages ("load session 'a'");
        only ``idempotent`` work is retried, once, after a lost connection.
        """
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
                    f"({self.where}): {self.scrub(str(exc))}"
                ) from exc
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                await self._recheck_pool(pool)
                if idempotent and attempt == 1:
                    logger.info("retrying after a lost connection: %s", self.scrub(str(exc)))
                    continue
                outcome = "" if idempotent else "; the write may or may not have been applied"
                raise StoreUnavailableError(
                    f"cannot {action}: PostgreSQL unavailable ({self.where}): "
                    f"{self.scrub(str(exc)).strip()}{outcome}"
                ) from exc
            except psycopg.Error as exc:
                raise BackendError(
                    f"cannot {action}: PostgreSQL error ({self.where}): "
                    f"{self.scrub(str(exc)).strip()}"
                ) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def _recheck_pool(self, pool: AsyncConnectionPool[Any]) -> None:
        """Drop the pool's broken idle connections so the next call gets a fresh one."""
        try:
            await pool.check()
        except Exception as exc:  # the pool replaces what it drops in the background
            logger.debug("pool check failed: %s", self.scrub(str(exc)))

    async def rows(
        self,
        action: str,
        query: sql.Composed,
        params: Sequence[Any] | Mapping[str, Any],
        *,
        binary: bool = False,
    ) -> list[tuple[Any, ...]]:
        """The rows of one read-only ``query``, retried once after a lost connection."""

        async def work(conn: AsyncConnection[Any]) -> list[tuple[Any, ...]]:
            cursor = conn.cursor(binary=binary)
            await cursor.execute(query, params)
            return await cursor.fetchall()

        return await self.run(action, work, idempotent=True)

    async def call(
        self,
        action: str,
        query: sql.Composed,
        params: Sequence[Any] | Mapping[str, Any],
        refusals: tuple[str, ...],
        *,
        idempotent: bool = False,
    ) -> Refusal | list[tuple[Any, ...]]:
        """The rows of one statement, or the ``Refusal`` it raised with one of ``refusals``.

        A refusal is an exception the store's functions raise on purpose (a
        version conflict...): the statement's work is rolled back, and the
        caller turns it into the library's error.
        """

        async def work(conn: AsyncConnection[Any]) -> Refusal | list[tuple[Any, ...]]:
            cursor = conn.cursor(binary=True)
            try:
                await cursor.execute(query, params)
            except psycopg.Error as exc:
                if exc.sqlstate in refusals:
                    return Refusal(exc.sqlstate or "", exc.diag.message_detail or "")
                raise
            return [] if cursor.description is None else await cursor.fetchall()

        return await self.run(action, work, idempotent=idempotent)


class Refusal(NamedTuple):
    """A call the store's SQL refused: its SQLSTATE and the DETAIL it gave."""

    sqlstate: str
    detail: str
