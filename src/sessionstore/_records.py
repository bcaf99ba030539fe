"""Session ids, records and list windows: the values every store method takes and returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sessionstore._errors import InvalidArgumentError, InvalidSessionIdError

__all__ = [
    "MAX_SESSION_ID_BYTES",
    "ListOptions",
    "SessionId",
    "SessionRecord",
    "datetime_from_micros",
    "is_count",
    "micros_from_datetime",
    "record_from_stored",
    "utc_now",
    "validate_session_id",
]

MAX_SESSION_ID_BYTES = 1024


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


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """What a store knows about a session without reading its transcript."""

    id: SessionId
    message_count: int
    created_at: datetime
    updated_at: datetime
    version: int


def is_count(value: object) -> bool:
    """Whether ``value`` is an int >= 0 (a bool is not a count)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@dataclass(frozen=True, slots=True)
class ListOptions:
    """A window over the listing order: skip ``offset``, take ``limit`` (None = all)."""

    offset: int = 0
    limit: int | None = None
    newest_first: bool = False

    def __post_init__(self) -> None:
        if not is_count(self.offset):
            raise InvalidArgumentError(
                f"ListOptions.offset must be an int >= 0, got {self.offset!r}"
            )
        if self.limit is not None and not is_count(self.limit):
            raise InvalidArgumentError(
                f"ListOptions.limit must be None or an int >= 0, got {self.limit!r}"
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


def record_from_stored(session_id: str, fields: Sequence[Any]) -> SessionRecord:
    """The record of ``(message_count, created_us, updated_us, version)`` as a backend stores them.

    Each field may be anything ``int()`` takes: an int, or the bytes a Redis reply holds.
    """
    count, created_us, updated_us, version = fields
    created = datetime_from_micros(int(created_us))
    # A session written once has equal stamps: share the one datetime.
    updated = created if updated_us == created_us else datetime_from_micros(int(updated_us))
    return SessionRecord(SessionId(session_id), int(count), created, updated, int(version))
