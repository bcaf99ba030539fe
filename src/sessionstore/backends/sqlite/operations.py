"""The SQL work of each store method, run on the store's threads.

A read is ``work(conn)`` on the reader's connection. A write is
``work(conn, transaction)`` inside the writer's transaction, sharing the
``Transaction`` with the rest of its batch; it checks the version before it
changes or defers a row, so a conflict costs its batch-mates nothing.
"""

from __future__ import annotations

from datetime import datetime
from sqlite3 import Connection
from typing import Any

from sessionstore._errors import ConflictError
from sessionstore._messages import EncodedMessages, Message, decode_segments
from sessionstore._records import (
    ListOptions,
    SessionId,
    SessionRecord,
    datetime_from_micros,
    micros_from_datetime,
    record_from_stored,
)
from sessionstore.backends.sqlite import schema as sql
from sessionstore.backends.sqlite.transaction import Transaction, WriteState

__all__ = [
    "append_messages",
    "count_sessions",
    "delete_session",
    "get_record",
    "list_records",
    "load_messages",
    "prune_sessions",
    "save_messages",
    "scan_records",
]

_EMPTY_ARRAY = b"[]"


# -- reads: run on the reader thread ---------------------------------------------------


def _record(row: tuple[Any, ...]) -> SessionRecord:
    return record_from_stored(row[0], row[1:])


def load_messages(session_id: SessionId, conn: Connection) -> list[Message] | None:
    rows = conn.execute(sql.LOAD_SEGMENTS, (session_id,)).fetchall()
    if not rows:
        return None
    return decode_segments(session_id, [payload for _, payload in rows if payload is not None])


def get_record(session_id: SessionId, conn: Connection) -> SessionRecord | None:
    row = conn.execute(sql.SELECT_RECORD, (session_id,)).fetchone()
    return None if row is None else _record(row)


def list_records(options: ListOptions, conn: Connection) -> list[SessionRecord]:
    query = sql.LIST_DESCENDING if options.newest_first else sql.LIST_ASCENDING
    limit = -1 if options.limit is None else options.limit
    return [_record(row) for row in conn.execute(query, (limit, options.offset))]


def scan_records(after: int, limit: int, conn: Connection) -> list[tuple[int, SessionRecord]]:
    rows = conn.execute(sql.SCAN_AFTER, (after, limit))
    return [(row[0], _record(row[1:])) for row in rows]


def count_sessions(conn: Connection) -> int:
    count: int = conn.execute(sql.COUNT_SESSIONS).fetchone()[0]
    return count


# -- writes: run on the writer thread, inside the batch's transaction -------------------


def _write_state(
    conn: Connection, transaction: Transaction, session_id: SessionId, expected: int | None
) -> WriteState | None:
    """The session's write state (None if it does not exist), its version checked.

    From the state cache when it holds the session, which it does for every
    session with a deferred write, so the table is read only when it is current.
    """
    cache = transaction.state_cache
    state = None if cache is None else cache.get(session_id)
    if state is None:
        row = conn.execute(sql.SELECT_WRITE_STATE, (session_id,)).fetchone()
        if row is not None:
            state = WriteState(*row)
    actual = 0 if state is None else state.version
    if expected is not None and expected != actual:
        raise ConflictError(session_id, expected=expected, actual=actual)
    return state


def _forget(conn: Connection, transaction: Transaction, session_id: SessionId) -> None:
    """Before a save or delete rewrites the session: flush deferred writes, drop its state."""
    transaction.flush(conn)
    if transaction.state_cache is not None:
        transaction.state_cache.pop(session_id, None)


def _stamp(micros: int, transaction: Transaction) -> datetime:
    """``micros`` as a datetime, reusing the transaction's clock reading when it is that."""
    return transaction.now if micros == transaction.now_us else datetime_from_micros(micros)


def _tail_after_single(payload: bytes) -> tuple[int, int]:
    """(next_position, tail_start) for a transcript stored as just ``payload`` (maybe none)."""
    if payload == _EMPTY_ARRAY:
        return 0, 0
    return 1, 0 if len(payload) < sql.SMALL_SEGMENT_BYTES else 1


def _create(
    conn: Connection,
    transaction: Transaction,
    session_id: SessionId,
    messages: EncodedMessages,
    created_us: int,
    now: int,
) -> SessionRecord:
    next_position, tail_start = _tail_after_single(messages.payload)
    seq = transaction.next_seq()
    cursor = conn.execute(
        sql.INSERT_SESSION,
        (session_id, messages.count, created_us, now, seq, next_position, tail_start),
    )
    key = cursor.lastrowid
    assert key is not None  # set by every INSERT
    if next_position:
        transaction.write(conn, sql.APPEND_SEGMENT, (key, 0, messages.payload))
    if transaction.state_cache is not None:
        transaction.state_cache[session_id] = WriteState(
            key, 1, created_us, messages.count, next_position, tail_start
        )
    created = _stamp(created_us, transaction)
    updated = created if now == created_us else _stamp(now, transaction)
    return SessionRecord(session_id, messages.count, created, updated, 1)


