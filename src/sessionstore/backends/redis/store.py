"""``RedisSessionStore``: the store class; its design is told in the package docstring."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Self
from urllib.parse import urlsplit

from sessionstore._errors import ConflictError, InvalidArgumentError
from sessionstore._messages import EncodedMessages, Message, decode_segments
from sessionstore._options import (
    CONNECTION_OPTIONS,
    ConnectionOptions,
    optional_seconds,
    require_driver,
    split_query_options,
)
from sessionstore._records import (
    ListOptions,
    SessionId,
    SessionRecord,
    micros_from_datetime,
    record_from_stored,
    utc_now,
)
from sessionstore._store import SessionStore
from sessionstore._urls import redact_url
from sessionstore.backends.redis.pool import DRIVER_MISSING, RedisConnections
from sessionstore.backends.redis.scripts import (
    DELETE_SCRIPT,
    LIST_CHUNK,
    LIST_SCRIPT,
    MERGE_RUN,
    META_FIELDS,
    PRUNE_BATCH,
    PRUNE_SCRIPT,
    SCAN_SCRIPT,
    SMALL_SEGMENT_BYTES,
    WRITE_SCRIPT,
    sequenced_records,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

__all__ = ["RedisSessionStore", "SessionKeys"]

_SCHEMES = ("redis", "rediss", "unix")
#: The URL query parameters the store takes for itself; every other one goes to redis-py.
_QUERY_OPTIONS = (*CONNECTION_OPTIONS, "socket_timeout")
#: Connections a store made from a URL opens at most; further callers queue for one.
DEFAULT_MAX_CONNECTIONS = 50


class SessionKeys(NamedTuple):
    """The Redis keys holding one session: its metadata hash and its segment list."""

    meta: str
    segments: str


def _check_url(url: object) -> str:
    """``url`` shown without passwords, if it is a Redis URL; else InvalidArgumentError."""
    if not isinstance(url, str):
        raise InvalidArgumentError(f"Redis URL must be a str, got {type(url).__name__}")
    shown = redact_url(url)
    if urlsplit(url).scheme.lower() not in _SCHEMES:
        known = ", ".join(f"{name}://" for name in _SCHEMES)
        raise InvalidArgumentError(f"not a Redis URL: {shown!r} (expected {known})")
    return shown


class RedisSessionStore(SessionStore):
    """Sessions in Redis (standalone server), shared safely by processes and machines.

    Give either ``url`` (``redis://[user:password@]host:port/db``, ``rediss://...``,
    ``unix:///path/redis.sock?db=N``) or a ready ``client`` (a ``redis.asyncio.Redis``
    created with ``decode_responses=False``). The store closes only a client it
    created from ``url``; a client you pass in stays open and remains yours to close.
    Every key lives under ``key_prefix``, so stores with different prefixes share a
    database without seeing each other.

    A store made from ``url`` opens at most ``max_connections`` connections; when all
    are busy, calls queue for a free one and raise ``StoreUnavailableError`` after
    ``pool_timeout`` seconds. ``connect_timeout`` and ``socket_timeout`` (seconds;
    None: no limit) bound how long a call waits for an unreachable or stuck server
    before raising ``StoreUnavailableError``. The URL's query may give each of these
    four; a value there overrides the argument, and every other query option is
    redis-py's. A client you pass in keeps its own pool and limits.

    Redis Cluster is not supported. No listing call reads more than ``list_chunk``
    (5,000) sessions in one script: a larger window, such as ``list()`` of a big
    store, is read in chunks, continuing from the last write sequence read. Such a
    window is not one instant's snapshot: a session written meanwhile appears once,
    at its later place. ``scan()`` walks a large store with bounded memory.
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
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        pool_timeout: float = 10.0,
        connect_timeout: float | None = 2.0,
        socket_timeout: float | None = 10.0,
    ) -> None:
        require_driver(DRIVER_MISSING, "RedisSessionStore", "the redis driver", "redis")
        if (url is None) == (client is None):
            raise InvalidArgumentError("RedisSessionStore needs exactly one of url or client")
        if not isinstance(key_prefix, str):
            raise InvalidArgumentError(f"key_prefix must be a str, got {type(key_prefix).__name__}")
        query: dict[str, str] = {}
        if url is not None:
            where = _check_url(url)
            url, query = split_query_options(url, _QUERY_OPTIONS)
        options = ConnectionOptions.checked(max_connections, pool_timeout, connect_timeout, query)
        socket_timeout = optional_seconds("socket_timeout", socket_timeout, query)
        if url is not None:
            self._connections = RedisConnections.connect(url, where, options, socket_timeout)
        else:
            assert client is not None
            self._connections = RedisConnections.adopt(client)
        self._client: Redis = self._connections.client
        self._prefix = key_prefix
        self._order_key = f"{key_prefix}order"
        self._updated_key = f"{key_prefix}updated"
        self._seq_key = f"{key_prefix}seq"
        register = self._client.register_script
        self._write_script: AsyncScript = register(WRITE_SCRIPT)
        self._list_script: AsyncScript = register(LIST_SCRIPT)
        self._scan_script: AsyncScript = register(SCAN_SCRIPT)
        self._delete_script: AsyncScript = register(DELETE_SCRIPT)
        self._prune_script: AsyncScript = register(PRUNE_SCRIPT)

    @classmethod
    def from_url(cls, url: str) -> Self:
        """Open from ``redis://``, ``rediss://`` or ``unix://`` (connects on first use).

        The store's own options may be query parameters, e.g. ``?max_connections=N``;
        every other one is redis-py's.
        """
        return cls(url)

    def __repr__(self) -> str:
        return f"RedisSessionStore({self._connections.where!r}, key_prefix={self._prefix!r})"

    def session_keys(self, session_id: str) -> SessionKeys:
        """The keys that hold ``session_id`` (for inspection and operations tooling)."""
        suffix = session_id.encode("utf-8").hex()
        return SessionKeys(f"{self._prefix}m:{suffix}", f"{self._prefix}s:{suffix}")

    # -- lifecycle -----------------------------------------------------------------

    async def _open(self) -> None:
        await self._connections.run("connect", self._client.ping)

    async def _close(self) -> None:
        await self._connections.close()

    # -- the contract --------------------------------------------------------------

    async def _load(self, session_id: SessionId) -> list[Message] | None:
        # A session exists exactly when its segment list does (the write script
        # always leaves at least one segment), so one LRANGE answers both.
        key = self.session_keys(session_id).segments
        segments: list[bytes] = await self._connections.run(
            "load", lambda: self._client.lrange(key, 0, -1), idempotent=True
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
        result = await self._connections.run(
            mode, lambda: self._write_script(keys=script_keys, args=args)
        )
        if result[0] == b"conflict":
            assert expected_version is not None
            raise ConflictError(session_id, expected=expected_version, actual=int(result[1]))
        return record_from_stored(session_id, result[1:])

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
        fields: list[bytes | None] = await self._connections.run(
            "get", lambda: self._client.hmget(key, list(META_FIELDS)), idempotent=True
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
        flat: list[Any] = await self._connections.run(
            "list",
            lambda: self._list_script(keys=[self._order_key], args=args),
            idempotent=True,
        )
        return sequenced_records(flat)

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
            total: int = await self._connections.run(
                "list", lambda: self._client.zcard(self._order_key), idempotent=True
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
        flat: list[Any] = await self._connections.run(
            "scan",
            lambda: self._scan_script(keys=[self._order_key], args=args),
            idempotent=True,
        )
        return sequenced_records(flat)

    async def _count(self) -> int:
        count: int = await self._connections.run(
            "count", lambda: self._client.zcard(self._order_key), idempotent=True
        )
        return count

    async def _delete(self, session_id: SessionId) -> None:
        keys = [self._order_key, self._updated_key]
        args = [self._prefix, session_id]
        await self._connections.run(
            "delete", lambda: self._delete_script(keys=keys, args=args), idempotent=True
        )

    async def _prune(self, updated_before: datetime | None, keep_newest: int | None) -> int:
        bound = "" if updated_before is None else f"({micros_from_datetime(updated_before)}"
        keep = -1 if keep_newest is None else keep_newest
        keys = [self._order_key, self._updated_key]
        deleted_total, skip = 0, 0
        while True:
            args: list[str | int] = [self._prefix, bound, keep, PRUNE_BATCH, skip]
            deleted, kept, more = await self._connections.run(
                "prune", functools.partial(self._prune_script, keys=keys, args=args)
            )
            deleted_total += int(deleted)
            skip += int(kept)
            if not int(more):
                return deleted_total
