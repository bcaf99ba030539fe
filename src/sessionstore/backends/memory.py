"""``InMemorySessionStore``: the reference semantics of the contract, in one process.

Each message is kept as its own encoded JSON (split from the write's array
without decoding it), so a slice costs what it returns, a loaded transcript
never shares mutable objects with the store, and decoding behaves exactly as
elsewhere. Every operation runs without an ``await`` between its read and its
write, under a thread lock, so it is atomic across tasks, threads and loops.
Each namespace is an ``OrderedDict`` whose order is its listing order.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice, takewhile
from types import MappingProxyType
from typing import Any, Self

import msgspec

from sessionstore.backends.base import (
    NO_ATTRIBUTES,
    ConflictError,
    EncodedMessages,
    ListOptions,
    Message,
    SessionId,
    SessionNotFoundError,
    SessionRecord,
    SessionStore,
    Snapshot,
    decode_segments,
    merge_attributes,
    resolve_index,
    resolve_slice,
    utc_now,
)

__all__ = ["InMemorySessionStore"]

_RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])


def _split(messages: EncodedMessages) -> list[bytes]:
    """The write's JSON array as one JSON text per message (no decoding into structs)."""
    return [bytes(raw) for raw in _RAW_LIST.decode(messages.payload)]


def _join(items: list[bytes]) -> bytes:
    return b"[" + b",".join(items) + b"]"


@dataclass(slots=True)
class _Entry:
    messages: list[bytes]
    created_at: datetime
    updated_at: datetime
    version: int
    position: int
    attributes: Mapping[str, Any] = field(default_factory=lambda: NO_ATTRIBUTES)
    record: SessionRecord = field(init=False)

    def refresh(self, session_id: SessionId) -> SessionRecord:
        self.record = SessionRecord(
            session_id,
            len(self.messages),
            self.created_at,
            self.updated_at,
            self.version,
            self.attributes,
        )
        return self.record


