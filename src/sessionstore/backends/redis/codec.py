"""Between the store's values and what the Redis scripts take and return.

A transcript list holds ``HEADER`` then one JSON message per element; a write's
JSON array is split into those elements without decoding the messages.
Attributes live in the session's metadata hash, one field per key (the key as
a JSON string, so it starts with ``"``), its value as compact JSON.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable, Mapping, Sequence
from itertools import accumulate
from typing import Any, NamedTuple

import msgspec

from sessionstore._attributes import MAX_ATTRIBUTES_BYTES, decode_attributes
from sessionstore._errors import (
    ConflictError,
    CorruptSessionError,
    InvalidArgumentError,
    SessionNotFoundError,
)
from sessionstore._messages import EncodedMessages, Message, decode_segments
from sessionstore._records import SessionId, SessionRecord, record_from_stored
from sessionstore._rest import PayloadCodec, payload_place

__all__ = [
    "SessionKeys",
    "script_failure",
    "ChunkedSession",
    "open_attributes",
    "INDEX_LIMIT",
    "clamp",
    "RECORD_FIELDS",
    "NamespaceKeys",
    "attribute_args",
    "decode_items",
    "decode_whole",
    "items_args",
    "message_args",
    "record_from_hash",
    "record_from_reply",
    "split_segments",
    "too_big",
]

#: The metadata hash's record fields, in ``record_from_stored`` order.
RECORD_FIELDS = (b"message_count", b"created_us", b"updated_us", b"version")

#: Slice bounds beyond this are clamped (a script adds a length or 1 to them).
INDEX_LIMIT = 2**62

_RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])
_ENCODER = msgspec.json.Encoder(order="sorted")


class NamespaceKeys:
    """The key names of one namespace under a store's prefix.

    The default namespace ``""`` keeps the released names (``P m:HEX``...);
    another lives under ``P n:<hex of its UTF-8>:``.
    """

    __slots__ = ("base", "name", "order", "prefix")

    def __init__(self, prefix: str, name: str) -> None:
        self.prefix = prefix
        self.name = name
        self.base = prefix if not name else f"{prefix}n:{name.encode('utf-8').hex()}:"
        self.order = f"{self.base}order"

    def session(self, session_id: str) -> tuple[str, str]:
        """(metadata hash, transcript list) of ``session_id``."""
        suffix = session_id.encode("utf-8").hex()
        return f"{self.base}m:{suffix}", f"{self.base}s:{suffix}"

    def every(self, session_id: str) -> list[str]:
        """The keys a session script takes: metadata, list, bulk, bulk ends."""
        suffix = session_id.encode("utf-8").hex()
        return [f"{self.base}{kind}:{suffix}" for kind in "msbe"]

    def staging(self, session_id: str) -> list[str]:
        """Where a save stages its bulk and ends, for the write script to rename."""
        suffix = session_id.encode("utf-8").hex()
        return [f"{self.base}t:{suffix}", f"{self.base}u:{suffix}"]

    def common(self, session_id: str, now_us: int | str, expected: int | None) -> list[Any]:
        """The leading arguments of every write script."""
        version = -1 if expected is None else expected
        return [self.prefix, self.name, self.base, session_id, now_us, version]


def message_args(messages: EncodedMessages) -> list[bytes]:
    """A write's messages as the scripts take them: its JSON array and each message's end.

    The array is the write's own compact JSON (``[a,b,c]``: one comma between
    messages), so the sizes alone locate every message in it; an end is 1-based
    and inclusive.
    """
    if not messages.count:
        return [b"[]", b""]
    return [messages.payload, _ends(map(len, _RAW_LIST.decode(messages.payload)))]


def decode_whole(session_id: str, bulk: bytes | None, items: list[bytes]) -> list[Message]:
    """A whole transcript: the bulk's JSON array (maybe blank-padded), then list items."""
    if not items:
        return decode_segments(session_id, [bulk]) if bulk else []
    if bulk is None:
        return decode_items(session_id, items)
    return decode_items(session_id, items, bulk.rstrip()[1:-1])


def items_args(items: list[bytes]) -> list[bytes]:
    """Messages given one JSON text each, as :func:`message_args` gives them."""
    return [b"[" + b",".join(items) + b"]", _ends(map(len, items))]


