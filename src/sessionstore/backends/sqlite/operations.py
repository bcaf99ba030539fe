"""The SQL work of the writes that replace, add or delete whole sessions, on the writer thread.

A write is ``work(conn, transaction)`` inside the writer's transaction, sharing
the ``Transaction`` with the rest of its batch; it checks the version (and
merges attributes, which may refuse) before it changes or defers a row, so a
refusal costs its batch-mates nothing. ``edits`` holds the writes that change
part of a session.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from sqlite3 import Connection
from types import MappingProxyType
from typing import Any

from sessionstore._attributes import decode_attributes, encode_attributes, merge_attributes
from sessionstore._errors import ConflictError
from sessionstore._messages import EncodedMessages
from sessionstore._records import (
    NO_ATTRIBUTES,
    SessionId,
    SessionRecord,
    datetime_from_micros,
    micros_from_datetime,
)
from sessionstore.backends.sqlite import schema as sql
from sessionstore.backends.sqlite.segments import Run, check_fits, layout, place, write_rows
from sessionstore.backends.sqlite.transaction import Transaction, WriteState

__all__ = [
    "append_messages",
    "clear_namespace",
    "delete_session",
    "encoded_attributes",
    "forget",
    "merged",
    "prune_sessions",
    "remember",
    "save_messages",
    "stamp",
    "write_state",
]


def write_state(
    conn: Connection,
    transaction: Transaction,
    namespace: str,
    session_id: SessionId,
    expected: int | None,
) -> WriteState | None:
    """The session's write state (None if it does not exist), its version checked.

    From the state cache when it holds the session, which it does for every
    session with a deferred write, so the table is read only when it is current.
    """
    cache = transaction.state_cache
    state = None if cache is None else cache.get((namespace, session_id))
    if state is None:
        row = conn.execute(sql.SELECT_WRITE_STATE, (namespace, session_id)).fetchone()
        if row is not None:
            key, version, created_us, count, tail_start, small_run, raw = row
            attributes = decode_attributes(session_id, raw)
            state = WriteState(key, version, created_us, count, tail_start, small_run, attributes)
    actual = 0 if state is None else state.version
    if expected is not None and expected != actual:
        raise ConflictError(session_id, expected=expected, actual=actual)
    return state


def forget(conn: Connection, transaction: Transaction, namespace: str, session_id: str) -> None:
    """Before a write that reads or rewrites segments: flush deferred writes, drop its state."""
    transaction.flush(conn)
    if transaction.state_cache is not None:
        transaction.state_cache.pop((namespace, session_id), None)


def remember(transaction: Transaction, namespace: str, session_id: str, state: WriteState) -> None:
    """Keep ``state`` as the session's write state (when the cache is on)."""
    if transaction.state_cache is not None:
        transaction.state_cache[(namespace, session_id)] = state


def stamp(micros: int, transaction: Transaction) -> datetime:
    """``micros`` as a datetime, reusing the transaction's clock reading when it is that."""
    return transaction.now if micros == transaction.now_us else datetime_from_micros(micros)


