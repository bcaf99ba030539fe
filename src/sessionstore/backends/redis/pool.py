"""The Redis store's connections: one client per event loop, and where redis-py errors become ours.

A redis-py asyncio client and its pool belong to the event loop they first
ran on, so the store keeps one client per loop (:class:`PerLoop`): a client
made from the URL, or, for a client the caller passed in, a new client built
from that client's connection settings (the caller's client stays theirs,
unused and open). ``close`` closes the client of every loop.

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
import hashlib
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sessionstore._errors import BackendError, InvalidArgumentError, StoreUnavailableError
from sessionstore._loops import PerLoop
from sessionstore._options import ConnectionOptions
from sessionstore._urls import redact_url, scrub_secrets, url_passwords

try:
    import redis.asyncio as redis_asyncio
    from redis.asyncio import BlockingConnectionPool
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import AuthenticationError, NoScriptError, RedisError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    DRIVER_MISSING: ImportError | None = exc
else:
    DRIVER_MISSING = None

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["DRIVER_MISSING", "RedisConnections", "Script", "check_prefix", "check_url"]

_SCHEMES = ("redis", "rediss", "unix")

#: How long an idempotent call waits before its one retry after a lost connection.
_RETRY_PAUSE = 0.05
#: How long a staged value lives if its script never runs.
_STAGED_MILLISECONDS = 60_000

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


class Script:
    """A Lua script run by its SHA1 on any client, loaded again after ``NOSCRIPT``."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode("utf-8")).hexdigest()

    async def __call__(self, client: Redis, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        try:
            return await client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await client.eval(self.source, len(keys), *keys, *args)

    async def after_staging(
        self,
        client: Redis,
        staged: Sequence[tuple[str, bytes]],
        keys: Sequence[Any],
        args: Sequence[Any],
    ) -> Any:
        """SET each staged (key, value) with an expiry, then run the script: one MULTI.

        A value passed this way never becomes a Lua string (which costs about as
        much as the value is long); the script renames or deletes the staged keys,
        and the expiry removes them if it never ran.
        """
        for attempt in range(2):
            async with client.pipeline(transaction=True) as pipe:
                for key, value in staged:
                    pipe.set(key, value, px=_STAGED_MILLISECONDS)
                pipe.evalsha(self.sha, len(keys), *keys, *args)
                try:
                    replies = await pipe.execute()
                except NoScriptError:
                    if attempt:
                        raise
                    await client.script_load(self.source)
                    continue
                return replies[-1]
        raise AssertionError("unreachable")  # pragma: no cover


class RedisConnections:
    """Clients for a URL, or derived from a given client, one per event loop.

    ``where`` is a password-free description for messages; ``options`` are
    those of a store made from a URL (None for a client passed in).
    """

    def __init__(
        self,
        make: Callable[[], Redis],
        *,
        where: str,
        url: str | None,
        options: ConnectionOptions | None,
    ) -> None:
        self.where = where
        self.options = options
        self._url = url
        self._new_client = make
        # PerLoop closes each loop's client when that loop shuts down.
        self.clients: PerLoop[Redis] = PerLoop(self._make, _close_client)

    async def _make(self) -> Redis:
        return self._new_client()

    @classmethod
    def connect(
        cls, url: str, where: str, options: ConnectionOptions, socket_timeout: float | None
    ) -> RedisConnections:
        """Clients of its own for ``url`` (each connects on first use), shown as ``where``.

        Each loop's blocking pool opens at most ``options.max_connections``
        connections; when all are busy a call queues for one, up to
        ``options.pool_timeout`` seconds. redis-py never retries a command
        itself: a write whose reply was lost may have been applied.
        """

        def make() -> Redis:
            pool = _QueueingConnectionPool.from_url(
                url,
                max_connections=options.max_connections,
                timeout=options.pool_timeout,
                decode_responses=False,
                socket_timeout=socket_timeout,
                socket_connect_timeout=options.connect_timeout,
                retry=Retry(NoBackoff(), 0),
            )
            return redis_asyncio.Redis.from_pool(pool)

        try:
            make()  # checks the URL now; its pool has no connection yet
        except (ValueError, TypeError) as exc:
            raise InvalidArgumentError(
                f"invalid Redis URL {where!r}: {_scrub(str(exc), url)}"
            ) from None
        return cls(make, where=where, url=url, options=options)

    @classmethod
    def adopt(cls, client: Redis) -> RedisConnections:
        """Clients like the caller's ``client`` (which must return bytes), one per loop."""
        pool = client.connection_pool
        if pool.connection_kwargs.get("decode_responses"):
            raise InvalidArgumentError(
                "RedisSessionStore needs a client created with decode_responses=False"
            )
        kwargs = dict(pool.connection_kwargs)
        kwargs["retry"] = Retry(NoBackoff(), 0)

        def make() -> Redis:
            derived = type(pool)(
                connection_class=pool.connection_class,
                max_connections=pool.max_connections,
                **kwargs,
            )
            return redis_asyncio.Redis.from_pool(derived)

        return cls(make, where="a caller-provided Redis client", url=None, options=None)

    async def run(
        self, action: str, work: Callable[[Redis], Awaitable[Any]], *, idempotent: bool = False
    ) -> Any:
        """Run ``work(client)`` on this loop's client, translating driver errors.

        Only ``idempotent`` work is retried, once, after a lost connection (not a
        timeout). ``action`` names the call for messages ("load").
        """
        attempts = 2 if idempotent else 1
        for attempt in range(attempts):
            try:
                client = self.clients.current() or await self.clients.get()
                return await work(client)
            except AuthenticationError as exc:
                raise BackendError(
                    f"Redis at {self.where} refused the credentials during {action}: {exc}"
                ) from exc
            except _PoolExhaustedError as exc:
                # Waiting again would only double the wait: every connection is busy.
                pool = client.connection_pool
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

    async def read_atomically(self, action: str, queue: Callable[[Any], object]) -> list[Any]:
        """The replies of the reads ``queue(pipeline)`` queues, run in one MULTI/EXEC."""

        async def work(client: Redis) -> list[Any]:
            async with client.pipeline(transaction=True) as pipe:
                queue(pipe)
                replies: list[Any] = await pipe.execute()
                return replies

        replies: list[Any] = await self.run(action, work, idempotent=True)
        return replies

    async def close(self) -> None:
        """Close the client of every loop (a client passed in is left open: it is not one)."""
        await self.clients.close()


async def _close_client(client: Redis) -> None:
    with contextlib.suppress(RedisError):
        await client.aclose()
    with contextlib.suppress(RedisError):
        await client.connection_pool.disconnect()


def _scrub(text: str, url: str | None) -> str:
    """``text`` with the passwords of ``url`` (if any) replaced by ``***``."""
    return scrub_secrets(text, url_passwords(url)) if url else text


def check_url(url: object) -> str:
    """``url`` shown without passwords, if it is a Redis URL; else InvalidArgumentError."""
    if not isinstance(url, str):
        raise InvalidArgumentError(f"Redis URL must be a str, got {type(url).__name__}")
    shown = redact_url(url)
    if urlsplit(url).scheme.lower() not in _SCHEMES:
        known = ", ".join(f"{name}://" for name in _SCHEMES)
        raise InvalidArgumentError(f"not a Redis URL: {shown!r} (expected {known})")
    parts = urlsplit(url)
    if parts.scheme.lower() != "unix" and not re.fullmatch(r"/?|/[0-9]+", parts.path):
        # The path is not shown apart: a raw '/' in a password would put part of it there.
        raise InvalidArgumentError(
            f"Redis URL {shown!r}: the path must be /<database number> (a non-negative "
            "integer) or nothing (percent-encode any '/', '#', '?' or '@' in a password)"
        )
    return shown


def check_prefix(prefix: object) -> str:
    """``prefix`` if it is a usable key prefix: a str ending with ``:``.

    An empty prefix, or one not ending with the separator, would put the
    store's bookkeeping keys (``seq``, ``order``, ``updated``) or its session
    keys where another application's keys may be (``appseq``, ``seq``).
    """
    if not isinstance(prefix, str):
        raise InvalidArgumentError(f"key_prefix must be a str, got {type(prefix).__name__}")
    if not prefix.endswith(":"):
        raise InvalidArgumentError(
            f"key_prefix must end with ':' so the store's keys cannot collide with another "
            f"application's (e.g. 'myapp:sessions:'), got {prefix!r}"
        )
    return prefix
