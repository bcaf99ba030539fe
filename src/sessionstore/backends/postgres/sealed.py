"""Data at rest in the PostgreSQL backend: sealing, and the writes the client does itself.

A sealed segment (``PayloadCodec.seal``: compressed and/or encrypted) is bound
to its place, ``payload_place(namespace, id, "m", first_index)``, and sealed
attributes to ``(namespace, id, "a")``; sealed attributes are stored as base64
text in the attributes column, where plain ones start with ``{``. The server
cannot merge, split or copy sealed bytes, so with a codec that seals:

- a save or restore seals its segments here and writes them as before (one call);
- an append reads the record and, when it is small, the last segment (one
  statement), merges the new messages into that segment here (up to
  ``MERGE_LIMIT_BYTES`` of JSON and of sealed bytes) or starts new segments, and
  writes with ``splice`` guarded by the version it read: two round trips, and
  a bounded number of bytes read and rewritten, so appends stay O(1);
- pop and replace_tail read the segments from the one holding the cut, cut
  here, reseal the head of that segment and write with ``splice``;
- fork reads the source, reseals every segment and the attributes under the
  target's place (ciphertext is bound to its session) and writes the target
  with ``splice``, which checks the source is still at the version read.

A store without a codec takes the same client-side path when the server
refuses (``schema.SEALED``) to split, return or copy a sealed segment that
another store wrote. Reads unseal any segment that starts with a NUL byte, so
every store reads plain, compressed and (given the key) encrypted data alike.
"""

from __future__ import annotations

import base64
import binascii
import builtins
from collections.abc import Mapping
from typing import Any

import msgspec

from sessionstore._attributes import decode_attributes, encode_attributes, merge_attributes
from sessionstore._errors import ConflictError, CorruptSessionError, SessionNotFoundError
from sessionstore._messages import EncodedMessages, Message, decode_segments
from sessionstore._records import (
    SessionId,
    SessionRecord,
    micros_from_datetime,
    record_from_stored,
    utc_now,
)
from sessionstore._rest import PayloadCodec, payload_place
from sessionstore.backends.postgres import schema as q
from sessionstore.backends.postgres.pool import Refusal

__all__ = ["RETRIES", "SealedOperations", "conflict_after_retries", "now", "split_segments"]

_RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])
_SEALED_MARK = b"\0"
#: How often a write re-reads and retries after another write got in between.
RETRIES = 100


def now() -> int:
    """Microseconds since the Unix epoch, now."""
    return micros_from_datetime(utc_now())


def conflict_after_retries(session_id: str, expected: int | None) -> ConflictError:
    """The error of a write that lost to other writers ``RETRIES`` times in a row."""
    return ConflictError(session_id, expected=-1 if expected is None else expected, actual=-1)


def _join(items: list[bytes]) -> bytes:
    return b"[" + b",".join(items) + b"]"


def split_segments(messages: EncodedMessages) -> tuple[list[bytes], list[int]]:
    """The write's JSON array as segments of at most ``SPLIT_BYTES`` (or one message).

    No empty segment: an empty write has none. Splitting never decodes a message.
    """
    if messages.count == 0:
        return [], []
    if len(messages.payload) <= q.SPLIT_BYTES:
        return [messages.payload], [messages.count]
    payloads: list[bytes] = []
    counts: list[int] = []
    chunk: list[bytes] = []
    size = 1
    for raw in _RAW_LIST.decode(messages.payload):
        item = bytes(raw)
        if chunk and size + len(item) + 1 > q.SPLIT_BYTES:
            payloads.append(_join(chunk))
            counts.append(len(chunk))
            chunk, size = [], 1
        chunk.append(item)
        size += len(item) + 1
    payloads.append(_join(chunk))
    counts.append(len(chunk))
    return payloads, counts


class _Read:
    """What a client-side write read: the record row, the cut, the raw messages from ``first``."""

    def __init__(self, row: tuple[Any, ...], first: int, items: list[bytes]) -> None:
        self.row = row
        self.version: int = row[3]
        self.lo: int = row[5]
        self.hi: int = row[6]
        self.first = first
        self.items = items


