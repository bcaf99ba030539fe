"""Transcript segments: splitting, slicing and placing the JSON-array blobs of ``segments``.

A segment is a JSON array of messages with the index of its first message and
their count, so a slice reads only the segments it overlaps and decodes only
the messages it returns: a boundary segment is cut at the byte level
(``list[msgspec.Raw]`` finds each message's bytes without building structs).
``place`` adds messages at the end of a transcript, keeping the small trailing
run bounded; ``truncate`` cuts a transcript at a message index, touching only
the segments from there on.
"""

from __future__ import annotations

import sqlite3
from bisect import bisect_left
from collections.abc import Sequence
from itertools import accumulate
from sqlite3 import Connection
from typing import NamedTuple

import msgspec

from sessionstore._errors import CorruptSessionError, InvalidMessageError
from sessionstore._messages import EncodedMessages, Message, decode_segments
from sessionstore.backends.sqlite import schema as sql
from sessionstore.backends.sqlite.transaction import Transaction

__all__ = [
    "ROW_OVERHEAD",
    "Cut",
    "Run",
    "check_fits",
    "layout",
    "place",
    "slice_messages",
    "split_payload",
    "split_raw",
    "truncate",
    "write_rows",
]

EMPTY_ARRAY = b"[]"
_RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])

#: A stored segment as ``SELECT_SLICE`` returns it: (first_index, message_count, payload).
SegmentRow = tuple[int, int, bytes]


class Run(NamedTuple):
    """Where the small trailing run starts (a message index) and how many segments it holds."""

    tail_start: int
    small_run: int


#: Bytes a segment row holds beside its payload, at most: the record header and the three
#: integers (``session_key``, ``first_index``, ``message_count``) of nine bytes or fewer each.
ROW_OVERHEAD = 64


def check_fits(conn: Connection, session_id: str, messages: EncodedMessages) -> None:
    """Refuse, before anything is written, a message too large for SQLite to store.

    SQLite stores at most ``SQLITE_LIMIT_LENGTH`` bytes in one blob or row (one
    billion unless built otherwise; read from the connection, never assumed).
    A write of any size is laid out in segments of about ``SMALL_SEGMENT_BYTES``,
    but a message is never split, and a segment is the messages before it in
    that segment (under ``SMALL_SEGMENT_BYTES``) plus the message: so a message
    may take ``SQLITE_LIMIT_LENGTH - SMALL_SEGMENT_BYTES - ROW_OVERHEAD`` bytes of
    JSON. Only a write near that size is parsed to find its largest message.
    (A merged run of small segments stays under ``(MAX_SMALL_RUN + 1) *
    SMALL_SEGMENT_BYTES``, about half a megabyte: a limit set below that is not
    supported.)
    """
    limit = conn.getlimit(sqlite3.SQLITE_LIMIT_LENGTH)
    most = limit - sql.SMALL_SEGMENT_BYTES - ROW_OVERHEAD
    if len(messages.payload) <= most:
        return
    sizes = [len(raw) for raw in split_raw(session_id, messages.payload)]
    largest = max(sizes)
    if largest > most:
        index = sizes.index(largest)
        raise InvalidMessageError(
            f"session {session_id!r}: message {index} encodes to {largest:,} bytes of JSON, "
            f"more than the {most:,} bytes SQLite stores in one message here (its "
            f"SQLITE_LIMIT_LENGTH of {limit:,} bytes per blob, less a segment's room); "
            "nothing was written",
            index=index,
        )


def split_raw(session_id: str, payload: bytes) -> list[msgspec.Raw]:
    """The messages of a segment, each as its JSON bytes; CorruptSessionError if it is not JSON."""
    try:
        return _RAW_LIST.decode(payload)
    except msgspec.DecodeError as exc:
        raise CorruptSessionError(session_id, f"a segment does not decode: {exc}") from exc


def join(items: Sequence[msgspec.Raw | bytes]) -> bytes:
    """Messages' JSON bytes as one JSON array."""
    return b"[" + b",".join(items) + b"]"


def split_payload(payload: bytes, count: int) -> list[SegmentRow]:
    """``payload`` as segments of about ``SMALL_SEGMENT_BYTES`` (first index relative to 0).

    A payload under twice that size stays one segment (no parse at all). A
    payload in the compact form ``encode_messages`` writes (one comma between
    messages, no whitespace) is cut into slices of itself: only the messages'
    lengths are computed, never a list of their bytes built in Python.
    """
    if len(payload) < 2 * sql.SMALL_SEGMENT_BYTES:
        return [(0, count, payload)]
    raws = _RAW_LIST.decode(payload)
    # ends[i]: the offset just past message i, where its comma (or the "]") is.
    ends = list(accumulate(len(raw) + 1 for raw in raws))
    if len(ends) != count or ends[-1] + 1 != len(payload):  # not compact: rebuild the arrays
        return _split_items(raws)
    chunks: list[SegmentRow] = []
    first, start = 0, 1
    while first < count:
        last = min(bisect_left(ends, start + sql.SMALL_SEGMENT_BYTES - 1, lo=first), count - 1)
        chunks.append((first, last + 1 - first, b"[" + payload[start : ends[last]] + b"]"))
        first, start = last + 1, ends[last] + 1
    return chunks


