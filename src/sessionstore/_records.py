"""Session ids, records and list windows: the values every store method takes and returns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from sessionstore._errors import InvalidArgumentError, InvalidSessionIdError

if TYPE_CHECKING:
    from sessionstore._messages import Message

__all__ = [
    "MAX_INT64",
    "MAX_NAMESPACE_BYTES",
    "MAX_SESSION_ID_BYTES",
    "NO_ATTRIBUTES",
    "ListOptions",
    "SessionId",
    "SessionRecord",
    "Snapshot",
    "check_index",
    "datetime_from_micros",
    "is_count",
    "resolve_index",
    "resolve_slice",
    "validate_namespace",
    "micros_from_datetime",
    "record_from_stored",
    "utc_now",
    "validate_session_id",
]

MAX_SESSION_ID_BYTES = 1024
MAX_NAMESPACE_BYTES = 256
#: The largest number any argument may be: every backend stores numbers as signed 64-bit.
MAX_INT64 = 2**63 - 1
#: The attributes of a session that has none (read-only, shared).
NO_ATTRIBUTES: Mapping[str, Any] = MappingProxyType({})


class SessionId(str):
    """An opaque session id: any Unicode string of 1 to 1,024 UTF-8 bytes without NUL."""

    __slots__ = ()


def validate_session_id(value: object) -> SessionId:
    """Return ``value`` as a SessionId or raise InvalidSessionIdError saying why."""
    if not isinstance(value, str):
        raise InvalidSessionIdError(f"session id must be a str, got {type(value).__name__}")
    if not value:
        raise InvalidSessionIdError("session id must not be empty")
    if "\x00" in value:
        raise InvalidSessionIdError(f"session id {value!r} contains a NUL character")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise InvalidSessionIdError(
            f"session id {value!r} is not valid Unicode (lone surrogate at {exc.start})"
        ) from exc
    if size > MAX_SESSION_ID_BYTES:
        raise InvalidSessionIdError(
            f"session id is {size} UTF-8 bytes, more than the {MAX_SESSION_ID_BYTES} allowed"
        )
    return value if type(value) is SessionId else SessionId(value)


def validate_namespace(value: object) -> str:
    """Return ``value`` as a namespace name (1 to 256 UTF-8 bytes, no NUL) or raise."""
    if not isinstance(value, str):
        raise InvalidArgumentError(f"namespace must be a str, got {type(value).__name__}")
    if "\x00" in value:
        raise InvalidArgumentError(f"namespace {value!r} contains a NUL character")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise InvalidArgumentError(
            f"namespace {value!r} is not valid Unicode (lone surrogate at {exc.start})"
        ) from exc
    if not 1 <= size <= MAX_NAMESPACE_BYTES:
        raise InvalidArgumentError(
            f"namespace must be 1 to {MAX_NAMESPACE_BYTES} UTF-8 bytes, got {size}"
        )
    return value


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """What a store knows about a session without reading its transcript.

    ``attributes`` are the session's own small JSON values (title, owner...), read-only.
    """

    id: SessionId
    message_count: int
    created_at: datetime
    updated_at: datetime
    version: int
    attributes: Mapping[str, Any] = field(default_factory=lambda: NO_ATTRIBUTES, hash=False)

    def __post_init__(self) -> None:
        # Read-only whatever mapping a backend built (a merged dict, say): a copy behind a proxy.
        if type(self.attributes) is not MappingProxyType:
            object.__setattr__(self, "attributes", MappingProxyType(dict(self.attributes)))


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A session's record and a slice of its transcript, read in one atomic step."""

    record: SessionRecord
    messages: list[Message]


def is_count(value: object) -> bool:
    """Whether ``value`` is an int >= 0 (a bool is not a count)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def check_index(name: str, value: object, *, optional: bool = False) -> int | None:
    """``value`` if it is an int (negative allowed) within 64 bits, else InvalidArgumentError."""
    if value is None and optional:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or abs(value) > MAX_INT64:
        kind = "None or an int" if optional else "an int"
        raise InvalidArgumentError(f"{name} must be {kind} within +-(2**63 - 1), got {value!r}")
    return value


def resolve_index(index: int, length: int) -> int:
    """A Python slice bound resolved against ``length``: clamped into ``0..length``."""
    if index < 0:
        return max(0, length + index)
    return min(index, length)


def resolve_slice(start: int, stop: int | None, length: int) -> tuple[int, int]:
    """``(lo, hi)`` with ``0 <= lo <= hi <= length``: what ``list[start:stop]`` selects."""
    lo = resolve_index(start, length)
    hi = length if stop is None else resolve_index(stop, length)
    return lo, max(lo, hi)


@dataclass(frozen=True, slots=True)
class ListOptions:
    """A window over the listing order: skip ``offset``, take ``limit`` (None = all)."""

    offset: int = 0
    limit: int | None = None
    newest_first: bool = False

    def __post_init__(self) -> None:
        if not is_count(self.offset) or self.offset > MAX_INT64:
            raise InvalidArgumentError(
                f"ListOptions.offset must be an int from 0 to 2**63 - 1, got {self.offset!r}"
            )
        if self.limit is not None and (not is_count(self.limit) or self.limit > MAX_INT64):
            raise InvalidArgumentError(
                f"ListOptions.limit must be None or an int from 0 to 2**63 - 1, got {self.limit!r}"
            )
        if not isinstance(self.newest_first, bool):
            raise InvalidArgumentError(
                f"ListOptions.newest_first must be a bool, got {self.newest_first!r}"
            )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def micros_from_datetime(moment: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime (exact, no float rounding)."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def datetime_from_micros(micros: int) -> datetime:
    """The aware UTC datetime ``micros`` microseconds after the Unix epoch."""
    # Exact integer arithmetic, and about twice as fast as fromtimestamp().replace();
    # positional arguments (days, seconds, microseconds) save a third over the keyword.
    return _EPOCH + timedelta(0, 0, micros)


def record_from_stored(
    session_id: str, fields: Sequence[Any], attributes: Mapping[str, Any] = NO_ATTRIBUTES
) -> SessionRecord:
    """The record of ``(message_count, created_us, updated_us, version)`` as a backend stores them.

    Each field may be anything ``int()`` takes: an int, or the bytes a Redis reply holds.
    ``attributes`` as :func:`sessionstore.backends.base.decode_attributes` returns them.
    """
    count, created_us, updated_us, version = fields
    created = datetime_from_micros(int(created_us))
    # A session written once has equal stamps: share the one datetime.
    updated = created if updated_us == created_us else datetime_from_micros(int(updated_us))
    sid = session_id if type(session_id) is SessionId else SessionId(session_id)
    return SessionRecord(sid, int(count), created, updated, int(version), attributes)