class InMemorySessionStore(SessionStore):
    """Sessions in a dict, gone when the process ends. For tests and as the reference."""

    supports_restore = True
    supports_cursor_scan = True

    def __init__(self) -> None:
        # Per namespace, insertion order *is* the listing order: every write moves
        # its session to the end and gives it the next position (for scan).
        self._spaces: dict[str, OrderedDict[SessionId, _Entry]] = {}
        self._position = 0
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str) -> Self:
        """Open from ``memory://``."""
        return cls()

    def __repr__(self) -> str:
        return f"InMemorySessionStore(sessions={sum(map(len, self._spaces.values()))})"

    async def _close(self) -> None:
        self._spaces.clear()

    def _space(self, namespace: str) -> OrderedDict[SessionId, _Entry]:
        return self._spaces.get(namespace) or OrderedDict()

    def _entry(self, namespace: str, session_id: SessionId, expected: int | None) -> _Entry | None:
        entry = self._space(namespace).get(session_id)
        actual = 0 if entry is None else entry.version
        if expected is not None and expected != actual:
            raise ConflictError(session_id, expected=expected, actual=actual)
        return entry

    def _touch(
        self,
        namespace: str,
        session_id: SessionId,
        entry: _Entry | None,
        messages: list[bytes],
        stamps: tuple[datetime | None, datetime] | None = None,
    ) -> _Entry:
        """Store ``messages`` as a write: version + 1, new position, moved to the end."""
        created, updated = (None, utc_now()) if stamps is None else stamps
        self._position += 1
        if entry is None:
            entry = _Entry(messages, created or updated, updated, 0, 0)
            self._spaces.setdefault(namespace, OrderedDict())[session_id] = entry
        else:
            entry.messages = messages
            entry.created_at = created or entry.created_at
            entry.updated_at = updated
            self._spaces[namespace].move_to_end(session_id)
        entry.version += 1
        entry.position = self._position
        return entry

    def _write(
        self,
        namespace: str,
        session_id: SessionId,
        messages: EncodedMessages,
        expected_version: int | None,
        attributes: Mapping[str, Any] | None,
        *,
        replace: bool,
    ) -> SessionRecord:
        items = _split(messages)
        with self._lock:
            entry = self._entry(namespace, session_id, expected_version)
            merged = None
            if attributes is not None:
                current = NO_ATTRIBUTES if entry is None else entry.attributes
                merged = merge_attributes(current, attributes)
            if entry is not None and not replace:
                entry.messages.extend(items)  # in place: an append never copies the transcript
                items = entry.messages
            entry = self._touch(namespace, session_id, entry, items)
            if merged is not None:
                entry.attributes = MappingProxyType(merged)
            return entry.refresh(session_id)

    async def _save(
        self,
        namespace: str,
        session_id: SessionId,
        messages: EncodedMessages,
        expected_version: int | None,
        attributes: Mapping[str, Any] | None,
    ) -> SessionRecord:
        return self._write(
            namespace, session_id, messages, expected_version, attributes, replace=True
        )

    async def _append(
        self,
        namespace: str,
        session_id: SessionId,
        messages: EncodedMessages,
        expected_version: int | None,
        attributes: Mapping[str, Any] | None,
    ) -> SessionRecord:
        return self._write(
            namespace, session_id, messages, expected_version, attributes, replace=False
        )

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
        items = _split(messages)
        with self._lock:
            entry = self._entry(namespace, session_id, expected_version)
            entry = self._touch(namespace, session_id, entry, items, (created_at, updated_at))
            entry.attributes = MappingProxyType(dict(attributes))
            return entry.refresh(session_id)

    async def _load(
        self, namespace: str, session_id: SessionId, start: int, stop: int | None
    ) -> list[Message] | None:
        snap = await self._snapshot(namespace, session_id, start, stop)
        return None if snap is None else snap.messages

    async def _snapshot(
        self, namespace: str, session_id: SessionId, start: int, stop: int | None
    ) -> Snapshot | None:
        with self._lock:
            entry = self._space(namespace).get(session_id)
            if entry is None:
                return None
            lo, hi = resolve_slice(start, stop, len(entry.messages))
            items, record = entry.messages[lo:hi], entry.record
        return Snapshot(record, decode_segments(session_id, [_join(items)]))

    async def _pop(
        self, namespace: str, session_id: SessionId, count: int, expected_version: int | None
    ) -> list[Message]:
        with self._lock:
            entry = self._entry(namespace, session_id, expected_version)
            if entry is None or not entry.messages:
                return []
            cut = max(0, len(entry.messages) - count)
            popped = entry.messages[cut:]
            del entry.messages[cut:]
            self._touch(namespace, session_id, entry, entry.messages).refresh(session_id)
        return decode_segments(session_id, [_join(popped)])

    async def _replace_tail(
        self,
        namespace: str,
        session_id: SessionId,
        start: int,
        messages: EncodedMessages,
        expected_version: int | None,
    ) -> SessionRecord:
        items = _split(messages)
        with self._lock:
            entry = self._entry(namespace, session_id, expected_version)
            if entry is None:
                raise SessionNotFoundError(session_id, "replace_tail")
            del entry.messages[resolve_index(start, len(entry.messages)) :]
            entry.messages.extend(items)
            return self._touch(namespace, session_id, entry, entry.messages).refresh(session_id)

    async def _fork(
        self,
        namespace: str,
        source_id: SessionId,
        target_id: SessionId,
        stop: int | None,
        expected_version: int | None,
    ) -> SessionRecord:
        with self._lock:
            source = self._space(namespace).get(source_id)
            if source is None:
                raise SessionNotFoundError(source_id, "fork")
            target = self._entry(namespace, target_id, expected_version)
            lo, hi = resolve_slice(0, stop, len(source.messages))
            entry = self._touch(namespace, target_id, target, source.messages[lo:hi])
            entry.attributes = source.attributes
            return entry.refresh(target_id)

    async def _update_attributes(
        self,
        namespace: str,
        session_id: SessionId,
        changes: Mapping[str, Any],
        expected_version: int | None,
    ) -> SessionRecord:
        with self._lock:
            entry = self._entry(namespace, session_id, expected_version)
            if entry is None:
                raise SessionNotFoundError(session_id, "update_attributes")
            entry.attributes = MappingProxyType(merge_attributes(entry.attributes, changes))
            entry.version += 1
            return entry.refresh(session_id)

    async def _get(self, namespace: str, session_id: SessionId) -> SessionRecord | None:
        with self._lock:
            entry = self._space(namespace).get(session_id)
            return None if entry is None else entry.record

    async def _list(self, namespace: str, options: ListOptions) -> list[SessionRecord]:
        with self._lock:
            space = self._space(namespace)
            entries = reversed(space.values()) if options.newest_first else iter(space.values())
            stop = None if options.limit is None else options.offset + options.limit
            return [entry.record for entry in islice(entries, options.offset, stop)]

    async def _scan_page(
        self, namespace: str, after: int, limit: int
    ) -> list[tuple[int, SessionRecord]]:
        with self._lock:
            # Positions ascend in listing order: walk back from the end to the cursor.
            newest_first = reversed(self._space(namespace).values())
            later = list(takewhile(lambda entry: entry.position > after, newest_first))
            return [(entry.position, entry.record) for entry in islice(reversed(later), limit)]

    async def _count(self, namespace: str) -> int:
        return len(self._space(namespace))

    async def _namespaces(self) -> list[str]:
        with self._lock:
            return sorted(name for name, space in self._spaces.items() if space)

    async def _delete(self, namespace: str, session_id: SessionId) -> None:
        with self._lock:
            self._space(namespace).pop(session_id, None)

    async def _clear(self, namespace: str) -> int:
        with self._lock:
            space = self._spaces.pop(namespace, None)
            return 0 if space is None else len(space)

    async def _prune(
        self, namespace: str, updated_before: datetime | None, keep_newest: int | None
    ) -> int:
        with self._lock:
            space = self._space(namespace)
            ordered = list(space.items())
            if keep_newest is not None:
                ordered = ordered[: max(0, len(ordered) - keep_newest)]
            doomed = [
                sid
                for sid, entry in ordered
                if updated_before is None or entry.updated_at < updated_before
            ]
            for sid in doomed:
                del space[sid]
            return len(doomed)