def _split_items(raws: list[msgspec.Raw]) -> list[SegmentRow]:
    """Messages' JSON bytes grouped into arrays of about ``SMALL_SEGMENT_BYTES``."""
    chunks: list[SegmentRow] = []
    first = size = 0
    items: list[msgspec.Raw] = []
    for raw in raws:
        items.append(raw)
        size += len(raw) + 1
        if size >= sql.SMALL_SEGMENT_BYTES:
            chunks.append((first, len(items), join(items)))
            first += len(items)
            items, size = [], 0
    if items:
        chunks.append((first, len(items), join(items)))
    return chunks


def slice_messages(session_id: str, rows: list[SegmentRow], lo: int, hi: int) -> list[Message]:
    """Messages ``[lo:hi]`` from the segments that hold them; whole segments decode as stored."""
    parts: list[bytes] = []
    for first, count, payload in rows:
        if first >= lo and first + count <= hi:
            parts.append(payload)
        else:
            raws = split_raw(session_id, payload)
            parts.append(join(raws[max(0, lo - first) : max(0, hi - first)]))
    return decode_segments(session_id, parts)


def _merge(parts: list[bytes]) -> bytes:
    """Concatenate JSON-array segments into one array without decoding them."""
    return b"[" + b",".join(part[1:-1] for part in parts if part != EMPTY_ARRAY) + b"]"


def layout(payload: bytes, count: int, length: int) -> tuple[list[SegmentRow], Run]:
    """The segments of ``payload`` stored after ``length`` messages, and the run they leave.

    A payload that ends in a small segment starts a new run with it.
    """
    if count == 0:
        return [], Run(length, 0)
    chunks = [(length + first, size, chunk) for first, size, chunk in split_payload(payload, count)]
    last_first, _, last = chunks[-1]
    if len(last) < sql.SMALL_SEGMENT_BYTES:
        return chunks, Run(last_first, 1)
    return chunks, Run(length + count, 0)


def write_rows(
    conn: Connection, transaction: Transaction, key: int, rows: list[SegmentRow]
) -> None:
    """Insert ``rows`` as segments of session ``key`` (deferred while the cache is on)."""
    for row in rows:
        transaction.write(conn, sql.APPEND_SEGMENT, (key, *row))


def place(
    conn: Connection,
    transaction: Transaction,
    key: int,
    length: int,
    run: Run,
    payload: bytes,
    count: int,
) -> Run:
    """Add ``count`` messages after the ``length`` stored; return the new run.

    A large payload is laid out on its own (``layout``), closing the run. A
    small one joins the run; when the run is full, it is merged with it into
    one segment (byte level, at most ``MAX_SMALL_RUN`` segments read). Rows go
    through ``transaction.write``.
    """
    if count == 0:
        return run
    if len(payload) >= sql.SMALL_SEGMENT_BYTES:
        rows, new = layout(payload, count, length)
        write_rows(conn, transaction, key, rows)
        return new
    if run.small_run < sql.MAX_SMALL_RUN:
        transaction.write(conn, sql.APPEND_SEGMENT, (key, length, count, payload))
        return Run(run.tail_start if run.small_run else length, run.small_run + 1)
    transaction.flush(conn)  # the run's segments may still be deferred
    rows = conn.execute(sql.SELECT_SEGMENTS_FROM, (key, run.tail_start)).fetchall()
    first = rows[0][0] if rows else length
    merged = _merge([*(part for _, _, part in rows), payload])
    conn.execute(sql.DELETE_SEGMENTS_FROM, (key, run.tail_start))
    total = length + count - first
    transaction.write(conn, sql.APPEND_SEGMENT, (key, first, total, merged))
    if len(merged) >= sql.SMALL_SEGMENT_BYTES:
        return Run(length + count, 0)
    return Run(first, 1)


class Cut(NamedTuple):
    """What ``truncate`` removed (the messages' JSON, as parts of arrays) and the run left."""

    removed: list[bytes]
    run: Run


def truncate(conn: Connection, session_id: str, key: int, length: int, run: Run, at: int) -> Cut:
    """Cut the transcript of ``length`` messages to its first ``at``; rows written directly.

    Reads and rewrites only the segments from the one holding message ``at`` on
    (the caller flushed the transaction's deferred rows first).
    """
    if at >= length:
        return Cut([], run)
    rows: list[SegmentRow] = conn.execute(sql.SELECT_SLICE, (key, at, length)).fetchall()
    if not rows:
        return Cut([], Run(at, 0))
    first, _, head = rows[0]
    removed = [payload for _, _, payload in rows[1:]]
    prefix = b""
    if first < at:
        raws = split_raw(session_id, head)
        prefix = join(raws[: at - first])
        removed.insert(0, join(raws[at - first :]))
    else:
        removed.insert(0, head)
    conn.execute(sql.DELETE_SEGMENTS_FROM, (key, first))
    if prefix:
        conn.execute(sql.APPEND_SEGMENT, (key, first, at - first, prefix))
    if run.small_run and first >= run.tail_start:  # the cut fell inside the run
        left = run.small_run - len(rows) + (1 if prefix else 0)
        return Cut(removed, Run(run.tail_start, left) if left > 0 else Run(at, 0))
    if prefix and len(prefix) < sql.SMALL_SEGMENT_BYTES:
        return Cut(removed, Run(first, 1))
    return Cut(removed, Run(at, 0))
