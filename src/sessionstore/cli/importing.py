"""Importing a JSON Lines file (the format ``export`` writes): validated in full, then written.

Every line is checked before anything is written; the ids met are kept in a
``SeenIds`` (past ``IN_MEMORY`` of them, in a temporary database) to report
duplicates, so memory stays bounded by one session whatever the file's size.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, Literal

import msgspec

from sessionstore._errors import ConflictError, InvalidArgumentError, SessionStoreError
from sessionstore._messages import encode_messages
from sessionstore._records import SessionId, validate_session_id
from sessionstore._store import SessionStore
from sessionstore.cli.seen_ids import IN_MEMORY, SeenIds
from sessionstore.cli.text import json_type_name, safe_text
from sessionstore.cli.transfer import write_session

__all__ = [
    "ImportInterruptedError",
    "ImportSummary",
    "LineProblem",
    "OnConflict",
    "import_sessions",
    "spool",
    "validate_import",
]

OnConflict = Literal["fail", "skip", "replace"]

_REQUIRED_FIELDS = ("id", "messages")
_OPTIONAL_FIELDS = ("created_at", "updated_at")
_MAX_REPORTED = 20


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
