"""Importing a JSON Lines file (the format ``export`` writes): read and checked once, then written.

``ImportFile.read`` goes through the input once, line by line, and leaves
behind everything the writing needs, so the input is never read again and may
be a pipe:

- each line is parsed and validated (JSON, fields, id, namespace, attributes,
  messages, timestamps), its (namespace, id) checked against those met
  before, and the problems counted (the first ``MAX_REPORTED`` kept, with
  their line numbers);
- the (namespace, id) keys, each with the line it is on, stay in a
  ``SeenIds``: the check for ids the store already has needs nothing else;
- each valid session goes to a temporary spool file in its checked form (the
  messages as the JSON array ``encode_messages`` validated), so writing it
  decodes our own output instead of parsing and checking the line again.

A line without ``namespace`` (as the first release wrote them) belongs to the
default namespace ``""``, one without ``attributes`` has none; an import into
a chosen namespace (``namespace=``) puts every line there, whatever it says.
Nothing reaches a store until every line has passed. Memory holds one session
and at most ``IN_MEMORY`` ids at a time, whatever the size of the file.
"""

from __future__ import annotations

import struct
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, Literal, Self

import msgspec

from sessionstore._arguments import aware
from sessionstore._attributes import encode_attributes, validate_attributes
from sessionstore._depth import MAX_MESSAGE_DEPTH, stack_safe
from sessionstore._errors import InvalidArgumentError, SessionStoreError
from sessionstore._messages import Message, encode_messages
from sessionstore._records import validate_session_id
from sessionstore.cli.reading import check_namespace, namespace_label
from sessionstore.cli.seen_ids import IN_MEMORY, SeenIds
from sessionstore.cli.text import json_type_name, safe_text

__all__ = [
    "MAX_REPORTED",
    "ImportFile",
    "ImportLine",
    "LineProblem",
    "OnConflict",
    "describe",
    "parse_line",
    "split_key",
    "validate_import",
]

OnConflict = Literal["fail", "skip", "replace"]

_REQUIRED_FIELDS = ("id", "messages")
_OPTIONAL_FIELDS = ("created_at", "updated_at", "namespace", "attributes")
_TIMESTAMP_FIELDS = ("created_at", "updated_at")
MAX_REPORTED = 20

# A spooled session is its msgpack encoding after its length in this header.
_SPOOL_HEADER = struct.Struct(">Q")


@dataclass(frozen=True, slots=True)
class LineProblem:
    """What is wrong with one line of an import file (1-based ``line``)."""

    line: int
    problem: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.problem}"


class ImportLine(msgspec.Struct, frozen=True, array_like=True):
    """One valid line of an import file, checked; ``timestamps`` when it has both of them.

    ``messages`` is the line's messages as the JSON array ``encode_messages``
    produced while validating them; ``attributes`` the checked attributes as
    a JSON object (JSON, not msgpack, holds any integer JSON does).
    """

    session_id: str
    messages: bytes
    timestamps: tuple[datetime, datetime] | None
    namespace: str = ""
    attributes: bytes = b"{}"

    @property
    def key(self) -> str:
        """The session's (namespace, id) as one string (neither can hold a NUL)."""
        return f"{self.namespace}\x00{self.session_id}"

    def decode_messages(self) -> list[Message]:
        """The messages as ``Message`` values (they were validated when the line was read)."""
        return _MESSAGES.decode(self.messages)

    def decode_attributes(self) -> dict[str, Any]:
        """The attributes (validated when the line was read)."""
        return _ATTRIBUTES.decode(self.attributes)


_MESSAGES = msgspec.json.Decoder(list[Message])
_ATTRIBUTES = msgspec.json.Decoder(dict[str, Any])
_SPOOL_ENCODER = msgspec.msgpack.Encoder()
_SPOOL_DECODER = msgspec.msgpack.Decoder(ImportLine)


def split_key(key: str) -> tuple[str, str]:
    """``ImportLine.key`` back into (namespace, id)."""
    namespace, _, session_id = key.partition("\x00")
    return namespace, session_id


def describe(key: str) -> str:
    """A (namespace, id) key for people: the quoted id, and its namespace unless the default."""
    namespace, session_id = split_key(key)
    shown = safe_text(session_id, quote=True)
    return shown if namespace == "" else f"{shown} in namespace {namespace_label(namespace)}"


