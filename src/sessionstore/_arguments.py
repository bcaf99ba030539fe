"""Checks every public method shares: counts, versions, datetimes, a write's arguments."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sessionstore._attributes import validate_attribute_changes
from sessionstore._errors import InvalidArgumentError
from sessionstore._messages import EncodedMessages, MessageInput, encode_messages
from sessionstore._records import MAX_INT64, SessionId, is_count, validate_session_id

__all__ = ["aware", "changes_or_none", "check_count", "prepare_write"]


def check_count(name: str, value: object, *, optional: bool = False, least: int = 0) -> None:
    """Refuse ``value`` unless it is an int from ``least`` to 2**63 - 1 (or None if optional)."""
    if value is None and optional:
        return
    if not is_count(value) or not least <= value <= MAX_INT64:  # type: ignore[operator]
        kind = "None or an int" if optional else "an int"
        raise InvalidArgumentError(
            f"{name} must be {kind} from {least} to 2**63 - 1, got {value!r}"
        )


def prepare_write(
    backend: Any, session_id: str, messages: Iterable[MessageInput], expected_version: int | None
) -> tuple[SessionId, EncodedMessages]:
    """The arguments every write shares, validated, with the messages encoded once.

    ``backend`` is the store that will write: its ``max_write_bytes`` applies.
    """
    sid = validate_session_id(session_id)
    encoded = encode_messages(messages)
    check_count("expected_version", expected_version, optional=True)
    limit: int | None = backend.max_write_bytes
    if limit is not None and len(encoded.payload) > limit:
        raise InvalidArgumentError(
            f"session {sid!r}: the messages encode to {len(encoded.payload):,} bytes of JSON, "
            f"more than the {limit:,} bytes {type(backend).__name__} takes in one write; "
            "nothing was written (split them over several appends)"
        )
    return sid, encoded


def changes_or_none(attributes: object) -> dict[str, Any] | None:
    """Checked attribute changes, or None when the caller gave none."""
    return None if attributes is None else validate_attribute_changes(attributes)


def aware(name: str, moment: object) -> datetime:
    """``moment`` as aware UTC if it is a timezone-aware datetime, else InvalidArgumentError."""
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise InvalidArgumentError(f"{name} must be a timezone-aware datetime, got {moment!r}")
    try:
        return moment.astimezone(UTC)
    except OverflowError as exc:
        raise InvalidArgumentError(f"{name} {moment.isoformat()} is out of range in UTC") from exc
