"""The Redis store's connections: its client and pool, and where redis-py errors become ours.

A redis-py error becomes ``StoreUnavailableError`` (server unreachable,
connection lost, no free connection in time) or ``BackendError`` (credentials
refused, anything else), with the redis-py error chained and the URL's
passwords scrubbed from the message.

The driver is imported here and only here: ``DRIVER_MISSING`` holds the
ImportError when the ``redis`` extra is not installed, and then nothing in
this module may be called (the store's constructor checks it first).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from sessionstore._errors import BackendError, InvalidArgumentError, StoreUnavailableError
from sessionstore._options import ConnectionOptions
from sessionstore._urls import scrub_secrets, url_passwords

try:
    import redis.asyncio as redis_asyncio
    from redis.asyncio import BlockingConnectionPool
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import AuthenticationError, RedisError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    DRIVER_MISSING: ImportError | None = exc
else:
    DRIVER_MISSING = None

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["DRIVER_MISSING", "RedisConnections"]

#: How long an idempotent call waits before its one retry after a lost connection.
_RETRY_PAUSE = 0.05

if DRIVER_MISSING is None:

    class _PoolExhaustedError(RedisConnectionError):
        """No pooled connection became free within the pool's wait timeout."""

    class _QueueingConnectionPool(BlockingConnectionPool):
        """A blocking pool whose wait timeout is told apart from a connection failure."""

        async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
            try:
                return await super().get_connection(*args, **kwargs)  # type: ignore[no-untyped-call]
            except RedisConnectionError as exc:
                # The wait for a free connection timed out (connecting failed otherwise).
                if isinstance(exc.__cause__, asyncio.TimeoutError) and not isinstance(
                    exc, _PoolExhaustedError
                ):
                    raise _PoolExhaustedError(str(exc)) from exc
                raise


class RedisConnections:
    """A Redis client, made from a URL or given, that runs commands and translates errors.

    Closes only a client it made; a client passed in stays open and remains
    the caller's. ``where`` is a password-free description for messages;
    ``options`` are those of a client it made (None for one passed in).
    """

    def __init__(
        self, client: Redis, *, where: str, url: str | None, options: ConnectionOptions | None
    ) -> None:
        self.client = client
        self.where = where
        self.options = options
        self._url = url
        self._owns_client = url is not None

    @classmethod
    def connect(
        cls, url: str, where: str, options: ConnectionOptions, socket_timeout: float | None
    ) -> RedisConnections:
        """A client of its own for ``url`` (connects on first use), shown as ``where``.

        Its blocking pool opens at most ``options.max_connections`` connections;
        when all are busy a call queues for one, up to ``options.pool_timeout``
        seconds, instead of failing as redis-py's default pool would. redis-py
        never retries a command itself: a write whose reply was lost may have
        been applied, so sending it again could append twice.
        """
        try:
            pool = _QueueingConnectionPool.from_url(
                url,
                max_connections=options.max_connections,
                timeout=options.pool_timeout,
                decode_responses=False,
                socket_timeout=socket_timeout,
                socket_connect_timeout=options.connect_timeout,
                retry=Retry(NoBackoff(), 0),
            )
        except (ValueError, TypeError) as exc:
            raise InvalidArgumentError(
                f"invalid Redis URL {where!r}: {_scrub(str(exc), url)}"
            ) from None
        return cls(redis_asyncio.Redis.from_pool(pool), where=where, url=url, options=options)

    @classmethod
    def adopt(cls, client: Redis) -> RedisConnections:
        """Use the caller's ``client``, which must return bytes (``decode_responses=False``)."""
        if client.connection_pool.connection_kwargs.get("decode_responses"):
            raise InvalidArgumentError(
                "RedisSessionStore needs a client created with decode_responses=False"
            )
        return cls(client, where="a caller-provided Redis client", url=None, options=None)

    async def run(
        self, action: str, work: Callable[[], Awaitable[Any]], *, idempotent: bool = False
    ) -> Any:
        """Run ``work()``, translating driver errors; only ``idempotent`` work is retried, once.

        ``action`` names the call for messages ("load"); the retry follows a lost
        connection, not a timeout.
        """
        attempts = 2 if idempotent else 1
        for attempt in range(attempts):
            try:
                return await work()
            except AuthenticationError as exc:
                raise BackendError(
                    f"Redis at {self.where} refused the credentials during {action}: {exc}"
                ) from exc
            except _PoolExhaustedError as exc:
                # Waiting again would only double the wait: every connection is busy.
                pool = self.client.connection_pool
                raise StoreUnavailableError(
                    f"Redis at {self.where}: no free connection for {action} within "
                    f"{getattr(pool, 'timeout', '?')}s (all {pool.max_connections} of the "
                    f"store's connections busy; raise max_connections or pool_timeout)"
                ) from exc
            except (RedisConnectionError, RedisTimeoutError) as exc:
                if attempt + 1 < attempts and isinstance(exc, RedisConnectionError):
                    await asyncio.sleep(_RETRY_PAUSE)
                    continue
                raise StoreUnavailableError(
                    f"Redis at {self.where} is unavailable during {action}: "
                    f"{_scrub(str(exc), self._url)}"
                ) from exc
            except RedisError as exc:
                raise BackendError(
                    f"Redis at {self.where} failed during {action}: {_scrub(str(exc), self._url)}"
                ) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def close(self) -> None:
        """Close the client if it is ours; a client passed in is left open."""
        if self._owns_client:
            with contextlib.suppress(RedisError):
                await self.client.aclose()


def _scrub(text: str, url: str | None) -> str:
    """``text`` with the passwords of ``url`` (if any) replaced by ``***``."""
    return scrub_secrets(text, url_passwords(url)) if url else text