def _ends(sizes: Iterable[int]) -> bytes:
    # '[' is byte 1, so message i ends at 1 + (its size + 1 per separator) summed.
    ends = array("I", accumulate(map((1).__add__, sizes)))  # "I" is 4 bytes where we run
    if sys.byteorder != "little":  # pragma: no cover
        ends.byteswap()
    return ends.tobytes()


def split_segments(session_id: str, segments: Sequence[bytes]) -> list[bytes]:
    """A released-layout transcript (JSON-array segments) as one JSON text per message."""
    items: list[bytes] = []
    try:
        for segment in segments:
            items.extend(bytes(raw) for raw in _RAW_LIST.decode(segment))
    except (msgspec.DecodeError, TypeError) as exc:
        raise CorruptSessionError(session_id, str(exc)) from exc
    return items


def decode_items(session_id: str, items: Sequence[bytes], bulk: bytes = b"") -> list[Message]:
    """Messages from their JSON texts after ``bulk`` (comma-joined JSON), in one decode."""
    parts = [bulk, *items] if bulk else items
    if not parts:
        return []
    return decode_segments(session_id, [b"[" + b",".join(parts) + b"]"])


def attribute_args(changes: Mapping[str, Any]) -> list[bytes]:
    """Attribute changes as script arguments: field, JSON value (``b""`` removes)."""
    args: list[bytes] = []
    for key, value in changes.items():
        args.append(_ENCODER.encode(key))
        args.append(b"" if value is None else _ENCODER.encode(value))
    return args


def too_big(size: Any) -> InvalidArgumentError:
    """The error of a write whose merged attributes would exceed the limit."""
    return InvalidArgumentError(
        f"attributes would encode to {int(size)} bytes of JSON, "
        f"more than the {MAX_ATTRIBUTES_BYTES} allowed; nothing was written"
    )


class SessionKeys(NamedTuple):
    """The Redis keys holding one session: metadata hash, transcript list, saved bulk."""

    meta: str
    segments: str
    bulk: str
    bulk_ends: str


def script_failure(
    action: str, session_id: SessionId, expected: int | None, reply: Any
) -> Exception:
    """The error of a write script's failure reply."""
    kind = reply[0]
    if kind == b"chunked":
        return ChunkedSession()
    if kind == b"conflict":
        assert expected is not None
        return ConflictError(session_id, expected=expected, actual=int(reply[1]))
    if kind == b"too_big":
        return too_big(reply[1])
    if kind == b"missing":
        return SessionNotFoundError(session_id, action)
    raise AssertionError(f"unexpected reply {reply!r}")  # pragma: no cover


class ChunkedSession(Exception):
    """A plain script met a session in the chunked (sealed) layout: go the chunked way."""


def open_attributes(
    codec: PayloadCodec | None, namespace: str, session_id: str, raw: bytes
) -> bytes:
    """Stored attributes as JSON: sealed ones (led by NUL) unsealed, plain ones as they are."""
    if raw[:1] != b"\0":
        return raw
    if codec is None:  # pragma: no cover - every store passes its codec
        raise CorruptSessionError(session_id, "its attributes are sealed")
    return codec.unseal(raw, payload_place(namespace, session_id, "a"), session_id)


def record_from_reply(
    session_id: SessionId,
    reply: Sequence[Any],
    codec: PayloadCodec | None = None,
    namespace: str = "",
) -> SessionRecord:
    """The record of a script's ``{count, created_us, updated_us, version, attributes}``."""
    raw = open_attributes(codec, namespace, session_id, reply[4])
    return record_from_stored(session_id, reply[:4], decode_attributes(session_id, raw))


def record_from_hash(
    session_id: SessionId,
    fields: Mapping[bytes, bytes],
    codec: PayloadCodec | None = None,
    namespace: str = "",
) -> SessionRecord | None:
    """The record of a metadata hash as HGETALL returns it, or None when there is none."""
    if b"version" not in fields:
        return None
    raw = fields.get(b"a")
    if raw is None:
        parts = [key + b":" + value for key, value in fields.items() if key[:1] == b'"']
        raw = b"{" + b",".join(parts) + b"}"
    raw = open_attributes(codec, namespace, session_id, raw)
    attributes = decode_attributes(session_id, raw)
    return record_from_stored(session_id, [fields[name] for name in RECORD_FIELDS], attributes)


def clamp(index: int) -> int:
    """``index`` within +-``INDEX_LIMIT``."""
    return max(-INDEX_LIMIT, min(INDEX_LIMIT, index))