def save_messages(
    session_id: SessionId,
    messages: EncodedMessages,
    expected: int | None,
    conn: Connection,
    transaction: Transaction,
    *,
    stamps: tuple[int, int] | None = None,
) -> SessionRecord:
    """Replace the transcript, creating the session if it does not exist.

    ``stamps`` = (created_us, updated_us) to write instead of the clock (restore).
    """
    state = _write_state(conn, transaction, session_id, expected)
    if stamps is None:
        now = transaction.now_us
        stamps = (now if state is None else state.created_us, now)
    if state is None:
        return _create(conn, transaction, session_id, messages, *stamps)
    _forget(conn, transaction, session_id)
    return _replace_transcript(conn, transaction, session_id, messages, state, *stamps)


def _replace_transcript(
    conn: Connection,
    transaction: Transaction,
    session_id: SessionId,
    messages: EncodedMessages,
    state: WriteState,
    created_us: int,
    now: int,
) -> SessionRecord:
    """Save over an existing session: its segments become ``messages``."""
    key = state.key
    next_position, tail_start = _tail_after_single(messages.payload)
    conn.execute(sql.DELETE_SEGMENTS, (key,))
    if next_position:
        conn.execute(sql.APPEND_SEGMENT, (key, 0, messages.payload))
    conn.execute(
        sql.UPDATE_AFTER_SAVE,
        (messages.count, created_us, now, transaction.next_seq(), next_position, tail_start, key),
    )
    created, updated = _stamp(created_us, transaction), _stamp(now, transaction)
    return SessionRecord(session_id, messages.count, created, updated, state.version + 1)


def _merge(parts: list[bytes]) -> bytes:
    """Concatenate JSON-array segments into one array without decoding them."""
    return b"[" + b",".join(part[1:-1] for part in parts if part != _EMPTY_ARRAY) + b"]"


def append_messages(
    session_id: SessionId,
    messages: EncodedMessages,
    expected: int | None,
    conn: Connection,
    transaction: Transaction,
) -> SessionRecord:
    """Append, creating the session if it does not exist; merge a full run of small segments.

    The new state is computed from the write state (cached by the writer, so
    usually no read) and both writes are deferred to the batch's executemany;
    only a merge reads and writes at once.
    """
    state = _write_state(conn, transaction, session_id, expected)
    now = transaction.now_us
    if state is None:
        return _create(conn, transaction, session_id, messages, now, now)
    key, next_position, tail_start = state.key, state.next_position, state.tail_start
    payload = messages.payload
    position = next_position
    if payload != _EMPTY_ARRAY:
        if len(payload) >= sql.SMALL_SEGMENT_BYTES:
            next_position = tail_start = next_position + 1
        elif next_position - tail_start < sql.MAX_SMALL_RUN:
            next_position += 1
        else:  # the run of small segments is full: it restarts as one, merged with this
            transaction.flush(conn)  # the run's segments may still be deferred
            parts = [part for (part,) in conn.execute(sql.SELECT_SEGMENTS_FROM, (key, tail_start))]
            payload = _merge([*parts, payload])
            conn.execute(sql.DELETE_SEGMENTS_FROM, (key, tail_start))
            position = tail_start
            next_position = tail_start + 1
            if len(payload) >= sql.SMALL_SEGMENT_BYTES:
                tail_start = next_position
        transaction.write(conn, sql.APPEND_SEGMENT, (key, position, payload))
    version = state.version + 1
    count = state.message_count + messages.count
    transaction.write(
        conn,
        sql.UPDATE_AFTER_APPEND,
        (count, now, version, transaction.next_seq(), next_position, tail_start, key),
    )
    if transaction.state_cache is not None:
        transaction.state_cache[session_id] = WriteState(
            key, version, state.created_us, count, next_position, tail_start
        )
    created = _stamp(state.created_us, transaction)
    return SessionRecord(session_id, count, created, transaction.now, version)


def delete_session(session_id: SessionId, conn: Connection, transaction: Transaction) -> None:
    state = _write_state(conn, transaction, session_id, None)
    if state is not None:
        _forget(conn, transaction, session_id)
        conn.execute(sql.DELETE_SEGMENTS, (state.key,))
        conn.execute(sql.DELETE_SESSION, (state.key,))


def prune_sessions(
    updated_before: datetime | None,
    keep_newest: int | None,
    conn: Connection,
    transaction: Transaction,
) -> int:
    query = sql.PRUNE_SELECT_KEYS[(updated_before is not None, keep_newest is not None)]
    params: list[int] = []
    if updated_before is not None:
        params.append(micros_from_datetime(updated_before))
    if keep_newest is not None:
        params.append(keep_newest)
    transaction.flush(conn)
    if transaction.state_cache is not None:
        transaction.state_cache.clear()  # the deleted sessions are known here by key only
    keys = [key for (key,) in conn.execute(query, params)]
    conn.executemany(sql.DELETE_SEGMENTS, [(key,) for key in keys])
    conn.executemany(sql.DELETE_SESSION, [(key,) for key in keys])
    return len(keys)
