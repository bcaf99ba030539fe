"""Helpers shared by the commands: walking a store once, timestamps, safe ids, redaction.

Nothing here imports typer or rich, so the transfer and maintenance logic can
be used (and tested) without the command-line extra.
"""

from __future__ import annotations

import unicodedata
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import msgspec

from sessionstore._errors import InvalidArgumentError
from sessionstore._records import SessionRecord
from sessionstore._store import SessionStore
from sessionstore._urls import redact_url as _redact_url
from sessionstore._urls import scrub_secrets, url_passwords
from sessionstore.cli._seen import IN_MEMORY, SeenIds

__all__ = [
    "PAGE_SIZE",
    "UnknownSessionError",
    "format_timestamp",
    "json_type_name",
    "redact_secrets",
    "redact_url",
    "safe_text",
    "scan_once",
]

#: Sessions read per page when streaming a whole store.
PAGE_SIZE = 500

_ENCODER = msgspec.json.Encoder()


class UnknownSessionError(InvalidArgumentError):
    """A command named a session id that the store does not have."""

    def __init__(self, session_id: str) -> None:
        super().__init__(f"no session with id {safe_text(session_id, quote=True)}")
        self.session_id = session_id


async def scan_once(
    store: SessionStore, page_size: int = PAGE_SIZE, *, in_memory: int = IN_MEMORY
) -> AsyncIterator[SessionRecord]:
    """Every session's record, once, in listing order: ``store.scan`` without its repeats.

    A session that exists throughout is never skipped (on every built-in
    backend). One written during the scan after it was read is not yielded
    again, so it appears with the state it had when read. The ids seen are
    kept in memory up to ``in_memory`` of them, then in a temporary database.
    """
    with SeenIds(in_memory) as seen:
        async for record in store.scan(page_size=page_size):
            number = len(seen)
            if seen.setdefault(record.id, number) == number:  # not met before
                yield record


def format_timestamp(moment: datetime) -> str:
    """ISO-8601 UTC with microseconds and a ``Z`` suffix: ``2026-01-02T03:04:05.000006Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def safe_text(text: str, *, quote: bool = False, keep_newlines: bool = False) -> str:
    """``text`` with control and other invisible format characters escaped for a terminal.

    Ids and transcripts are arbitrary Unicode; printing an ESC or a bidi override raw
    would let stored data rewrite the user's terminal. With ``quote`` the result is
    wrapped in single quotes so leading/trailing spaces stay visible.
    """
    out: list[str] = []
    for char in text:
        if keep_newlines and char in "\n\t":
            out.append(char)
        elif unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
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


def redact_url(url: str) -> str:
    """``url`` with its password, if any, replaced by ``***``."""
    try:
        return _redact_url(url)
    except ValueError:
        return url


def redact_secrets(text: str, *urls: str) -> str:
    """``text`` with the password of each of ``urls`` replaced by ``***`` wherever it appears."""
    secrets: list[str] = []
    for url in urls:
        try:
            secrets += url_passwords(url)
        except ValueError:
            continue
    return scrub_secrets(text, secrets)


def encode_json(value: Any) -> bytes:
    """Compact JSON bytes of ``value`` (Message structs included)."""
    return _ENCODER.encode(value)
