"""The store's hooks for sealed payloads: the chunked layout (see ``chunks``), in Python.

``SealedSessions`` is the base of ``RedisSessionStore``: each hook runs the
plain one (``_plain_*``, Lua all the way) when the codec is the identity, and
the chunked one otherwise, or when a plain script finds a chunked session
(``ChunkedSession``: written by a store that sealed it; the chunked code path
reads and writes it with whatever codec this store has).

Writes read first, then run ``CHUNKED_WRITE`` guarded by the version read: an
append is a read of the record and one script (RPUSH of its chunk, APPEND of
its start), whatever the transcript holds. A session in another layout is
converted first (read whole, written as sealed chunks, same version): so a
plaintext session is sealed by its next write. A fork reads the source and
writes the target through the client, sealing each payload under the target's
place (ciphertext is bound to its session).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from sessionstore._attributes import encode_attributes, merge_attributes
from sessionstore._errors import ConflictError
from sessionstore._messages import EncodedMessages, Message, encode_messages
from sessionstore._records import (
    SessionId,
    SessionRecord,
    Snapshot,
    micros_from_datetime,
    resolve_slice,
    utc_now,
)
from sessionstore._rest import PayloadCodec, payload_place
from sessionstore.backends.redis.chunks import (
    CHUNKED_SNAPSHOT,
    CHUNKED_WRITE,
    pack_starts,
    split_chunks,
    unpack_starts,
)
from sessionstore.backends.redis.codec import (
    ChunkedSession,
    NamespaceKeys,
    clamp,
    decode_items,
    record_from_hash,
    record_from_reply,
    script_failure,
    split_segments,
)
from sessionstore.backends.redis.lua import CHUNKED
from sessionstore.backends.redis.pool import Script
from sessionstore.backends.redis.queries import RedisListing

__all__ = ["ALL", "FRESH", "TRIES", "Chunks", "SealedSessions"]

_T = TypeVar("_T")
_SNAPSHOT = Script(CHUNKED_SNAPSHOT)
_CHUNKED_WRITE = Script(CHUNKED_WRITE)
#: How often a write reads again after another write moved the session.
TRIES = 1000
#: How many sessions' last written version and length a store remembers (for appends).
RECENT_SESSIONS = 4096
#: CHUNKED_WRITE's keep: every chunk; none (a fresh transcript).
ALL, FRESH = -2, -1


class Chunks(NamedTuple):
    """What ``CHUNKED_SNAPSHOT`` read: the record, the first chunk's index, the messages."""

    record: SessionRecord
    first: int
    base: int  # the index of the first message in ``items``
    items: list[bytes]


class _State(NamedTuple):
    """A session's metadata hash and whether its list is in the chunked layout."""

    record: SessionRecord | None
    fields: dict[bytes, bytes]
    chunked: bool