def merged(current: Mapping[str, Any], changes: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """The attributes after ``changes`` (None = unchanged); InvalidArgumentError if too big."""
    if changes is None:
        return current
    result = merge_attributes(current, changes)
    return MappingProxyType(result) if result else NO_ATTRIBUTES


def encoded_attributes(attributes: Mapping[str, Any]) -> bytes | None:
    """What the ``attributes`` column holds: None for none."""
    return encode_attributes(attributes) if attributes else None


def _create(
    conn: Connection,
    transaction: Transaction,
    namespace: str,
    session_id: SessionId,
    messages: EncodedMessages,
    stamps: tuple[int, int],
    attributes: Mapping[str, Any],
) -> SessionRecord:
    created_us, now = stamps
    rows, run = layout(messages.payload, messages.count, 0)
    cursor = conn.execute(
        sql.INSERT_SESSION,
        (namespace, session_id, messages.count, created_us, now, transaction.next_seq(), *run,
         encoded_attributes(attributes)),
    )  # fmt: skip
    key = cursor.lastrowid
    assert key is not None  # set by every INSERT
    write_rows(conn, transaction, key, rows)
    state = WriteState(key, 1, created_us, messages.count, *run, attributes)
    remember(transaction, namespace, session_id, state)
    created = stamp(created_us, transaction)
    updated = created if now == created_us else stamp(now, transaction)
    return SessionRecord(session_id, messages.count, created, updated, 1, attributes)


def save_messages(
    namespace: str,
    session_id: SessionId,
    messages: EncodedMessages,
    expected: int | None,
    changes: Mapping[str, Any] | None,
    conn: Connection,
    transaction: Transaction,
    *,
    stamps: tuple[int, int] | None = None,
    exact: Mapping[str, Any] | None = None,
) -> SessionRecord:
    """Replace the transcript, creating the session if it does not exist.

    ``stamps`` = (created_us, updated_us) to write instead of the clock, and
    ``exact`` the attributes to end up with instead of a merge (restore).
    """
    check_fits(conn, session_id, messages)
    state = write_state(conn, transaction, namespace, session_id, expected)
    current = NO_ATTRIBUTES if state is None else state.attributes
    attributes = merged(current, changes) if exact is None else exact
    if stamps is None:
        now = transaction.now_us
        stamps = (now if state is None else state.created_us, now)
    if state is None:
        return _create(conn, transaction, namespace, session_id, messages, stamps, attributes)
    forget(conn, transaction, namespace, session_id)
    key = state.key
    conn.execute(sql.DELETE_SEGMENTS, (key,))
    rows, run = layout(messages.payload, messages.count, 0)
    write_rows(conn, transaction, key, rows)
    created_us, now = stamps
    conn.execute(
        sql.UPDATE_AFTER_SAVE,
        (messages.count, created_us, now, transaction.next_seq(), *run, key),
    )
    if attributes is not current:
        conn.execute(sql.UPDATE_ATTRIBUTES, (encoded_attributes(attributes), key))
    version = state.version + 1
    new = WriteState(key, version, created_us, messages.count, *run, attributes)
    remember(transaction, namespace, session_id, new)
    created, updated = stamp(created_us, transaction), stamp(now, transaction)
    return SessionRecord(session_id, messages.count, created, updated, version, attributes)


def append_messages(
    namespace: str,
    session_id: SessionId,
    messages: EncodedMessages,
    expected: int | None,
    changes: Mapping[str, Any] | None,
    conn: Connection,
    transaction: Transaction,
) -> SessionRecord:
    """Append, creating the session if it does not exist; merge a full run of small segments.

    The new state is computed from the write state (cached by the writer, so
    usually no read) and both writes are deferred to the batch's executemany;
    only a merge reads and writes at once.
    """
    check_fits(conn, session_id, messages)
    state = write_state(conn, transaction, namespace, session_id, expected)
    now = transaction.now_us
    if state is None:
        attributes = merged(NO_ATTRIBUTES, changes)
        return _create(conn, transaction, namespace, session_id, messages, (now, now), attributes)
    attributes = merged(state.attributes, changes)
    key, length = state.key, state.message_count
    if attributes is not state.attributes:  # the column no deferred write touches
        conn.execute(sql.UPDATE_ATTRIBUTES, (encoded_attributes(attributes), key))
    run = Run(state.tail_start, state.small_run)
    run = place(conn, transaction, key, length, run, messages.payload, messages.count)
    version = state.version + 1
    count = length + messages.count
    transaction.write(
        conn,
        sql.UPDATE_AFTER_APPEND,
        (count, now, version, transaction.next_seq(), run.tail_start, run.small_run, key),
    )
    new = WriteState(key, version, state.created_us, count, *run, attributes)
    remember(transaction, namespace, session_id, new)
    created = stamp(state.created_us, transaction)
    return SessionRecord(session_id, count, created, transaction.now, version, attributes)


def delete_session(
    namespace: str, session_id: SessionId, conn: Connection, transaction: Transaction
) -> None:
    state = write_state(conn, transaction, namespace, session_id, None)
    if state is not None:
        forget(conn, transaction, namespace, session_id)
        conn.execute(sql.DELETE_SEGMENTS, (state.key,))
        conn.execute(sql.DELETE_SESSION, (state.key,))


def _forget_all(conn: Connection, transaction: Transaction) -> None:
    """Before deleting sessions known by key only: flush, and drop every cached state."""
    transaction.flush(conn)
    if transaction.state_cache is not None:
        transaction.state_cache.clear()


def prune_sessions(
    namespace: str,
    updated_before: datetime | None,
    keep_newest: int | None,
    conn: Connection,
    transaction: Transaction,
) -> int:
    query = sql.PRUNE_SELECT_KEYS[(updated_before is not None, keep_newest is not None)]
    before = None if updated_before is None else micros_from_datetime(updated_before)
    params = (namespace, before) if keep_newest is None else (namespace, before, keep_newest)
    _forget_all(conn, transaction)
    keys = [(key,) for (key,) in conn.execute(query, params)]
    conn.executemany(sql.DELETE_SEGMENTS, keys)
    conn.executemany(sql.DELETE_SESSION, keys)
    return len(keys)


def clear_namespace(namespace: str, conn: Connection, transaction: Transaction) -> int:
    _forget_all(conn, transaction)
    conn.execute(sql.CLEAR_SEGMENTS, (namespace,))
    deleted: int = conn.execute(sql.CLEAR_SESSIONS, (namespace,)).rowcount
    return deleted
