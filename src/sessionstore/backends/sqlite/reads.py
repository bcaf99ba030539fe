"""The SQL work of every read, run on the reader thread: ``work(conn)``.

A read that needs more than one statement (a slice: the record says how long
the transcript is, then its segments) runs them in one read transaction, so
they see one snapshot; the decoding happens after it ends.
"""

from __future__ import annotations

from sqlite3 import Connection
from typing import Any

from sessionstore._messages import Message, decode_segments
from sessionstore._records import (
    ListOptions,
    SessionId,
    SessionRecord,
    Snapshot,
    record_from_stored,
    resolve_slice,
)
from sessionstore._rest import PayloadCodec
from sessionstore.backends.sqlite import schema as sql
from sessionstore.backends.sqlite.sealing import (
    LOAD_SEGMENTS_PLACED,
    PLAIN,
    Sealer,
    is_sealed,
    open_attributes,
    opened_rows,
)
from sessionstore.backends.sqlite.segments import SegmentRow, slice_messages

__all__ = [
    "count_sessions",
    "get_record",
    "list_namespaces",
    "list_records",
    "load_messages",
    "read_snapshot",
    "scan_records",
]


def _record(
    codec: PayloadCodec, namespace: str, row: tuple[Any, ...], session_id: str | None = None
) -> SessionRecord:
    """The record of a row ``(id, message_count, created_us, updated_us, version, attributes)``."""
    sid = row[0] if session_id is None else session_id
    return record_from_stored(sid, row[1:5], open_attributes(codec, namespace, sid, row[5]))


def load_messages(
    namespace: str,
    session_id: SessionId,
    start: int,
    stop: int | None,
    conn: Connection,
    codec: PayloadCodec = PLAIN,
) -> list[Message] | None:
    if start == 0 and stop is None:  # the whole transcript: one statement
        if not codec.identity:
            return _load_sealed(namespace, session_id, conn, codec)
        rows = conn.execute(sql.LOAD_SEGMENTS, (namespace, session_id)).fetchall()
        if not rows:
            return None
        payloads = [payload for _, payload in rows if payload is not None]
        if any(is_sealed(payload) for payload in payloads):  # compressed: a plain store reads it
            return _load_sealed(namespace, session_id, conn, codec)
        return decode_segments(session_id, payloads)
    snap = read_snapshot(namespace, session_id, start, stop, conn, codec)
    return None if snap is None else snap.messages


def _load_sealed(
    namespace: str, session_id: SessionId, conn: Connection, codec: PayloadCodec
) -> list[Message] | None:
    """The whole transcript, each segment unsealed at its place."""
    rows = conn.execute(LOAD_SEGMENTS_PLACED, (namespace, session_id)).fetchall()
    if not rows:
        return None
    sealer = Sealer(codec, namespace, session_id)
    parts = [sealer.unseal(first, payload) for _, first, payload in rows if payload is not None]
    return decode_segments(session_id, parts)


def read_snapshot(
    namespace: str,
    session_id: SessionId,
    start: int,
    stop: int | None,
    conn: Connection,
    codec: PayloadCodec = PLAIN,
) -> Snapshot | None:
    """The record and the slice ``[start:stop]``, read in one transaction."""
    rows: list[SegmentRow] = []
    conn.execute("BEGIN")
    try:
        row = conn.execute(sql.SELECT_RECORD, (namespace, session_id)).fetchone()
        if row is None:
            return None
        key, length = row[0], row[2]
        lo, hi = resolve_slice(start, stop, length)
        if hi > lo:
            rows = conn.execute(sql.SELECT_SLICE, (key, lo, hi)).fetchall()
    finally:
        conn.execute("COMMIT")
    record = _record(codec, namespace, row[1:], session_id)
    rows = opened_rows(Sealer(codec, namespace, session_id), rows)
    return Snapshot(record, slice_messages(session_id, rows, lo, hi))


def get_record(
    namespace: str, session_id: SessionId, conn: Connection, codec: PayloadCodec = PLAIN
) -> SessionRecord | None:
    row = conn.execute(sql.SELECT_RECORD, (namespace, session_id)).fetchone()
    return None if row is None else _record(codec, namespace, row[1:], session_id)


def list_records(
    namespace: str, options: ListOptions, conn: Connection, codec: PayloadCodec = PLAIN
) -> list[SessionRecord]:
    query = sql.LIST_DESCENDING if options.newest_first else sql.LIST_ASCENDING
    limit = -1 if options.limit is None else options.limit
    rows = conn.execute(query, (namespace, limit, options.offset))
    return [_record(codec, namespace, row) for row in rows]


def scan_records(
    namespace: str, after: int, limit: int, conn: Connection, codec: PayloadCodec = PLAIN
) -> list[tuple[int, SessionRecord]]:
    rows = conn.execute(sql.SCAN_AFTER, (namespace, after, limit))
    return [(row[0], _record(codec, namespace, row[1:])) for row in rows]


def count_sessions(namespace: str, conn: Connection) -> int:
    count: int = conn.execute(sql.COUNT_SESSIONS, (namespace,)).fetchone()[0]
    return count


def list_namespaces(conn: Connection) -> list[str]:
    return [name for (name,) in conn.execute(sql.NAMESPACES)]
