"""``RedisSessionStore``: the store class; its design is told in the package docstring."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Self

from sessionstore._errors import ConflictError, InvalidArgumentError, SessionNotFoundError
from sessionstore._messages import EncodedMessages, Message, decode_segments
from sessionstore._options import (
    CONNECTION_OPTIONS,
    ConnectionOptions,
    optional_seconds,
    require_driver,
    split_query_options,
)
from sessionstore._records import (
    SessionId,
    SessionRecord,
    Snapshot,
    micros_from_datetime,
    resolve_slice,
    utc_now,
)
from sessionstore._rest import Encryption, make_codec
from sessionstore.backends.redis import chunks, scripts
from sessionstore.backends.redis.codec import (
    INDEX_LIMIT,
    ChunkedSession,
    NamespaceKeys,
    SessionKeys,
    attribute_args,
    clamp,
    decode_items,
    decode_whole,
    items_args,
    message_args,
    record_from_hash,
    script_failure,
    split_segments,
)
from sessionstore.backends.redis.lua import MAX_STRING_BYTES
from sessionstore.backends.redis.pool import (
    DRIVER_MISSING,
    RedisConnections,
    Script,
    check_prefix,
    check_url,
)
from sessionstore.backends.redis.sealed_edits import SealedEdits

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisSessionStore", "SessionKeys"]

#: The URL query parameters the store takes for itself; every other one goes to redis-py.
_QUERY_OPTIONS = (*CONNECTION_OPTIONS, "socket_timeout")
#: Connections a store made from a URL opens at most per event loop; more callers queue.
DEFAULT_MAX_CONNECTIONS = 50
#: How often a write upgrades a released-layout session and tries again.
_UPGRADE_TRIES = 100

_WRITE = Script(scripts.WRITE)
_SNAPSHOT = Script(scripts.SNAPSHOT)
_POP = Script(scripts.POP)
_REPLACE_TAIL = Script(scripts.REPLACE_TAIL)
_FORK = Script(scripts.FORK)
_UPDATE_ATTRIBUTES = Script(scripts.UPDATE_ATTRIBUTES)
_UPGRADE = Script(chunks.UPGRADE)


class RedisSessionStore(SealedEdits):
    """Sessions in Redis (standalone server), shared safely by processes and machines.

    Give either ``url`` (``redis://[user:password@]host:port/db``, ``rediss://...``,
    ``unix:///path/redis.sock?db=N``) or a ready ``client`` (a ``redis.asyncio.Redis``
    created with ``decode_responses=False``). A client is bound to its event loop,
    so the store keeps one per loop: from ``url``, or built with the connection
    settings of the ``client`` you pass (which the store never uses or closes).
    Every key lives under ``key_prefix``, so stores with different prefixes share a
    database without seeing each other. The prefix must end with ``:`` (the
    store's own key names follow it: ``seq``, ``order``, ``m:...``), so that it
    cannot run into another application's key names.

    A store made from ``url`` opens at most ``max_connections`` connections per
    event loop; when all are busy, calls queue for a free one and raise
    ``StoreUnavailableError`` after ``pool_timeout`` seconds. ``connect_timeout`` and
    ``socket_timeout`` (seconds; None: no limit) bound how long a call waits for an
    unreachable or stuck server before raising ``StoreUnavailableError``. The URL's
    query may give each of these four; a value there overrides the argument, and
    every other query option is redis-py's.

    ``encryption`` (an ``Encryption``) and ``compression`` (``"zstd"``) seal every
    stored message payload and the attributes (see the package docstring).

    Redis Cluster is not supported. No listing call reads more than ``list_chunk``
    (5,000) sessions in one script: a larger window is read in chunks, continuing
    from the last write sequence read; ``scan()`` walks a large store with bounded
    memory.
    """

    supports_restore = True
    supports_cursor_scan = True
    #: An append that leaves more messages than this in the list folds them into the
    #: saved bulk string (a few hundred µs per fold), so a whole load stays one string.
    fold_at: int = 256
    max_write_bytes = MAX_STRING_BYTES

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
        encryption: Encryption | None = None,
        compression: str | None = None,
    ) -> None:
        require_driver(DRIVER_MISSING, "RedisSessionStore", "the redis driver", "redis")
        if (url is None) == (client is None):
            raise InvalidArgumentError("RedisSessionStore needs exactly one of url or client")
        check_prefix(key_prefix)
        self._codec = make_codec(encryption, compression)
        self._recent = {}
        query: dict[str, str] = {}
        if url is not None:
            where = check_url(url)
            url, query = split_query_options(url, _QUERY_OPTIONS)
        options = ConnectionOptions.checked(max_connections, pool_timeout, connect_timeout, query)
        socket_timeout = optional_seconds("socket_timeout", socket_timeout, query)
        if url is not None:
            self._connections = RedisConnections.connect(url, where, options, socket_timeout)
        else:
            assert client is not None
            self._connections = RedisConnections.adopt(client)
        self._prefix = key_prefix
        self._spaces: dict[str, NamespaceKeys] = {}

    @classmethod
    def from_url(
        cls, url: str, *, encryption: Encryption | None = None, compression: str | None = None
    ) -> Self:
        """Open from ``redis://``, ``rediss://`` or ``unix://`` (connects on first use).

        The store's own options may be query parameters, e.g. ``?max_connections=N``;
        every other one is redis-py's.
        """
        return cls(url, encryption=encryption, compression=compression)

    def __repr__(self) -> str:
        return f"RedisSessionStore({self._connections.where!r}, key_prefix={self._prefix!r})"

    def _keys(self, namespace: str) -> NamespaceKeys:
        keys = self._spaces.get(namespace)
        if keys is None:
            keys = self._spaces[namespace] = NamespaceKeys(self._prefix, namespace)
        return keys

    def session_keys(self, session_id: str, namespace: str = "") -> SessionKeys:
        """The keys that hold ``session_id`` (for inspection and operations tooling)."""
        return SessionKeys(*self._keys(namespace).every(session_id))

    # -- lifecycle -----------------------------------------------------------------

    async def _open(self) -> None:
        await self._connections.run("connect", lambda client: client.ping())

    async def _close(self) -> None:
        await self._connections.close()

    async def _run(self, action: str, script: Script, keys: list[str], args: list[Any]) -> Any:
        return await self._connections.run(action, lambda client: script(client, keys, args))

    async def _upgrade(self, keys: NamespaceKeys, session_id: SessionId) -> None:
        """Rewrite a session stored by the released backend in the current layout."""
        meta, transcript = keys.session(session_id)
        version, segments = await self._connections.read_atomically(
            "upgrade", lambda pipe: pipe.hget(meta, "version").lrange(transcript, 0, -1)
        )
        if version is None or not segments or segments[0] == scripts.HEADER:
            return
        if segments[0] == scripts.CHUNKED:
            raise ChunkedSession()
        items = split_segments(session_id, segments)
        args = [version, *items_args(items)]
        await self._run("upgrade", _UPGRADE, keys.every(session_id), args)

    async def _until_current(
        self,
        action: str,
        keys: NamespaceKeys,
        session_id: SessionId,
        upgraded: SessionId,
        expected: int | None,
        script: Script,
        script_keys: list[str],
        args: list[Any],
    ) -> Any:
        """Run a script; upgrade ``upgraded`` and run again while it answers ``legacy``."""
        for _ in range(_UPGRADE_TRIES):
            reply = await self._run(action, script, script_keys, args)
            if reply[0] == b"ok":
                return reply
            if reply[0] != b"legacy":
                raise script_failure(action, session_id, expected, reply)
            await self._upgrade(keys, upgraded)
        raise ConflictError(session_id, expected=expected or 0, actual=-1)  # pragma: no cover

    # -- writes --------------------------------------------------------------------

    async def _write(
        self,
        mode: str,
        namespace: str,
        session_id: SessionId,
        messages: EncodedMessages,
        expected: int | None,
        attributes: Mapping[str, Any] | None,
        stamps: tuple[int, int] | None = None,
    ) -> SessionRecord:
        keys = self._keys(namespace)
        created, now = ("", micros_from_datetime(utc_now())) if stamps is None else stamps
        changes = [] if attributes is None else attribute_args(attributes)
        count = -1 if attributes is None else len(attributes)
        args = [*keys.common(session_id, now, expected), mode, created, count, self.fold_at]
        args.extend(changes)
        script_keys = [*keys.every(session_id), *keys.staging(session_id)]
        if mode == "append":
            args.extend(message_args(messages))
            reply = await self._until_current(
                mode, keys, session_id, session_id, expected, _WRITE, script_keys, args
            )
        else:  # the whole transcript: staged beside the script, never through Lua
            staged = list(zip(script_keys[4:], message_args(messages), strict=True))
            reply = await self._connections.run(
                mode, lambda client: _WRITE.after_staging(client, staged, script_keys, args)
            )
            if reply[0] != b"ok":
                raise script_failure(mode, session_id, expected, reply)
        return self._record(namespace, session_id, reply[1])

    async def _plain_save(
        self,
        namespace: str,
        session_id: SessionId,
        messages: EncodedMessages,
        expected_version: int | None,
        attributes: Mapping[str, Any] | None,
    ) -> SessionRecord:
        return await self._write(
            "save", namespace, session_id, messages, expected_version, attributes
        )

    def _plain_append(
        self,
        namespace: str,
        session_id: SessionId,
        messages: EncodedMessages,
        expected_version: int | None,
        attributes: Mapping[str, Any] | None,
    ) -> Awaitable[SessionRecord]:
        return self._write("append", namespace, session_id, messages, expected_version, attributes)

    async def _plain_restore(
        self,
        namespace: str,
        session_id: SessionId,
        messages: EncodedMessages,
        expected_version: int | None,
        created_at: datetime,
        updated_at: datetime,
        attributes: Mapping[str, Any],
    ) -> SessionRecord:
        stamps = (micros_from_datetime(created_at), micros_from_datetime(updated_at))
        return await self._write(
            "restore", namespace, session_id, messages, expected_version, attributes, stamps
        )

    async def _plain_pop(
        self, namespace: str, session_id: SessionId, count: int, expected_version: int | None
    ) -> list[Message]:
        keys = self._keys(namespace)
        now = micros_from_datetime(utc_now())
        args = [*keys.common(session_id, now, expected_version), min(count, INDEX_LIMIT)]
        reply = await self._until_current(
            "pop", keys, session_id, session_id, expected_version, _POP,
            keys.every(session_id), args,
        )  # fmt: skip
        return decode_items(session_id, reply[2], reply[1])

    async def _plain_replace_tail(
        self,
        namespace: str,
        session_id: SessionId,
        start: int,
        messages: EncodedMessages,
        expected_version: int | None,
    ) -> SessionRecord:
        keys = self._keys(namespace)
        now = micros_from_datetime(utc_now())
        args = [*keys.common(session_id, now, expected_version), clamp(start)]
        args.extend(message_args(messages))
        reply = await self._until_current(
            "replace_tail", keys, session_id, session_id, expected_version, _REPLACE_TAIL,
            keys.every(session_id), args,
        )  # fmt: skip
        return self._record(namespace, session_id, reply[1])

    async def _plain_fork(
        self,
        namespace: str,
        source_id: SessionId,
        target_id: SessionId,
        stop: int | None,
        expected_version: int | None,
    ) -> SessionRecord:
        keys = self._keys(namespace)
        now = micros_from_datetime(utc_now())
        args = [
            *keys.common(target_id, now, expected_version),
            "" if stop is None else clamp(stop),
        ]
        script_keys = [*keys.every(source_id), *keys.every(target_id)]
        try:
            reply = await self._until_current(
                "fork", keys, target_id, source_id, expected_version, _FORK, script_keys, args
            )
        except SessionNotFoundError:
            raise SessionNotFoundError(source_id, "fork") from None
        return self._record(namespace, target_id, reply[1])

    async def _plain_update_attributes(
        self,
        namespace: str,
        session_id: SessionId,
        changes: Mapping[str, Any],
        expected_version: int | None,
    ) -> SessionRecord:
        keys = self._keys(namespace)
        args = [*keys.common(session_id, 0, expected_version), len(changes)]
        args.extend(attribute_args(changes))
        meta = keys.session(session_id)[0]
        reply = await self._run("update_attributes", _UPDATE_ATTRIBUTES, [meta], args)
        if reply[0] != b"ok":
            raise script_failure("update_attributes", session_id, expected_version, reply)
        return self._record(namespace, session_id, reply[1])

    # -- reads ---------------------------------------------------------------------

    async def _plain_load(
        self, namespace: str, session_id: SessionId, start: int, stop: int | None
    ) -> list[Message] | None:
        if start != 0 or stop is not None:
            snap = await self._plain_snapshot(namespace, session_id, start, stop)
            return None if snap is None else snap.messages
        # The whole transcript: the bulk is one JSON array, the list the rest (its
        # header tells that the session exists, in which layout).
        _, transcript, bulk_key, _ = self._keys(namespace).every(session_id)
        bulk, items = await self._connections.read_atomically(
            "load", lambda pipe: pipe.get(bulk_key).lrange(transcript, 0, -1)
        )
        if not items:
            return None
        if items[0] != scripts.HEADER:  # the released layout, or the chunked one
            if items[0] == scripts.CHUNKED:
                raise ChunkedSession()
            return decode_segments(session_id, items)
        del items[0]
        return decode_whole(session_id, bulk, items)

    async def _plain_snapshot(
        self, namespace: str, session_id: SessionId, start: int, stop: int | None
    ) -> Snapshot | None:
        keys = self._keys(namespace).every(session_id)
        args = [clamp(start), "" if stop is None else clamp(stop)]
        reply = await self._connections.run(
            "snapshot", lambda client: _SNAPSHOT(client, keys, args), idempotent=True
        )
        if reply is None:
            return None
        record = self._record(namespace, session_id, reply[0])
        if reply[1] == b"legacy":
            if reply[2][:1] == [scripts.CHUNKED]:
                raise ChunkedSession()
            items = split_segments(session_id, reply[2])
            lo, hi = resolve_slice(start, stop, len(items))
            return Snapshot(record, decode_items(session_id, items[lo:hi]))
        return Snapshot(record, decode_items(session_id, reply[3], reply[2]))

    async def _get(self, namespace: str, session_id: SessionId) -> SessionRecord | None:
        meta = self._keys(namespace).session(session_id)[0]
        fields: dict[bytes, bytes] = await self._connections.run(
            "get", lambda client: client.hgetall(meta), idempotent=True
        )
        return record_from_hash(session_id, fields, self._codec, namespace)
