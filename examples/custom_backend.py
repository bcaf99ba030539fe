"""A complete sessionstore backend in one small class: sessions in a dict, per namespace."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sessionstore.backends import base
from sessionstore.backends.base import ListOptions, SessionId, SessionRecord

Key = tuple[str, str]  # (namespace, session id)

class DictSessionStore(base.SessionStore):
    """Each hook reads and writes ``self.rows``: (namespace, id) -> (record, JSON segments)."""

    def __init__(self) -> None:
        self.rows: dict[Key, tuple[SessionRecord, list[bytes]]] = {}

    def _old(self, key: Key, expected: int | None) -> SessionRecord | None:
        record = self.rows[key][0] if key in self.rows else None
        if expected is not None and expected != (actual := record.version if record else 0):
            raise base.ConflictError(key[1], expected=expected, actual=actual)
        return record

    def _put(self, ns: str, sid: SessionId, new: base.EncodedMessages, expected: int | None,
             changes: Mapping[str, Any] | None, append: bool) -> SessionRecord:
        old, now = self._old((ns, sid), expected), base.utc_now()
        kept = self.rows[(ns, sid)][1] if old and append else []
        count = new.count + (old.message_count if old and append else 0)
        attributes = base.merge_attributes(old.attributes if old else {}, changes or {})
        record = SessionRecord(sid, count, old.created_at if old else now, now,
                               old.version + 1 if old else 1, attributes)
        self.rows.pop((ns, sid), None)  # a write moves the session to the end of the listing
        self.rows[(ns, sid)] = (record, [*kept, new.payload])
        return record

    async def _save(self, ns: str, sid: SessionId, messages: base.EncodedMessages,
                    expected_version: int | None, attributes: Any) -> SessionRecord:
        return self._put(ns, sid, messages, expected_version, attributes, append=False)

    async def _append(self, ns: str, sid: SessionId, messages: base.EncodedMessages,
                    expected_version: int | None, attributes: Any) -> SessionRecord:
        return self._put(ns, sid, messages, expected_version, attributes, append=True)

    async def _load(self, ns: str, sid: SessionId, start: int, stop: int | None) -> Any:
        if (ns, sid) not in self.rows:
            return None
        messages = base.decode_segments(sid, self.rows[(ns, sid)][1])
        return messages[slice(*base.resolve_slice(start, stop, len(messages)))]

    async def _update_attributes(self, ns: str, sid: SessionId, changes: Mapping[str, Any],
                                 expected_version: int | None) -> SessionRecord:
        if (old := self._old((ns, sid), expected_version)) is None:
            raise base.SessionNotFoundError(sid, "update_attributes")
        record = SessionRecord(sid, old.message_count, old.created_at, old.updated_at,
                               old.version + 1, base.merge_attributes(old.attributes, changes))
        self.rows[(ns, sid)] = (record, self.rows[(ns, sid)][1])
        return record

    async def _get(self, ns: str, sid: SessionId) -> SessionRecord | None:
        return self._old((ns, sid), None)

    async def _list(self, ns: str, options: ListOptions) -> list[SessionRecord]:
        records = [record for (space, _), (record, _) in self.rows.items() if space == ns]
        stop = None if options.limit is None else options.offset + options.limit
        return (records[::-1] if options.newest_first else records)[options.offset : stop]

    async def _count(self, ns: str) -> int:
        return sum(1 for space, _ in self.rows if space == ns)

    async def _delete(self, ns: str, sid: SessionId) -> None:
        self.rows.pop((ns, sid), None)

    async def _prune(self, ns: str, before: Any, keep_newest: int | None) -> int:
        old = (await self._list(ns, ListOptions(newest_first=True)))[keep_newest or 0 :]
        doomed = [r.id for r in old if before is None or r.updated_at < before]
        for sid in doomed:
            del self.rows[(ns, sid)]
        return len(doomed)
