"""The SQL work of the writes that change part of a session, on the writer thread.

``pop`` and ``replace_tail`` touch only the segments from the cut on; ``fork``
copies segment rows inside SQLite (only a segment cut at ``stop`` passes
through Python); ``update_attributes`` rewrites one column and the version.
Each checks the version (and that the session exists) before it writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from sqlite3 import Connection
from typing import Any

from sessionstore._errors import SessionNotFoundError
from sessionstore._messages import EncodedMessages, Message, decode_segments
from sessionstore._records import SessionId, SessionRecord, record_from_stored, resolve_index
from sessionstore.backends.sqlite import schema as sql
from sessionstore.backends.sqlite.operations import (
    encoded_attributes,
    forget,
    merged,
    remember,
    stamp,
    write_state,
)
from sessionstore.backends.sqlite.segments import (
    Run,
    check_fits,
    join,
    place,
    split_raw,
    truncate,
)
from sessionstore.backends.sqlite.transaction import Transaction, WriteState

__all__ = ["fork_session", "pop_messages", "replace_tail", "update_attributes"]

_NOTHING = EncodedMessages(b"[]", 0)


def _rewritten(
    conn: Connection,
    transaction: Transaction,
    namespace: str,
    session_id: SessionId,
    state: WriteState,
    count: int,
    run: Run,
) -> SessionRecord:
    """Record a write that left ``count`` messages and ``run``: version + 1, new seq and time."""
    version, now = state.version + 1, transaction.now_us
    conn.execute(
        sql.UPDATE_AFTER_APPEND,
        (count, now, version, transaction.next_seq(), run.tail_start, run.small_run, state.key),
    )
    new = WriteState(state.key, version, state.created_us, count, *run, state.attributes)
    remember(transaction, namespace, session_id, new)
    created = stamp(state.created_us, transaction)
    return SessionRecord(session_id, count, created, transaction.now, version, state.attributes)


def pop_messages(
    namespace: str,
    session_id: SessionId,
    count: int,
    expected: int | None,
    conn: Connection,
    transaction: Transaction,
) -> list[Message]:
    """Remove and return the last ``count`` messages; nothing written for an empty session."""
    state = write_state(conn, transaction, namespace, session_id, expected)
    if state is None or state.message_count == 0:
        return []
    length = state.message_count
    at = max(0, length - count)
    forget(conn, transaction, namespace, session_id)
    run = Run(state.tail_start, state.small_run)
    cut = truncate(conn, session_id, state.key, length, run, at)
    popped = decode_segments(session_id, cut.removed)  # CorruptSessionError undoes the cut
    _rewritten(conn, transaction, namespace, session_id, state, at, cut.run)
    return popped


def replace_tail(
    namespace: str,
    session_id: SessionId,
    start: int,
    messages: EncodedMessages,
    expected: int | None,
    conn: Connection,
    transaction: Transaction,
) -> SessionRecord:
    """Replace messages ``[start:]`` with ``messages``; SessionNotFoundError if unknown."""
    check_fits(conn, session_id, messages)
    state = write_state(conn, transaction, namespace, session_id, expected)
    if state is None:
        raise SessionNotFoundError(session_id, "replace_tail")
    length = state.message_count
    at = resolve_index(start, length)
    forget(conn, transaction, namespace, session_id)
    run = Run(state.tail_start, state.small_run)
    run = truncate(conn, session_id, state.key, length, run, at).run
    run = place(conn, transaction, state.key, at, run, messages.payload, messages.count)
    return _rewritten(conn, transaction, namespace, session_id, state, at + messages.count, run)


def _copy_segments(
    conn: Connection, session_id: SessionId, source_key: int, target_key: int, stop: int
) -> None:
    """Copy the first ``stop`` messages' segments inside SQLite; cut the one straddling ``stop``."""
    conn.execute(sql.COPY_SEGMENTS, (source_key, target_key, stop))
    row = conn.execute(sql.LAST_SEGMENT_BEFORE, (source_key, stop)).fetchone()
    if row is not None and row[0] + row[1] > stop:
        first, _, payload = row
        prefix = join(split_raw(session_id, payload)[: stop - first])
        conn.execute(sql.APPEND_SEGMENT, (target_key, first, stop - first, prefix))


def fork_session(
    namespace: str,
    source_id: SessionId,
    target_id: SessionId,
    stop: int | None,
    expected: int | None,
    conn: Connection,
    transaction: Transaction,
) -> SessionRecord:
    """Copy ``source[:stop]`` and its attributes over ``target``, as a save of the target."""
    source = write_state(conn, transaction, namespace, source_id, None)
    if source is None:
        raise SessionNotFoundError(source_id, "fork")
    if source_id == target_id:  # a save of itself, cut at ``stop``
        at = source.message_count if stop is None else resolve_index(stop, source.message_count)
        return replace_tail(namespace, source_id, at, _NOTHING, expected, conn, transaction)
    target = write_state(conn, transaction, namespace, target_id, expected)
    length = source.message_count if stop is None else resolve_index(stop, source.message_count)
    attributes = source.attributes
    transaction.flush(conn)  # the source's segments may still be deferred
    now, seq = transaction.now_us, transaction.next_seq()
    if target is None:
        created_us, version = now, 1
        key = conn.execute(
            sql.INSERT_SESSION,
            (
                namespace,
                target_id,
                length,
                now,
                now,
                seq,
                length,
                0,
                encoded_attributes(attributes),
            ),
        ).lastrowid
        assert key is not None  # set by every INSERT
    else:
        created_us, version, key = target.created_us, target.version + 1, target.key
        forget(conn, transaction, namespace, target_id)
        conn.execute(sql.DELETE_SEGMENTS, (key,))
        conn.execute(sql.UPDATE_AFTER_SAVE, (length, created_us, now, seq, length, 0, key))
        conn.execute(sql.UPDATE_ATTRIBUTES, (encoded_attributes(attributes), key))
    _copy_segments(conn, source_id, source.key, key, length)
    state = WriteState(key, version, created_us, length, length, 0, attributes)
    remember(transaction, namespace, target_id, state)
    created = stamp(created_us, transaction)
    return SessionRecord(target_id, length, created, transaction.now, version, attributes)


def update_attributes(
    namespace: str,
    session_id: SessionId,
    changes: Mapping[str, Any],
    expected: int | None,
    conn: Connection,
    transaction: Transaction,
) -> SessionRecord:
    """Merge ``changes``; version + 1, ``updated_us`` and ``seq`` unchanged."""
    state = write_state(conn, transaction, namespace, session_id, expected)
    if state is None:
        raise SessionNotFoundError(session_id, "update_attributes")
    attributes = merged(state.attributes, changes)
    forget(conn, transaction, namespace, session_id)  # a deferred append sets the version
    version = state.version + 1
    conn.execute(sql.SET_ATTRIBUTES_BUMP, (encoded_attributes(attributes), version, state.key))
    row = conn.execute(sql.SELECT_RECORD_BY_KEY, (state.key,)).fetchone()
    new = WriteState(
        state.key, version, state.created_us, state.message_count,
        state.tail_start, state.small_run, attributes,
    )  # fmt: skip
    remember(transaction, namespace, session_id, new)
    return record_from_stored(session_id, row[1:5], attributes)
