"""``RedisSessionStore``: sessions in Redis, one Lua script per write.

Why this shape: Redis runs a script atomically, so a save or append (version
check, transcript, metadata, listing sequence) is a single round trip that
either happens whole or not at all, whoever crashes. A transcript is a list of
JSON-array segments, so an append is one ``RPUSH`` whatever the transcript's
length, and a load is one ``LRANGE``; the write script merges trailing runs of
small segments so long chats stay few segments. The listing order is a sorted
set scored by a counter incremented inside the write script, never the clock.
Key layout and scripts: :mod:`sessionstore.backends.redis_scripts`.

Commands are never retried by the driver: a write whose reply was lost may
have been applied, and blindly sending it again could append twice. Reads
are retried once. A lost server surfaces as ``StoreUnavailableError``; the
next call reconnects by itself, and scripts flushed by a restart are loaded
again on ``NOSCRIPT``.

A store made from a URL uses a *blocking* connection pool: when all
``max_connections`` connections are busy, a call queues for one (up to
``pool_timeout`` seconds) instead of failing, so any number of concurrent
callers is safe. redis-py's default pool would raise "Too many connections".
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Self
from urllib.parse import urlsplit

from sessionstore._errors import (
    BackendError,
    ConflictError,
    InvalidArgumentError,
    MissingDependencyError,
    StoreUnavailableError,
)
from sessionstore._messages import EncodedMessages, Message, decode_segments
from sessionstore._records import (
    ListOptions,
    SessionId,
    SessionRecord,
    micros_from_datetime,
    record_from_stored,
    utc_now,
)
from sessionstore._store import SessionStore
from sessionstore._urls import redact_url, scrub_secrets, url_passwords
from sessionstore.backends.redis.scripts import (
    DELETE_SCRIPT,
    LIST_SCRIPT,
    PRUNE_SCRIPT,
    SCAN_SCRIPT,
    WRITE_SCRIPT,
)

try:
    import redis.asyncio as redis_asyncio
    from redis.asyncio import BlockingConnectionPool
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import AuthenticationError, RedisError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    _IMPORT_ERROR: ImportError | None = None
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    _IMPORT_ERROR = exc

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

__all__ = ["RedisSessionStore"]

_SCHEMES = ("redis", "rediss", "unix")
_INSTALL_HINT = "pip install 'sessionstore[redis]'"

#: Segments smaller than this are merged with their neighbours when a run grows long.
SMALL_SEGMENT_BYTES = 16 * 1024
#: How many small trailing segments trigger one merge (bounds the work of a merge).
MERGE_RUN = 32
#: Sessions deleted per prune script call, so retention never blocks the server long.
PRUNE_BATCH = 500
#: The most sessions one listing script reads: Redis serves no one else while a
#: script runs (about 6 µs per session), so a larger window is read in chunks.
LIST_CHUNK = 5000
#: Connections a store made from a URL opens at most; further callers queue for one.
DEFAULT_MAX_CONNECTIONS = 50

_META_FIELDS = ("message_count", "created_us", "updated_us", "version")


class SessionKeys(NamedTuple):
    """The Redis keys holding one session: its metadata hash and its segment list."""

    meta: str
    segments: str


if _IMPORT_ERROR is None:

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


def _sequenced_records(flat: list[Any]) -> list[tuple[int, SessionRecord]]:
    """(sequence, record) pairs from a listing script's flat reply of six fields each."""
    pairs = []
    for start in range(0, len(flat), 6):
        session_id = SessionId(flat[start + 1].decode("utf-8"))
        pairs.append(
            (int(flat[start]), record_from_stored(session_id, flat[start + 2 : start + 6]))
        )
    return pairs


def _require_redis() -> None:
    if _IMPORT_ERROR is not None:
        raise MissingDependencyError(
            f"RedisSessionStore needs the redis driver: {_INSTALL_HINT}"
        ) from _IMPORT_ERROR


