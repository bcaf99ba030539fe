"""Stored values as text: terminal-safe strings, timestamps, JSON type names and compact JSON.

Ids and transcripts are arbitrary Unicode written by anyone, so everything the
commands print about them goes through ``safe_text`` first.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Any

import msgspec

__all__ = ["encode_json", "format_timestamp", "json_type_name", "safe_text"]

_ENCODER = msgspec.json.Encoder()

# Control, format (bidi overrides), surrogate, private-use, unassigned and line/paragraph
# separators: each can move the cursor, reorder or hide what a terminal shows.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def format_timestamp(moment: datetime) -> str:
    """ISO-8601 UTC with microseconds and a ``Z`` suffix: ``2026-01-02T03:04:05.000006Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def safe_text(text: str, *, quote: bool = False, keep_newlines: bool = False) -> str:
    """``text`` with control and other invisible format characters escaped for a terminal.

    Printing an ESC or a bidi override raw would let stored data rewrite the
    user's terminal. With ``quote`` the result is wrapped in single quotes so
    leading and trailing spaces stay visible; with ``keep_newlines`` newlines
    and tabs stay as they are.
    """
    out: list[str] = []
    for char in text:
        if keep_newlines and char in "\n\t":
            out.append(char)
        elif unicodedata.category(char) in _UNSAFE_CATEGORIES:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    result = "".join(out)
    return f"'{result}'" if quote else result


def json_type_name(value: Any) -> str:
    """The JSON name of a decoded value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def encode_json(value: Any) -> bytes:
    """Compact JSON bytes of ``value`` (Message structs included)."""
    return _ENCODER.encode(value)