def parse_line(line: bytes, namespace: str | None = None) -> ImportLine:
    """Parse and validate one import line, or raise a SessionStoreError saying what is wrong.

    ``namespace``, when given, is where the session goes whatever the line says.
    """
    try:
        value = stack_safe(msgspec.json.decode, line)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise InvalidArgumentError(f"not valid JSON: {exc}") from exc
    except RecursionError as exc:  # even a fresh thread's stack is too shallow for it
        raise InvalidArgumentError(
            f"nested too deeply to read (a message may nest {MAX_MESSAGE_DEPTH} levels)"
        ) from exc
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
    payload = encode_messages(messages).payload
    moments = [_parse_timestamp(name, value[name]) for name in _TIMESTAMP_FIELDS if name in value]
    timestamps = (moments[0], moments[1]) if len(moments) == 2 else None
    own = _parse_namespace(value.get("namespace", ""))
    attributes = encode_attributes(validate_attributes(value.get("attributes", {})))
    return ImportLine(
        str(session_id), payload, timestamps, own if namespace is None else namespace, attributes
    )


def _parse_namespace(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidArgumentError(f'"namespace" must be a string, got {json_type_name(value)}')
    try:
        return check_namespace(value)
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(f'"namespace": {exc}') from exc


def _parse_timestamp(name: str, value: Any) -> datetime:
    if not isinstance(value, str):
        raise InvalidArgumentError(f'"{name}" must be a string, got {json_type_name(value)}')
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidArgumentError(f'"{name}" is not an ISO-8601 timestamp: {value!r}') from exc
    if moment.utcoffset() is None:
        raise InvalidArgumentError(f'"{name}" has no UTC offset: {value!r}')
    return aware(f'"{name}"', moment)  # restore's own check: it must be expressible in UTC


def _lines(stream: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    """The non-blank lines of ``stream`` with their 1-based numbers, a UTF-8 BOM dropped."""
    for number, raw in enumerate(stream, start=1):
        line = raw.strip()
        if number == 1 and line.startswith(b"\xef\xbb\xbf"):
            line = line[3:].lstrip()
        if line:
            yield number, line


class ImportFile:
    """An import file after its one read: the problems found, or its sessions ready to write.

    Build it with ``ImportFile.read`` and use it as a context manager: closing
    it deletes the spool and the temporary ids.
    """

    def __init__(self, *, in_memory: int = IN_MEMORY, namespace: str | None = None) -> None:
        self.problems: list[LineProblem] = []
        self.problem_count = 0
        #: The most bytes of encoded messages one session holds (checked against a store's limit).
        self.largest_messages = 0
        self._namespace = namespace
        self._first_line = SeenIds(in_memory)
        self._spool: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()

    @classmethod
    def read(
        cls, stream: Iterable[bytes], *, in_memory: int = IN_MEMORY, namespace: str | None = None
    ) -> ImportFile:
        """Read ``stream`` (a binary file, stdin, any iterable of lines) once, checking each line.

        Duplicate ids within a namespace are problems. Past ``in_memory`` ids,
        the ids move to a temporary database. ``namespace``: put every session
        there (else each goes to its line's namespace, the default without one).
        """
        imported = cls(in_memory=in_memory, namespace=namespace)
        try:
            for number, line in _lines(stream):
                imported._add(number, line)
        except BaseException:
            imported.close()
            raise
        return imported

    def _add(self, number: int, line: bytes) -> None:
        """Check line ``number``: spool its session while the file is clean, else note why not."""
        try:
            session = parse_line(line, self._namespace)
        except SessionStoreError as exc:
            self._problem(number, str(exc))
            return
        earlier = self._first_line.setdefault(session.key, number)
        if earlier != number:
            self._problem(number, f"duplicate id {describe(session.key)} (first on line {earlier})")
        elif not self.problem_count:  # after a problem nothing will be written
            self.largest_messages = max(self.largest_messages, len(session.messages))
            encoded = _SPOOL_ENCODER.encode(session)
            self._spool.write(_SPOOL_HEADER.pack(len(encoded)))
            self._spool.write(encoded)

    def _problem(self, number: int, problem: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_REPORTED:
            self.problems.append(LineProblem(number, problem))

    def __len__(self) -> int:
        """How many sessions the file holds: its distinct ids."""
        return len(self._first_line)

    def ids(self) -> Iterator[tuple[str, int]]:
        """Every session's ``ImportLine.key`` with the line it is on, in file order."""
        return self._first_line.in_order()

    def sessions(self) -> Iterator[ImportLine]:
        """Every session, in file order; for a file without problems (else some are missing)."""
        self._spool.seek(0)
        while header := self._spool.read(_SPOOL_HEADER.size):
            (size,) = _SPOOL_HEADER.unpack(header)
            yield _SPOOL_DECODER.decode(self._spool.read(size))

    def close(self) -> None:
        """Delete the spool and the temporary ids."""
        self._spool.close()
        self._first_line.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def validate_import(
    stream: Iterable[bytes], *, in_memory: int = IN_MEMORY
) -> tuple[list[LineProblem], int, int]:
    """Check every line of ``stream``; return (first problems, number of problems, sessions)."""
    with ImportFile.read(stream, in_memory=in_memory) as imported:
        return imported.problems, imported.problem_count, len(imported)