class RedisSessionStore(SessionStore):
    """Sessions in Redis (standalone server), shared safely by processes and machines.

    Give either ``url`` (``redis://[user:password@]host:port/db``, ``rediss://...``,
    ``unix:///path/redis.sock?db=N``) or a ready ``client`` (a ``redis.asyncio.Redis``
    created with ``decode_responses=False``). The store closes only a client it
    created from ``url``; a client you pass in stays open and remains yours to close.
    Every key lives under ``key_prefix``, so stores with different prefixes share a
    database without seeing each other. ``connect_timeout`` and ``socket_timeout``
    (seconds) bound how long a call waits for an unreachable or stuck server before
    raising ``StoreUnavailableError``. A store made from ``url`` opens at most
    ``max_connections`` connections (``?max_connections=N`` in the URL overrides the
    argument, like redis-py's other query options); when all are busy, calls queue
    for a free one and raise ``StoreUnavailableError`` after ``pool_timeout`` seconds.
    A client you pass in keeps its own pool and limits. Redis Cluster is not supported:
    the scripts derive keys from session ids, so all of a store's keys must live on one
    server. A script holds the server while it runs, so no listing call reads more
    than ``list_chunk`` (5,000) sessions in one: a larger window, such as ``list()``
    of a big store, is read in chunks, continuing from the last write sequence read.
    Such a window is not one instant's snapshot: a session written meanwhile appears
    once, at its later place. ``scan()`` walks a large store with bounded memory.
    """

    supports_restore = True
    supports_cursor_scan = True
    #: Listing windows larger than this are read in chunks of this many sessions.
    list_chunk: int = LIST_CHUNK

    def __init__(
        self,
        url: str | None = None,
        *,
        client: Redis | None = None,
        key_prefix: str = "sessionstore:",
        socket_timeout: float = 10.0,
        connect_timeout: float = 2.0,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        pool_timeout: float = 10.0,
    ) -> None:
        _require_redis()
        if (url is None) == (client is None):
            raise InvalidArgumentError("RedisSessionStore needs exactly one of url or client")
        if not isinstance(key_prefix, str):
            raise InvalidArgumentError(f"key_prefix must be a str, got {type(key_prefix).__name__}")
        if isinstance(max_connections, bool) or not isinstance(max_connections, int):
            raise InvalidArgumentError(
                f"max_connections must be an int, got {type(max_connections).__name__}"
            )
        if max_connections < 1:
            raise InvalidArgumentError(f"max_connections must be >= 1, got {max_connections}")
        if isinstance(pool_timeout, bool) or not isinstance(pool_timeout, int | float):
            raise InvalidArgumentError(
                f"pool_timeout must be a number of seconds, got {type(pool_timeout).__name__}"
            )
        if not pool_timeout > 0:
            raise InvalidArgumentError(f"pool_timeout must be > 0 seconds, got {pool_timeout!r}")
        self._prefix = key_prefix
        self._owns_client = client is None
        if url is not None:
            self._where = self._check_url(url)
            try:
                pool = _QueueingConnectionPool.from_url(
                    url,
                    max_connections=max_connections,
                    timeout=float(pool_timeout),
                    decode_responses=False,
                    socket_timeout=socket_timeout,
                    socket_connect_timeout=connect_timeout,
                    retry=Retry(NoBackoff(), 0),
                )
            except (ValueError, TypeError) as exc:
                raise InvalidArgumentError(
                    f"invalid Redis URL {self._where!r}: {_scrub(str(exc), url)}"
                ) from None
            client = redis_asyncio.Redis.from_pool(pool)
        else:
            assert client is not None
            kwargs = client.connection_pool.connection_kwargs
            if kwargs.get("decode_responses"):
                raise InvalidArgumentError(
                    "RedisSessionStore needs a client created with decode_responses=False"
                )
            self._where = "a caller-provided Redis client"
        self._client: Redis = client
        self._url = url
        self._order_key = f"{key_prefix}order"
        self._updated_key = f"{key_prefix}updated"
        self._seq_key = f"{key_prefix}seq"
        self._write_script: AsyncScript = client.register_script(WRITE_SCRIPT)
        self._list_script: AsyncScript = client.register_script(LIST_SCRIPT)
        self._scan_script: AsyncScript = client.register_script(SCAN_SCRIPT)
        self._delete_script: AsyncScript = client.register_script(DELETE_SCRIPT)
        self._prune_script: AsyncScript = client.register_script(PRUNE_SCRIPT)

    @staticmethod
    def _check_url(url: str) -> str:
        if not isinstance(url, str):
            raise InvalidArgumentError(f"Redis URL must be a str, got {type(url).__name__}")
        shown = redact_url(url)
        scheme = urlsplit(url).scheme.lower()
        if scheme not in _SCHEMES:
            known = ", ".join(f"{name}://" for name in _SCHEMES)
            raise InvalidArgumentError(f"not a Redis URL: {shown!r} (expected {known})")
        return shown

    @classmethod
    def from_url(cls, url: str) -> Self:
        """Open from ``redis://``, ``rediss://`` or ``unix://`` (connects on first use).

        Query options are redis-py's, e.g. ``?max_connections=N`` for the pool size.
        """
        return cls(url)

    def __repr__(self) -> str:
        return f"RedisSessionStore({self._where!r}, key_prefix={self._prefix!r})"

    def session_keys(self, session_id: str) -> SessionKeys:
        """The keys that hold ``session_id`` (for inspection and operations tooling)."""
        suffix = session_id.encode("utf-8").hex()
        return SessionKeys(f"{self._prefix}m:{suffix}", f"{self._prefix}s:{suffix}")

    # -- plumbing ------------------------------------------------------------------

    async def _call(
        self, what: str, operation: Callable[[], Awaitable[Any]], *, retry: bool = False
    ) -> Any:
        """Run one Redis operation, translating driver errors; ``retry`` once if idempotent."""
        attempts = 2 if retry else 1
        for attempt in range(attempts):
            try:
                return await operation()
            except AuthenticationError as exc:
                raise BackendError(
                    f"Redis at {self._where} refused the credentials during {what}: {exc}"
                ) from exc
            except _PoolExhaustedError as exc:
                # Waiting again would only double the wait: every connection is busy.
                pool = self._client.connection_pool
                raise StoreUnavailableError(
                    f"Redis at {self._where}: no free connection for {what} within "
                    f"{getattr(pool, 'timeout', '?')}s (all {pool.max_connections} of the "
                    f"store's connections busy; raise max_connections or pool_timeout)"
                ) from exc
            except (RedisConnectionError, RedisTimeoutError) as exc:
                if attempt + 1 < attempts and isinstance(exc, RedisConnectionError):
                    await asyncio.sleep(0.05)
                    continue
                message = _scrub(str(exc), self._url)
                raise StoreUnavailableError(
                    f"Redis at {self._where} is unavailable during {what}: {message}"
                ) from exc
            except RedisError as exc:
                message = _scrub(str(exc), self._url)
                raise BackendError(
                    f"Redis at {self._where} failed during {what}: {message}"
                ) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    # -- lifecycle -----------------------------------------------------------------

    async def _open(self) -> None:
        await self._call("connect", self._client.ping)

    async def _close(self) -> None:
        if self._owns_client:
            with contextlib.suppress(RedisError):
                await self._client.aclose()

    # -- the contract --------------------------------------------------------------

    async def _load(self, session_id: SessionId) -> list[Message] | None:
        # A session exists exactly when its segment list does (the write script
        # always leaves at least one segment), so one LRANGE answers both.
        key = self.session_keys(session_id).segments
        segments: list[bytes] = await self._call(
            "load", lambda: self._client.lrange(key, 0, -1), retry=True
        )
        if not segments:
            return None
        return decode_segments(session_id, segments)

    async def _write(
        self,
        mode: str,
        session_id: SessionId,
        messages: EncodedMessages,
        expected_version: int | None,
        restored: tuple[datetime, datetime] | None = None,
    ) -> SessionRecord:
        """Save or append (``mode``); ``restored`` = (created_at, updated_at) instead of now."""
        keys = self.session_keys(session_id)
        if restored is None:
            created_us: int | str = ""
            now_us = micros_from_datetime(utc_now())
        else:
            created_us, now_us = (micros_from_datetime(moment) for moment in restored)
        args: list[str | bytes | int] = [
            mode,
            session_id,
            messages.payload,
            messages.count,
            now_us,
            -1 if expected_version is None else expected_version,
            SMALL_SEGMENT_BYTES,
            MERGE_RUN,
            created_us,
        ]
        script_keys = [keys.meta, keys.segments, self._order_key, self._updated_key, self._seq_key]
        result = await self._call(mode, lambda: self._write_script(keys=script_keys, args=args))
        if result[0] == b"conflict":
            assert expected_version is not None
            raise ConflictError(session_id, expected=expected_version, actual=int(result[1]))
        return record_from_stored(session_id, result[2:5] + result[1:2])

    async def _save(
        self, session_id: SessionId, messages: EncodedMessages, expected_version: int | None
    ) -> SessionRecord:
        return await self._write("save", session_id, messages, expected_version)

    async def _append(
        self, session_id: SessionId, messages: EncodedMessages, expected_version: int | None
    ) -> SessionRecord:
        return await self._write("append", session_id, messages, expected_version)

    async def _restore(
        self,
        session_id: SessionId,
        messages: EncodedMessages,
        expected_version: int | None,
        created_at: datetime,
        updated_at: datetime,
    ) -> SessionRecord:
        restored = (created_at, updated_at)
        return await self._write("save", session_id, messages, expected_version, restored)

    async def _get(self, session_id: SessionId) -> SessionRecord | None:
        key = self.session_keys(session_id).meta
        fields: list[bytes | None] = await self._call(
            "get", lambda: self._client.hmget(key, list(_META_FIELDS)), retry=True
        )
        if fields[3] is None:
            return None
        return record_from_stored(session_id, fields)

    async def _list(self, options: ListOptions) -> list[SessionRecord]:
        if options.limit == 0:
            return []
        if options.limit is not None and options.limit <= self.list_chunk:
            stop = options.offset + options.limit - 1
            page = await self._list_ranks(options.offset, stop, options.newest_first)
            return [record for _, record in page]
        return await self._list_in_chunks(options)

    async def _list_ranks(
        self, start: int, stop: int, newest_first: bool
    ) -> list[tuple[int, SessionRecord]]:
        """The sessions at ranks ``start..stop`` of the listing, with their sequences, at once."""
        args = [start, stop, "1" if newest_first else "0", self._prefix]
        flat: list[Any] = await self._call(
            "list",
            lambda: self._list_script(keys=[self._order_key], args=args),
            retry=True,
        )
        return _sequenced_records(flat)

    async def _list_in_chunks(self, options: ListOptions) -> list[SessionRecord]:
        """A window of more than ``list_chunk`` sessions, read oldest first a chunk at a time.

        The first chunk is found by rank, the next ones continue past the last
        sequence read, so no session is passed over; a session written meanwhile
        and met again keeps only its later place. A newest-first window is read
        from the rank where it starts counting back from the newest.
        """
        chunk = self.list_chunk
        if options.newest_first:
            wanted = None if options.limit is None else options.offset + options.limit
            total: int = await self._call(
                "list", lambda: self._client.zcard(self._order_key), retry=True
            )
            start = 0 if wanted is None else max(0, total - wanted)
        else:
            start = options.offset
        # Oldest first, a full window ends the reading early; newest first, only the end does.
        enough = None if options.newest_first else options.limit
        found: dict[SessionId, SessionRecord] = {}
        page = await self._list_ranks(start, start + chunk - 1, False)
        while True:
            for _, record in page:
                found.pop(record.id, None)
                found[record.id] = record
            if len(page) < chunk:
                break
            if enough is not None and len(found) >= enough:
                break
            page = await self._scan_page(page[-1][0], chunk)
        records = list(found.values())
        if options.newest_first:
            records.reverse()
            del records[: options.offset]
        return records if options.limit is None else records[: options.limit]

    async def _scan_page(self, after: int, limit: int) -> list[tuple[int, SessionRecord]]:
        args: list[str | int] = [after, limit, self._prefix]
        flat: list[Any] = await self._call(
            "scan",
            lambda: self._scan_script(keys=[self._order_key], args=args),
            retry=True,
        )
        return _sequenced_records(flat)

    async def _count(self) -> int:
        count: int = await self._call(
            "count", lambda: self._client.zcard(self._order_key), retry=True
        )
        return count

    async def _delete(self, session_id: SessionId) -> None:
        keys = [self._order_key, self._updated_key]
        args = [self._prefix, session_id]
        await self._call("delete", lambda: self._delete_script(keys=keys, args=args), retry=True)

    async def _prune(self, updated_before: datetime | None, keep_newest: int | None) -> int:
        bound = "" if updated_before is None else f"({micros_from_datetime(updated_before)}"
        keep = -1 if keep_newest is None else keep_newest
        keys = [self._order_key, self._updated_key]
        deleted_total, skip = 0, 0
        while True:
            args: list[str | int] = [self._prefix, bound, keep, PRUNE_BATCH, skip]
            deleted, kept, more = await self._call(
                "prune", functools.partial(self._prune_script, keys=keys, args=args)
            )
            deleted_total += int(deleted)
            skip += int(kept)
            if not int(more):
                return deleted_total


def _scrub(text: str, url: str | None) -> str:
    """``text`` with the password of ``url`` (if any) replaced by ``***``."""
    return scrub_secrets(text, url_passwords(url)) if url else text
