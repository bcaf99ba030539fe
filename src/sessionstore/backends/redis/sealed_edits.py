"""The sealed (chunked-layout) edits: pop, replace_tail, fork, update_attributes.

Each reads what it needs (the chunks it cuts, the source, the record), seals in
Python, and writes with ``CHUNKED_WRITE`` guarded by the version read, reading
again when another write moved the session first. A pop or replace_tail reseals
only the chunk it cuts in two (its head stays, under the same place); a fork
reads the source and seals every payload again under the target's place, since
a ciphertext is bound to its session.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sessionstore._errors import ConflictError, SessionNotFoundError
from sessionstore._messages import EncodedMessages, Message, encode_messages
from sessionstore._records import SessionId, SessionRecord, resolve_slice
from sessionstore.backends.redis.chunks import split_chunks
from sessionstore.backends.redis.codec import clamp, decode_items
from sessionstore.backends.redis.sealed import ALL, FRESH, TRIES, Chunks, SealedSessions

__all__ = ["SealedEdits"]


class SealedEdits(SealedSessions):
    """The sealed hooks that change a session in place or copy it."""

    async def _sealed_cut(
        self,
        action: str,
        namespace: str,
        session_id: SessionId,
        start: int,
        messages: EncodedMessages | None,
        expected: int | None,
    ) -> tuple[list[bytes], Any]:
        """Keep ``[:start]``, then add ``messages``; (the messages cut, the script's reply)."""
        keys = self._keys(namespace)
        new = []
        if messages is not None and messages.count:
            new = list(split_chunks(session_id, messages.payload))
        for attempt in range(TRIES):
            got = await self._read_chunks(namespace, session_id, start, None)
            record = got.record if isinstance(got, Chunks) else got
            version = 0 if record is None else record.version
            if record is None or (messages is None and not record.message_count):
                if expected is not None and expected != version:
                    raise ConflictError(session_id, expected=expected, actual=version)
                if record is None and messages is not None:
                    raise SessionNotFoundError(session_id, action)
                return [], None
            if not isinstance(got, Chunks):
                await self._convert(keys, session_id, await self._state(keys, session_id))
                continue
            keep, _ = resolve_slice(start, None, record.message_count)
            head, cut = got.items[: keep - got.base], got.items[keep - got.base :]
            sealed = self._seal_chunks(
                namespace, session_id, got.base if head else keep, [head, *new] if head else new
            )
            added = sum(map(len, new))
            # Kept as they are, unless the script found them plaintext (a plain store's
            # update_attributes): then sealed on the next try.
            attributes = (
                self._seal_attributes(namespace, session_id, record.attributes) if attempt else b"-"
            )
            args = [got.first if got.items else ALL, keep + added, "", attributes, "write"]
            reply = await self._chunked_write(
                action, keys, session_id, expected, version, args, sealed
            )
            if reply is not None:
                return cut, reply
        raise ConflictError(session_id, expected=expected or 0, actual=-1)  # pragma: no cover

    async def _pop(
        self, namespace: str, session_id: SessionId, count: int, expected_version: int | None
    ) -> list[Message]:
        async def sealed() -> list[Message]:
            cut, _ = await self._sealed_cut(
                "pop", namespace, session_id, -clamp(count), None, expected_version
            )
            return decode_items(session_id, cut)

        return await self._either("_pop", sealed, namespace, session_id, count, expected_version)

    async def _replace_tail(
        self,
        namespace: str,
        session_id: SessionId,
        start: int,
        messages: EncodedMessages,
        expected_version: int | None,
    ) -> SessionRecord:
        async def sealed() -> SessionRecord:
            _, reply = await self._sealed_cut(
                "replace_tail", namespace, session_id, start, messages, expected_version
            )
            return self._record(namespace, session_id, reply[1])

        return await self._either(
            "_replace_tail", sealed, namespace, session_id, start, messages, expected_version
        )

    async def _sealed_fork(
        self,
        namespace: str,
        source_id: SessionId,
        target_id: SessionId,
        stop: int | None,
        expected: int | None,
    ) -> SessionRecord:
        keys = self._keys(namespace)
        for _ in range(TRIES):
            snap = await self._chunked_snapshot(namespace, source_id, 0, stop)
            if snap is None:
                raise SessionNotFoundError(source_id, "fork")
            state = await self._state(keys, target_id)
            payload = encode_messages(snap.messages).payload
            chunks = list(split_chunks(target_id, payload)) if snap.messages else []
            sealed = self._seal_chunks(namespace, target_id, 0, chunks)
            attributes = self._seal_attributes(namespace, target_id, snap.record.attributes)
            guard = 0 if state.record is None else state.record.version
            args = [FRESH, len(snap.messages), "", attributes, "write"]
            reply = await self._chunked_write(
                "fork", keys, target_id, expected, guard, args, sealed
            )
            if reply is not None:
                return self._record(namespace, target_id, reply[1])
        raise ConflictError(target_id, expected=expected or 0, actual=-1)  # pragma: no cover

    async def _fork(
        self,
        namespace: str,
        source_id: SessionId,
        target_id: SessionId,
        stop: int | None,
        expected_version: int | None,
    ) -> SessionRecord:
        return await self._either(
            "_fork",
            lambda: self._sealed_fork(namespace, source_id, target_id, stop, expected_version),
            namespace, source_id, target_id, stop, expected_version,
        )  # fmt: skip

    async def _sealed_update(
        self,
        namespace: str,
        session_id: SessionId,
        changes: Mapping[str, Any],
        expected: int | None,
    ) -> SessionRecord:
        keys = self._keys(namespace)
        for _ in range(TRIES):
            state = await self._state(keys, session_id)
            record = state.record
            attributes = self._attributes_arg(state, keys, session_id, changes)
            count = 0 if record is None else record.message_count
            args = [ALL, count, "", attributes, "attributes"]
            guard = 0 if record is None else record.version
            reply = await self._chunked_write(
                "update_attributes", keys, session_id, expected, guard, args
            )
            if reply is not None:
                return self._record(namespace, session_id, reply[1])
        raise ConflictError(session_id, expected=expected or 0, actual=-1)  # pragma: no cover

    async def _update_attributes(
        self,
        namespace: str,
        session_id: SessionId,
        changes: Mapping[str, Any],
        expected_version: int | None,
    ) -> SessionRecord:
        return await self._either(
            "_update_attributes",
            lambda: self._sealed_update(namespace, session_id, changes, expected_version),
            namespace, session_id, changes, expected_version,
        )  # fmt: skip