class SealedSessions(RedisListing):
    """The chunked-layout hooks; ``RedisSessionStore`` provides the plain ones."""

    _codec: PayloadCodec
    #: (namespace, id) -> (version, message count) of the sessions this store wrote last.
    _recent: dict[tuple[str, str], tuple[int, int]]

    # -- what RedisSessionStore provides -------------------------------------------

    def _record(self, namespace: str, session_id: SessionId, reply: Any) -> SessionRecord:
        """The record of a script's reply, its attributes unsealed."""
        return record_from_reply(session_id, reply, self._codec, namespace)

    def _plain(self, hook: str) -> Callable[..., Awaitable[Any]]:
        """The plain layout's version of ``hook`` (``_plain_save`` for ``_save``)."""
        plain: Callable[..., Awaitable[Any]] = getattr(self, "_plain" + hook)
        return plain

    # -- dispatch ------------------------------------------------------------------

    async def _either(self, hook: str, sealed: Callable[[], Awaitable[_T]], *args: Any) -> _T:
        if self._codec.identity:
            try:
                result: _T = await self._plain(hook)(*args)
                return result
            except ChunkedSession:
                pass
        return await sealed()

    # -- sealing -------------------------------------------------------------------

    def _seal_chunks(
        self, namespace: str, session_id: SessionId, start: int, chunks: list[list[bytes]]
    ) -> tuple[bytes, list[bytes]]:
        starts, sealed = [], []
        for chunk in chunks:
            place = payload_place(namespace, session_id, "m", start)
            sealed.append(self._codec.seal(b"[" + b",".join(chunk) + b"]", place))
            starts.append(start)
            start += len(chunk)
        return pack_starts(starts), sealed

    def _seal_attributes(
        self, namespace: str, session_id: SessionId, attributes: Mapping[str, Any]
    ) -> bytes:
        place = payload_place(namespace, session_id, "a")
        return self._codec.seal(encode_attributes(attributes), place)

    # -- reads ---------------------------------------------------------------------

    async def _read_chunks(
        self, namespace: str, session_id: SessionId, start: int, stop: int | None
    ) -> Chunks | SessionRecord | None:
        """The chunks holding [start:stop]; the bare record when the session is not chunked."""
        keys = self._keys(namespace).every(session_id)
        args = [clamp(start), "" if stop is None else clamp(stop)]
        reply = await self._connections.run(
            "snapshot", lambda client: _SNAPSHOT(client, keys, args), idempotent=True
        )
        if reply is None:
            return None
        record = self._record(namespace, session_id, reply[0])
        if reply[1] != b"chunked":
            return record
        first, starts = int(reply[2]), unpack_starts(reply[3])
        items: list[bytes] = []
        for at, stored in zip(starts, reply[4], strict=True):
            if at != starts[0] + len(items):
                raise self._corrupt(session_id)
            place = payload_place(namespace, session_id, "m", at)
            plain = self._codec.unseal(stored, place, session_id)
            items.extend(split_segments(session_id, [plain]))
        return Chunks(record, first, starts[0] if starts else 0, items)

    @staticmethod
    def _corrupt(session_id: SessionId) -> Exception:
        from sessionstore._errors import CorruptSessionError

        return CorruptSessionError(session_id, "its chunks do not follow each other")

    async def _chunked_snapshot(
        self, namespace: str, session_id: SessionId, start: int, stop: int | None
    ) -> Snapshot | None:
        for _ in range(TRIES):
            got = await self._read_chunks(namespace, session_id, start, stop)
            if not isinstance(got, Chunks):
                if got is None:
                    return None
                try:  # another layout: the plain scripts read it
                    snap: Snapshot | None = await self._plain("_snapshot")(
                        namespace, session_id, start, stop
                    )
                    return snap
                except ChunkedSession:
                    continue  # chunked meanwhile: read again
            lo, hi = resolve_slice(start, stop, got.record.message_count)
            items = got.items[lo - got.base : hi - got.base] if hi > lo else []
            return Snapshot(got.record, decode_items(session_id, items))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _snapshot(
        self, namespace: str, session_id: SessionId, start: int, stop: int | None
    ) -> Snapshot | None:
        return await self._either(
            "_snapshot",
            lambda: self._chunked_snapshot(namespace, session_id, start, stop),
            namespace, session_id, start, stop,
        )  # fmt: skip

    async def _load(
        self, namespace: str, session_id: SessionId, start: int, stop: int | None
    ) -> list[Message] | None:
        async def sealed() -> list[Message] | None:
            snap = await self._chunked_snapshot(namespace, session_id, start, stop)
            return None if snap is None else snap.messages

        return await self._either("_load", sealed, namespace, session_id, start, stop)

    async def _state(self, keys: NamespaceKeys, session_id: SessionId) -> _State:
        meta, transcript = keys.session(session_id)
        fields, head = await self._connections.read_atomically(
            "read", lambda pipe: pipe.hgetall(meta).lindex(transcript, 0)
        )
        record = record_from_hash(session_id, fields, self._codec, keys.name)
        return _State(record, fields, head == CHUNKED)

    # -- writes --------------------------------------------------------------------

    async def _chunked_write(
        self,
        action: str,
        keys: NamespaceKeys,
        session_id: SessionId,
        expected: int | None,
        guard: int,
        args: list[Any],
        chunks: tuple[bytes, list[bytes]] = (b"", []),
        now: int | None = None,
    ) -> Any:
        """Run ``CHUNKED_WRITE``; None when the session moved since ``guard`` was read."""
        now = micros_from_datetime(utc_now()) if now is None else now
        self._recent.pop((keys.name, session_id), None)
        script_args = [*keys.common(session_id, now, expected), guard, *args, chunks[0]]
        script_args.extend(chunks[1])
        reply = await self._connections.run(
            action, lambda client: _CHUNKED_WRITE(client, keys.every(session_id), script_args)
        )
        if reply[0] == b"moved":
            return None
        if reply[0] != b"ok":
            raise script_failure(action, session_id, expected, reply)
        return reply

    def _attributes_arg(
        self,
        state: _State,
        keys: NamespaceKeys,
        session_id: SessionId,
        changes: Mapping[str, Any] | None,
        replace: bool = False,
    ) -> bytes:
        """The attributes argument: '-' to keep them, else the sealed merge."""
        plain = any(field[:1] == b'"' for field in state.fields)
        if changes is None and not plain:
            return b"-"
        current = {} if replace or state.record is None else state.record.attributes
        merged = merge_attributes(current, changes or {})
        return self._seal_attributes(keys.name, session_id, merged)

    async def _convert(self, keys: NamespaceKeys, session_id: SessionId, state: _State) -> None:
        """Write a session of another layout as sealed chunks (same version; no-op if moved)."""
        assert state.record is not None
        try:
            messages = await self._plain("_load")(keys.name, session_id, 0, None)
        except ChunkedSession:
            return
        if messages is None:
            return
        chunks = list(split_chunks(session_id, encode_messages(messages).payload))
        sealed = self._seal_chunks(keys.name, session_id, 0, chunks)
        attributes = self._seal_attributes(keys.name, session_id, state.record.attributes)
        args = [FRESH, state.record.message_count, "", attributes, "convert"]
        await self._chunked_write(
            "upgrade", keys, session_id, None, state.record.version, args, sealed
        )

    async def _sealed_write(
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
        created, stamp = ("", None) if stamps is None else stamps
        chunks = list(split_chunks(session_id, messages.payload)) if messages.count else []
        for attempt in range(TRIES):
            plan = self._known(namespace, session_id, mode, attributes) if not attempt else None
            if plan is None:
                plan = await self._plan(keys, session_id, mode, attributes)
                if plan is None:
                    continue  # converted: plan again
            guard, start, attrs = plan
            sealed = self._seal_chunks(namespace, session_id, start, chunks)
            keep = ALL if mode == "append" and guard > 0 else FRESH
            args = [keep, start + messages.count, created, attrs, "write"]
            reply = await self._chunked_write(
                mode, keys, session_id, expected, guard, args, sealed, stamp
            )
            if reply is not None:
                record = self._record(namespace, session_id, reply[1])
                self._remember(namespace, record)
                return record
        raise ConflictError(session_id, expected=expected or 0, actual=-1)  # pragma: no cover

    def _known(
        self, namespace: str, session_id: SessionId, mode: str, attributes: object
    ) -> tuple[int, int, bytes] | None:
        """(guard, first new index, attributes) without reading, where that can be known.

        A save without attributes depends on nothing stored (the script refuses
        to keep plaintext attributes, answering ``moved``); an append without
        attributes to a session this store wrote last starts where that write
        left it (the guard catches any write since).
        """
        if attributes is not None:
            return None
        if mode == "save":
            return -1, 0, b"-"
        known = self._recent.get((namespace, session_id)) if mode == "append" else None
        return None if known is None else (known[0], known[1], b"-")

    def _remember(self, namespace: str, record: SessionRecord) -> None:
        """Keep the version and length this store wrote (a bounded number of sessions)."""
        recent = self._recent
        recent.pop((namespace, record.id), None)
        if len(recent) >= RECENT_SESSIONS:
            del recent[next(iter(recent))]
        recent[(namespace, record.id)] = (record.version, record.message_count)

    async def _plan(
        self,
        keys: NamespaceKeys,
        session_id: SessionId,
        mode: str,
        attributes: Mapping[str, Any] | None,
    ) -> tuple[int, int, bytes] | None:
        """(guard, first new index, attributes) from the stored state; None after converting."""
        state = await self._state(keys, session_id)
        record = state.record
        if record is None:
            return 0, 0, self._attributes_arg(state, keys, session_id, attributes, True)
        if mode == "append" and not state.chunked:
            await self._convert(keys, session_id, state)
            return None
        start = record.message_count if mode == "append" else 0
        attrs = self._attributes_arg(state, keys, session_id, attributes, mode == "restore")
        return record.version, start, attrs

    async def _save(
        self,
        namespace: str,
        session_id: SessionId,
        messages: EncodedMessages,
        expected_version: int | None,
        attributes: Mapping[str, Any] | None,
    ) -> SessionRecord:
        return await self._either(
            "_save",
            lambda: self._sealed_write(
                "save", namespace, session_id, messages, expected_version, attributes
            ),
            namespace, session_id, messages, expected_version, attributes,
        )  # fmt: skip

    def _append(
        self,
        namespace: str,
        session_id: SessionId,
        messages: EncodedMessages,
        expected_version: int | None,
        attributes: Mapping[str, Any] | None,
    ) -> Awaitable[SessionRecord]:
        return self._either(
            "_append",
            lambda: self._sealed_write(
                "append", namespace, session_id, messages, expected_version, attributes
            ),
            namespace, session_id, messages, expected_version, attributes,
        )  # fmt: skip

    async def _restore(
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
        return await self._either(
            "_restore",
            lambda: self._sealed_write(
                "restore", namespace, session_id, messages, expected_version, attributes, stamps
            ),
            namespace, session_id, messages, expected_version,
            created_at, updated_at, attributes,
        )  # fmt: skip
