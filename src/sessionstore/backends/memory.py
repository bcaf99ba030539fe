"""``InMemorySessionStore``: the reference semantics of the contract, in one process.

Transcripts are kept as the same encoded JSON segments the other backends
store, so a loaded transcript never shares mutable objects with the store
and decoding behaves exactly as elsewhere. Every operation runs without an
``await`` between its read and its write, under a thread lock, so it is
atomic across tasks and threads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice, takewhile
from typing import Self

from sessionstore._errors import ConflictError
from sessionstore._messages import EncodedMessages, Message, decode_segments
from sessionstore._records import ListOptions, SessionId, SessionRecord, utc_now
from sessionstore._store import SessionStore

__all__ = ["InMemorySessionStore"]


@dataclass(slots=True)
class _Entry:
    segments: list[bytes]
    message_count: int
    created_at: datetime
    updated_at: datetime
    version: int
    position: int
    record: SessionRecord = field(init=False)

    def refresh(self, session_id: SessionId) -> SessionRecord:
        self.record = SessionRecord(
            session_id, self.message_count, self.created_at, self.updated_at, self.version
        )
        return self.record


class InMemorySessionStore(SessionStore):
    """Sessions in a dict, gone when the process ends. For tests and as the reference."""

    supports_restore = True
    supports_cursor_scan = True

    def __init__(self) -> None:
        # Insertion order of this OrderedDict *is* the listing order: every write
        # moves its session to the end, and gives it the next position (for scan).
        self._sessions: OrderedDict[SessionId, _Entry] = OrderedDict()
        self._position = 0
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str) -> Self:
        """Open from ``memory://``."""
        return cls()

    def __repr__(self) -> str:
        return f"InMemorySessionStore(sessions={len(self._sessions)})"

    async def _close(self) -> None:
        self._sessions.clear()

    async def _load(self, session_id: SessionId) -> list[Message] | None:
        with self._lock:
            entry = self._sessions.get(session_id)
            segments = None if entry is None else list(entry.segments)
        return None if segments is None else decode_segments(session_id, segments)

    def _check(self, session_id: SessionId, entry: _Entry | None, expected: int | None) -> None:
        actual = 0 if entry is None else entry.version
        if expected is not None and expected != actual:
            raise ConflictError(session_id, expected=expected, actual=actual)

    def _write(
        self,
        session_id: SessionId,
        messages: EncodedMessages,
        expected_version: int | None,
        *,
        replace: bool,
        restored: tuple[datetime, datetime] | None = None,
    ) -> SessionRecord:
        """Save (``replace``) or append; ``restored`` = (created_at, updated_at) instead of now."""
        now = utc_now()
        created, updated = (None, now) if restored is None else restored
        with self._lock:
            entry = self._sessions.get(session_id)
            self._check(session_id, entry, expected_version)
            self._position += 1
            if entry is None:
                first = updated if created is None else created
                entry = _Entry(
                    [messages.payload], messages.count, first, updated, 1, self._position
                )
                self._sessions[session_id] = entry
            else:
                if replace:
                    entry.segments = [messages.payload]
                    entry.message_count = messages.count
                else:
                    entry.segments.append(messages.payload)
                    entry.message_count += messages.count
                if created is not None:
                    entry.created_at = created
                entry.updated_at = updated
                entry.version += 1
                entry.position = self._position
                self._sessions.move_to_end(session_id)
            return entry.refresh(session_id)

    async def _save(
        self, session_id: SessionId, messages: EncodedMessages, expected_version: int | None
    ) -> SessionRecord:
        return self._write(session_id, messages, expected_version, replace=True)

    async def _append(
        self, session_id: SessionId, messages: EncodedMessages, expected_version: int | None
    ) -> SessionRecord:
        return self._write(session_id, messages, expected_version, replace=False)

    async def _restore(
        self,
        session_id: SessionId,
        messages: EncodedMessages,
        expected_version: int | None,
        created_at: datetime,
        updated_at: datetime,
    ) -> SessionRecord:
        restored = (created_at, updated_at)
        return self._write(session_id, messages, expected_version, replace=True, restored=restored)

    async def _get(self, session_id: SessionId) -> SessionRecord | None:
        with self._lock:
            entry = self._sessions.get(session_id)
            return None if entry is None else entry.record

    async def _list(self, options: ListOptions) -> list[SessionRecord]:
        with self._lock:
            entries = (
                reversed(self._sessions.values())
                if options.newest_first
                else iter(self._sessions.values())
            )
            stop = None if options.limit is None else options.offset + options.limit
            return [entry.record for entry in islice(entries, options.offset, stop)]

    async def _scan_page(self, after: int, limit: int) -> list[tuple[int, SessionRecord]]:
        with self._lock:
            # Positions ascend in listing order: walk back from the end to the cursor.
            newest_first = reversed(self._sessions.values())
            later = list(takewhile(lambda entry: entry.position > after, newest_first))
            return [(entry.position, entry.record) for entry in islice(reversed(later), limit)]

    async def _count(self) -> int:
        return len(self._sessions)

    async def _delete(self, session_id: SessionId) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    async def _prune(self, updated_before: datetime | None, keep_newest: int | None) -> int:
        with self._lock:
            ordered = list(self._sessions.items())
            candidates = (
                ordered if keep_newest is None else ordered[: max(0, len(ordered) - keep_newest)]
            )
            doomed = [
                sid
                for sid, entry in candidates
                if updated_before is None or entry.updated_at < updated_before
            ]
            for sid in doomed:
                del self._sessions[sid]
            return len(doomed)
