"""Export, import and copy: moving whole sessions between stores and JSON Lines files.

Everything streams page by page (or line by line) so memory stays bounded by
one session, not by the size of the store or the file (the ids already met
move to a temporary database past 100,000 of them; see ``_seen``). Only the public
``SessionStore`` API is used, so every backend works the same way.

The JSON Lines format, one session per line::

    {"id": "...", "created_at": "2026-01-02T03:04:05.000006Z",
     "updated_at": "...", "messages": [ ...messages in their JSON form... ]}

What survives a round trip: ids, messages and their order, the order of
sessions in the listing (import writes them in file order), and ``created_at``
and ``updated_at`` on a target that ``supports_restore`` (every built-in
backend; on others they are stamped by the target's clock). Versions start
again at 1.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, Literal

import msgspec

from sessionstore._errors import ConflictError, InvalidArgumentError, SessionStoreError
from sessionstore._messages import Message, encode_messages
from sessionstore._records import SessionId, SessionRecord, validate_session_id
from sessionstore._store import SessionStore
from sessionstore.cli._seen import IN_MEMORY, SeenIds
from sessionstore.cli._util import (
    PAGE_SIZE,
    UnknownSessionError,
    encode_json,
    format_timestamp,
    json_type_name,
    safe_text,
    scan_once,
)

__all__ = [
    "ImportInterruptedError",
    "ImportSummary",
    "LineProblem",
    "OnConflict",
    "copy_sessions",
    "export_line",
    "import_sessions",
    "iter_sessions",
    "spool",
    "validate_import",
    "write_session",
]

OnConflict = Literal["fail", "skip", "replace"]

_REQUIRED_FIELDS = ("id", "messages")
_OPTIONAL_FIELDS = ("created_at", "updated_at")
_MAX_REPORTED = 20


# -- reading sessions out of a store ---------------------------------------------


def _unique(ids: Sequence[str]) -> list[SessionId]:
    seen: dict[SessionId, None] = {}
    for raw in ids:
        seen.setdefault(validate_session_id(raw), None)
    return list(seen)


async def iter_sessions(
    store: SessionStore, ids: Sequence[str] | None = None, *, page_size: int = PAGE_SIZE
) -> AsyncIterator[tuple[SessionRecord, list[Message]]]:
    """Yield ``(record, transcript)`` for ``ids`` (all must exist) or for every session.

    Without ids every session is read once, page by page in listing order
    (oldest write first), with ``scan_once``: safe on a store being written,
    where no session that exists throughout is skipped and one written
    meanwhile may come with its earlier state. A session deleted between
    listing and loading is skipped.
    """
    records = scan_once(store, page_size) if ids is None else _named(store, ids)
    async for record in records:
        messages = await store.load(record.id)
        if messages is not None:
            yield record, messages


async def _named(store: SessionStore, ids: Sequence[str]) -> AsyncIterator[SessionRecord]:
    """The records of ``ids`` (each once, in the given order), once all are known to exist."""
    records: list[SessionRecord] = []
    for sid in _unique(ids):
        record = await store.get(sid)
        if record is None:
            raise UnknownSessionError(sid)
        records.append(record)
    for record in records:
        yield record


def export_line(record: SessionRecord, messages: list[Message]) -> bytes:
    """One session as a JSON Lines line (with its trailing newline)."""
    return (
        encode_json(
            {
                "id": str(record.id),
                "created_at": format_timestamp(record.created_at),
                "updated_at": format_timestamp(record.updated_at),
                "messages": messages,
            }
        )
        + b"\n"
    )


async def write_session(
    target: SessionStore,
    session_id: SessionId,
    messages: Sequence[Any],
    timestamps: tuple[datetime, datetime] | None,
    *,
    expected_version: int | None = None,
) -> SessionRecord:
    """``restore`` with ``timestamps`` (created_at, updated_at) when the target can, else ``save``.

    A created_at later than updated_at (writers with skewed clocks) is lowered
    to updated_at, which ``prune`` goes by.
    """
    if timestamps is None or not target.supports_restore:
        return await target.save(session_id, messages, expected_version=expected_version)
    created_at, updated_at = timestamps
    return await target.restore(
        session_id,
        messages,
        created_at=min(created_at, updated_at),
        updated_at=updated_at,
        expected_version=expected_version,
    )


async def copy_sessions(
    source: SessionStore,
    target: SessionStore,
    ids: Sequence[str] | None = None,
    *,
    on_copied: Callable[[SessionRecord], None] | None = None,
    page_size: int = PAGE_SIZE,
) -> int:
    """Copy sessions from ``source`` to ``target``, replacing any of the same id; return how many.

    Timestamps are kept when the target ``supports_restore``. Idempotent:
    re-running it makes each target session equal the source's again.
    """
    copied = 0
    async for record, messages in iter_sessions(source, ids, page_size=page_size):
        await write_session(target, record.id, messages, (record.created_at, record.updated_at))
        copied += 1
        if on_copied is not None:
            on_copied(record)
    return copied


# -- importing a JSON Lines file -------------------------------------------------


class ImportInterruptedError(SessionStoreError):
    """An import found a conflict only while writing; earlier sessions are already written."""


@dataclass(frozen=True, slots=True)
class LineProblem:
    """What is wrong with one line of an import file (1-based ``line``)."""

    line: int
    problem: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.problem}"


@dataclass(slots=True)
class ImportSummary:
    """The outcome of an import: sessions created, replaced and skipped."""

    created: int = 0
    replaced: int = 0
    skipped: int = 0
    problems: list[LineProblem] = field(default_factory=list)
    problem_count: int = 0


def spool(source: IO[bytes], *, chunk_size: int = 1 << 20) -> IO[bytes]:
    """Copy a one-pass stream (stdin) to a temporary file, rewound, so it can be read twice."""
    spooled = tempfile.TemporaryFile()  # noqa: SIM115 - returned open; the caller closes it
    shutil.copyfileobj(source, spooled, chunk_size)
    spooled.seek(0)
    return spooled


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    for number, raw in enumerate(stream, start=1):
        line = raw.strip()
        if number == 1 and line.startswith(b"\xef\xbb\xbf"):
            line = line[3:].lstrip()
        if line:
            yield number, line


@dataclass(frozen=True, slots=True)
class ImportLine:
    """One valid line of an import file; ``timestamps`` when it has both of them."""

    session_id: SessionId
    messages: list[Any]
    timestamps: tuple[datetime, datetime] | None


def parse_line(line: bytes) -> ImportLine:
    """Validate one import line and return it, or raise saying what is wrong."""
    try:
        value = msgspec.json.decode(line)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise InvalidArgumentError(f"not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise InvalidArgumentError(f"expected a JSON object, got {json_type_name(value)}")
    unknown = sorted(set(value) - set(_REQUIRED_FIELDS) - set(_OPTIONAL_FIELDS))
    if unknown:
        raise InvalidArgumentError(f"unknown field {safe_text(unknown[0], quote=True)}")
    for name in _REQUIRED_FIELDS:
        if name not in value:
            raise InvalidArgumentError(f'missing field "{name}"')
    session_id = validate_session_id(value["id"])
    messages = value["messages"]
    if not isinstance(messages, list):
        raise InvalidArgumentError(f'"messages" must be an array, got {json_type_name(messages)}')
    encode_messages(messages)
    moments = [_parse_timestamp(name, value[name]) for name in _OPTIONAL_FIELDS if name in value]
    timestamps = (moments[0], moments[1]) if len(moments) == 2 else None
    return ImportLine(session_id, messages, timestamps)


def _parse_timestamp(name: str, value: Any) -> datetime:
    if not isinstance(value, str):
        raise InvalidArgumentError(f'"{name}" must be a string, got {json_type_name(value)}')
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidArgumentError(f'"{name}" is not an ISO-8601 timestamp: {value!r}') from exc
    if moment.utcoffset() is None:
        raise InvalidArgumentError(f'"{name}" has no UTC offset: {value!r}')
    return moment


def validate_import(
    stream: IO[bytes], *, in_memory: int = IN_MEMORY
) -> tuple[list[LineProblem], int, int]:
    """Check every line of ``stream``; return (first problems, number of problems, sessions).

    Duplicate ids within the file are problems. Holds only the ids, never the messages
    (past ``in_memory`` ids, in a temporary database).
    """
    problems: list[LineProblem] = []
    problem_count = 0
    with SeenIds(in_memory) as first_line:
        for number, line in _lines(stream):
            try:
                session_id = parse_line(line).session_id
            except SessionStoreError as exc:
                problem = LineProblem(number, str(exc))
            else:
                earlier = first_line.setdefault(session_id, number)
                if earlier == number:
                    continue
                shown = safe_text(session_id, quote=True)
                problem = LineProblem(number, f"duplicate id {shown} (first on line {earlier})")
            problem_count += 1
            if len(problems) < _MAX_REPORTED:
                problems.append(problem)
        return problems, problem_count, len(first_line)


async def _existing(store: SessionStore, stream: IO[bytes]) -> tuple[list[LineProblem], int]:
    problems: list[LineProblem] = []
    count = 0
    for number, line in _lines(stream):
        session_id = parse_line(line).session_id
        if await store.get(session_id) is not None:
            count += 1
            if len(problems) < _MAX_REPORTED:
                problems.append(
                    LineProblem(
                        number,
                        f"session {safe_text(session_id, quote=True)} already exists in the "
                        "store (use --on-conflict skip or replace)",
                    )
                )
    return problems, count


async def import_sessions(
    store: SessionStore, stream: IO[bytes], on_conflict: OnConflict = "fail"
) -> ImportSummary:
    """Import a JSON Lines file (seekable) into ``store``; validate everything before writing.

    Any bad line, a duplicate id, or (with ``on_conflict="fail"``) an id already in
    the store means nothing is written and the problems are returned. Each session
    is one ``restore`` (or ``save``, see ``write_session``), so none is ever
    half-written. A line's created_at and updated_at are kept when it has both and
    the store ``supports_restore``; otherwise the store stamps the time of the import.
    """
    summary = ImportSummary()
    summary.problems, summary.problem_count, _ = validate_import(stream)
    if summary.problem_count:
        return summary
    if on_conflict == "fail":
        stream.seek(0)
        summary.problems, summary.problem_count = await _existing(store, stream)
        if summary.problem_count:
            return summary
    stream.seek(0)
    for _, line in _lines(stream):
        parsed = parse_line(line)
        session_id, messages, timestamps = parsed.session_id, parsed.messages, parsed.timestamps
        if on_conflict == "replace":
            record = await write_session(store, session_id, messages, timestamps)
            if record.version == 1:
                summary.created += 1
            else:
                summary.replaced += 1
            continue
        try:
            await write_session(store, session_id, messages, timestamps, expected_version=0)
        except ConflictError as exc:
            if on_conflict == "fail":
                raise ImportInterruptedError(
                    f"session {safe_text(session_id, quote=True)} was created by another "
                    f"writer during the import; stopped after importing {summary.created} "
                    "sessions"
                ) from exc
            summary.skipped += 1
        else:
            summary.created += 1
    return summary