class SealedOperations:
    """Sealing and unsealing, and the client-side writes (see the module docstring)."""

    _codec: PayloadCodec

    async def _rows(
        self, action: str, query: str, params: Any, *, binary: bool = False
    ) -> builtins.list[tuple[Any, ...]]:
        raise NotImplementedError  # pragma: no cover - PostgresOperations provides it

    async def _call(
        self, action: str, query: str, params: Any, session_id: SessionId, expected: int | None
    ) -> Refusal | builtins.list[tuple[Any, ...]]:
        raise NotImplementedError  # pragma: no cover - PostgresOperations provides it

    # -- sealing -----------------------------------------------------------------------

    def _seal_segments(
        self, namespace: str, session_id: str, start: int, payloads: list[bytes], counts: list[int]
    ) -> list[bytes]:
        """``payloads`` sealed at their first indexes, from ``start`` on."""
        if self._codec.identity:
            return payloads
        sealed: list[bytes] = []
        for payload, count in zip(payloads, counts, strict=True):
            place = payload_place(namespace, session_id, "m", start)
            sealed.append(self._codec.seal(payload, place))
            start += count
        return sealed

    def _unseal_segment(self, namespace: str, session_id: str, first: int, stored: bytes) -> bytes:
        if stored[:1] != _SEALED_MARK:
            return stored
        place = payload_place(namespace, session_id, "m", first)
        return self._codec.unseal(stored, place, session_id)

    def _seal_attributes(self, namespace: str, session_id: str, text: str) -> str:
        """Attributes JSON as stored: itself, or base64 of its sealed bytes."""
        if self._codec.identity or text == "{}":
            return text
        sealed = self._codec.seal(text.encode(), payload_place(namespace, session_id, "a"))
        return text if sealed[:1] != _SEALED_MARK else base64.b64encode(sealed).decode("ascii")

    def _open_attributes(self, namespace: str, session_id: str, stored: str | None) -> str | None:
        if stored is None or stored[:1] == "{":
            return stored
        try:
            sealed = base64.b64decode(stored, validate=True)
        except (binascii.Error, ValueError):
            raise CorruptSessionError(session_id, "its stored attributes are damaged") from None
        plain = self._codec.unseal(sealed, payload_place(namespace, session_id, "a"), session_id)
        try:
            return plain.decode()
        except UnicodeDecodeError:
            raise CorruptSessionError(session_id, "its attributes are not UTF-8") from None

    def _record(self, namespace: str, session_id: str, row: tuple[Any, ...]) -> SessionRecord:
        """The record of ``(count, created, updated, version, attributes)``."""
        attributes = self._open_attributes(namespace, session_id, row[4])
        return record_from_stored(session_id, row[:4], decode_attributes(session_id, attributes))

    def _messages(
        self, namespace: str, session_id: str, rows: builtins.list[tuple[Any, ...]]
    ) -> builtins.list[Message]:
        """The messages of slice rows (``first_index`` at 7, ``payload`` at 8)."""
        segments = [self._unseal_segment(namespace, session_id, r[7], r[8]) for r in rows]
        return decode_segments(session_id, segments)

    # -- client-side writes --------------------------------------------------------------

    async def _read_from(
        self, namespace: str, session_id: str, start: int, stop: int | None
    ) -> _Read | None:
        """The record and the raw messages of the segments overlapping ``[start, stop)``."""
        params = {"ns": namespace, "id": session_id, "start": start, "stop": stop}
        rows = await self._rows(f"read session {session_id!r}", "slice", params, binary=True)
        if not rows:
            return None
        if rows[0][7] is None:
            return _Read(rows[0], rows[0][5], [])
        items: list[bytes] = []
        for row in rows:
            plain = self._unseal_segment(namespace, session_id, row[7], row[8])
            try:
                items.extend(bytes(raw) for raw in _RAW_LIST.decode(plain))
            except msgspec.DecodeError as exc:
                raise CorruptSessionError(session_id, str(exc)) from exc
        return _Read(rows[0], rows[0][7], items)

    async def _write_from(
        self,
        namespace: str,
        session_id: SessionId,
        start: int,
        items: list[bytes],
        expected: int | None,
        base: int | None,
        attributes: str | None = None,
        source: tuple[str, int] | None = None,
    ) -> Refusal | SessionRecord:
        """Replace the segments from ``start`` (a boundary) with ``items``, sealed here."""
        payloads, counts = split_segments(EncodedMessages(_join(items), len(items)))
        sealed = self._seal_segments(namespace, session_id, start, payloads, counts)
        source_id, source_version = source if source is not None else (None, None)
        params = (
            namespace, session_id, start, sealed, counts, expected, base, now(), attributes,
            source_id, source_version,
        )  # fmt: skip
        result = await self._call(
            f"write session {session_id!r}", "splice", params, session_id, expected
        )
        if isinstance(result, Refusal):
            return result
        return self._record(namespace, session_id, result[0])

    def _merged_attributes(
        self, namespace: str, session_id: str, stored: str | None, changes: Mapping[str, Any]
    ) -> str:
        old = decode_attributes(session_id, self._open_attributes(namespace, session_id, stored))
        merged = encode_attributes(merge_attributes(old, changes)).decode()
        return self._seal_attributes(namespace, session_id, merged)

    def _tail_merge(
        self, namespace: str, session_id: str, tail: bytes, first: int, payload: bytes
    ) -> bytes | None:
        """The last segment with ``payload`` merged in, sealed, if it stays small enough."""
        plain = self._unseal_segment(namespace, session_id, first, tail)
        if len(plain) <= 2 or len(plain) + len(payload) - 1 > q.MERGE_LIMIT_BYTES:
            return None
        merged = plain[:-1] + b"," + payload[1:]
        sealed = self._codec.seal(merged, payload_place(namespace, session_id, "m", first))
        return sealed if len(sealed) <= q.MERGE_LIMIT_BYTES else None

    async def _sealed_append(
        self,
        namespace: str,
        session_id: SessionId,
        messages: EncodedMessages,
        expected: int | None,
        attributes: Mapping[str, Any] | None,
    ) -> SessionRecord:
        """An append through the client: merge into the last segment here, or add segments."""
        action = f"append to session {session_id!r}"
        for _ in range(RETRIES):
            rows = await self._rows(action, "append_read", (namespace, session_id), binary=True)
            row = rows[0] if rows else (0, None, None, 0, None, 0, None)
            count, version, tail_start, tail = row[0], row[3], row[5], row[6]
            if expected is not None and expected != version:
                raise ConflictError(session_id, expected=expected, actual=version)
            merged = None
            if attributes is not None:
                merged = self._merged_attributes(namespace, session_id, row[4], attributes)
            start, payloads, counts = count, *split_segments(messages)
            joined = None
            if tail is not None and len(payloads) == 1:
                joined = self._tail_merge(namespace, session_id, tail, tail_start, payloads[0])
            if joined is not None:
                start, payloads, counts = tail_start, [joined], [count - tail_start + counts[0]]
            else:
                payloads = self._seal_segments(namespace, session_id, start, payloads, counts)
            params = (
                namespace, session_id, start, payloads, counts, expected, version, now(),
                merged, None, None,
            )  # fmt: skip
            result = await self._call(action, "splice", params, session_id, expected)
            if not isinstance(result, Refusal):
                return self._record(namespace, session_id, result[0])
        raise conflict_after_retries(session_id, expected)

    async def _client_pop(
        self, namespace: str, session_id: SessionId, count: int, expected: int | None
    ) -> builtins.list[Message]:
        for _ in range(RETRIES):
            read = await self._read_from(namespace, session_id, -count, None)
            actual = 0 if read is None else read.version
            if expected is not None and expected != actual:
                raise ConflictError(session_id, expected=expected, actual=actual)
            if read is None or read.hi == 0:
                return []
            keep = read.lo - read.first
            result = await self._write_from(
                namespace, session_id, read.first, read.items[:keep], expected, read.version
            )
            if not isinstance(result, Refusal):
                return decode_segments(session_id, [_join(read.items[keep:])])
        raise conflict_after_retries(session_id, expected)

    async def _client_replace_tail(
        self,
        namespace: str,
        session_id: SessionId,
        start: int,
        messages: EncodedMessages,
        expected: int | None,
    ) -> SessionRecord:
        new = [bytes(raw) for raw in _RAW_LIST.decode(messages.payload)]
        for _ in range(RETRIES):
            read = await self._read_from(namespace, session_id, start, None)
            actual = 0 if read is None else read.version
            if expected is not None and expected != actual:
                raise ConflictError(session_id, expected=expected, actual=actual)
            if read is None:
                raise SessionNotFoundError(session_id, "replace_tail")
            head = read.items[: read.lo - read.first]
            result = await self._write_from(
                namespace, session_id, read.first, head + new, expected, read.version
            )
            if not isinstance(result, Refusal):
                return result
        raise conflict_after_retries(session_id, expected)

    async def _client_fork(
        self,
        namespace: str,
        source_id: SessionId,
        target_id: SessionId,
        stop: int | None,
        expected: int | None,
    ) -> SessionRecord:
        for _ in range(RETRIES):
            read = await self._read_from(namespace, source_id, 0, stop)
            if read is None:
                raise SessionNotFoundError(source_id, "fork")
            text = self._open_attributes(namespace, source_id, read.row[4]) or "{}"
            attributes = self._seal_attributes(namespace, target_id, text)
            result = await self._write_from(
                namespace, target_id, 0, read.items[: read.hi], expected, None, attributes,
                (source_id, read.version),
            )  # fmt: skip
            if not isinstance(result, Refusal):
                return result
        raise conflict_after_retries(target_id, expected)
