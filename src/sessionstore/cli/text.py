"""Stored values as text: terminal-safe strings, timestamps, JSON type names and compact JSON.

Ids and transcripts are arbitrary Unicode written by anyone, so everything the
commands print about them goes through ``safe_text`` first.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Any

import msgspec

from sessionstore._depth import stack_safe

__all__ = ["encode_json", "format_timestamp", "json_type_name", "pretty_json", "safe_text"]

_ENCODER = msgspec.json.Encoder()

# Control, format (bidi overrides), surrogate, private-use, unassigned and line/paragraph
# separators: each can move the cursor, reorder or hide what a terminal shows.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def format_timestamp(moment: datetime) -> str:
    """ISO-8601 UTC with microseconds and a ``Z`` suffix: ``2026-01-02T03:04:05.000006Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _escape(char: str, json: bool) -> str:
    """``char`` as an escape: ``\\x1b``/``\\u202e``/``\\U000e0001``, or JSON's ``\\uXXXX``."""
    code = ord(char)
    if not json:
        if code < 0x100:
            return f"\\x{code:02x}"
        return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000  # a UTF-16 surrogate pair, the only way JSON spells it
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def safe_text(
    text: str, *, quote: bool = False, keep_newlines: bool = False, json: bool = False
) -> str:
    """``text`` with control and other invisible format characters escaped for a terminal.

    The one escaping function for everything the command prints from a store:
    printing an ESC, a bidi control (U+202A-U+202E, U+2066-U+2069, U+200E/F,
    U+061C) or a line separator raw would let stored data rewrite the user's
    terminal or make a displayed command read differently. Every character of
    the categories Cc, Cf, Cs, Co, Cn, Zl and Zp is escaped. With ``quote`` the
    result is wrapped in single quotes so leading and trailing spaces stay
    visible; with ``keep_newlines`` newlines and tabs stay as they are. With
    ``json`` the escapes are JSON's (``\\u202e``, surrogate pairs past
    U+FFFF), so escaping compact JSON text leaves it JSON with the same value.
    The result never holds an unsafe character, and escaping it again changes
    nothing.
    """
    if text.isprintable():  # C speed; every unsafe character is unprintable
        return f"'{text}'" if quote else text
    out: list[str] = []
    for char in text:
        if keep_newlines and char in "\n\t":
            out.append(char)
        elif unicodedata.category(char) in _UNSAFE_CATEGORIES:
            out.append(_escape(char, json))
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
    """Compact JSON bytes of ``value`` (Message structs included), terminal-safe.

    Every unsafe character (see ``safe_text``) is a JSON escape, so the bytes
    decode to ``value`` and print nothing a terminal would act on. Encoding
    runs on a fresh thread if the caller's stack is too deep for ``value``.
    """
    raw = stack_safe(_ENCODER.encode, value)
    if raw.isascii() and b"\x7f" not in raw:  # msgspec escapes every other ASCII control
        return raw
    return safe_text(raw.decode(), json=True).encode()


def pretty_json(value: Any) -> str:
    """``value`` as indented JSON for people, terminal-safe like ``encode_json``."""
    return stack_safe(_indented, encode_json(value)).decode()


def _indented(raw: bytes) -> bytes:
    return msgspec.json.format(raw, indent=2)
