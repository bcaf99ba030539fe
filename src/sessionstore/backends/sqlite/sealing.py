"""Data at rest in the SQLite backend: segments and attributes sealed by the store's codec.

A ``Sealer`` is the store's ``PayloadCodec`` bound to one session: a segment
is sealed at its place (namespace, session id, kind ``"m"``, its first message
index), the attributes at theirs (kind ``"a"``), so a segment copied to another
session, or moved within one, does not decrypt. With the identity codec (no
encryption, no compression) the writes store JSON as they always did; every
read still unseals, because a store without keys or compression must read
compressed data and name encrypted data (a plain payload costs one byte test).

Sealed bytes cannot be concatenated, so nothing merges them in SQL: with a
sealing codec each small append is its own sealed segment, and the merge of a
full small run (at most ``MAX_SMALL_RUN`` segments, see ``segments.place``)
unseals them, joins them and seals the result in the same write transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sessionstore._attributes import decode_attributes, encode_attributes
from sessionstore._rest import PayloadCodec, make_codec, payload_place

__all__ = [
    "FIRST_SEGMENT",
    "LOAD_SEGMENTS_PLACED",
    "PLAIN",
    "Sealer",
    "is_sealed",
    "open_attributes",
    "opened_rows",
    "refuse_encrypted",
    "sealed_rows",
]

#: The identity codec: what a store opened without ``encryption`` or ``compression`` uses.
PLAIN = make_codec()

#: ``LOAD_SEGMENTS`` with each segment's first index, which its place needs.
LOAD_SEGMENTS_PLACED = (
    "SELECT s.key, g.first_index, g.payload FROM sessions AS s "
    "LEFT JOIN segments AS g ON g.session_key = s.key "
    "WHERE s.namespace = ? AND s.id = ? ORDER BY g.first_index"
)

#: A session's first segment (``fork`` on a plain store checks it is not encrypted).
FIRST_SEGMENT = (
    "SELECT first_index, message_count, payload FROM segments "
    "WHERE session_key = ? ORDER BY first_index LIMIT 1"
)

_MARK = 0  # a sealed payload's first byte; JSON never starts with it
_ENCRYPTED = 2  # the flag byte's bit for an encrypted payload


def is_sealed(stored: bytes | str | None) -> bool:
    """Whether ``stored`` is a sealed payload (not plain JSON)."""
    return isinstance(stored, bytes) and bool(stored) and stored[0] == _MARK


class Sealer:
    """The store's codec bound to one session of one namespace."""

    __slots__ = ("codec", "namespace", "session_id")

    def __init__(self, codec: PayloadCodec, namespace: str, session_id: str) -> None:
        self.codec = codec
        self.namespace = namespace
        self.session_id = session_id

    @property
    def identity(self) -> bool:
        """Whether writes store plain JSON."""
        return self.codec.identity

    def seal(self, first: int, payload: bytes) -> bytes:
        """What to store for the segment ``payload`` whose first message is ``first``."""
        if self.codec.identity:
            return payload
        place = payload_place(self.namespace, self.session_id, "m", first)
        return self.codec.seal(payload, place)

    def unseal(self, first: int, stored: bytes) -> bytes:
        """The JSON of a stored segment (CorruptSessionError/MissingKeyError naming the session)."""
        if not stored or stored[0] != _MARK:
            return stored
        place = payload_place(self.namespace, self.session_id, "m", first)
        return self.codec.unseal(stored, place, self.session_id)

    def seal_attributes(self, attributes: Mapping[str, Any]) -> bytes | None:
        """What the ``attributes`` column holds: None for none."""
        if not attributes:
            return None
        raw = encode_attributes(attributes)
        if self.codec.identity:
            return raw
        return self.codec.seal(raw, payload_place(self.namespace, self.session_id, "a"))

    def open_attributes(self, stored: bytes | str | None) -> Mapping[str, Any]:
        """The attributes a stored column holds."""
        if is_sealed(stored):
            assert isinstance(stored, bytes)
            place = payload_place(self.namespace, self.session_id, "a")
            stored = self.codec.unseal(stored, place, self.session_id)
        return decode_attributes(self.session_id, stored)


def refuse_encrypted(sealer: Sealer, rows: list[tuple[int, int, bytes] | None]) -> None:
    """Unseal each encrypted payload of ``rows``: on a store without keys, that raises.

    ``fork`` on a plain store copies rows inside SQLite; ciphertext is bound to
    its session, so a copy of it would never decrypt: refuse instead.
    """
    for row in rows:
        if row is not None and is_sealed(row[2]) and len(row[2]) > 1 and row[2][1] & _ENCRYPTED:
            sealer.unseal(row[0], row[2])


def sealed_rows(sealer: Sealer, rows: list[tuple[int, int, bytes]]) -> list[tuple[int, int, bytes]]:
    """Segment rows ``(first, count, payload)`` with their payloads sealed."""
    if sealer.identity:
        return rows
    return [(first, count, sealer.seal(first, payload)) for first, count, payload in rows]


def opened_rows(sealer: Sealer, rows: list[tuple[int, int, bytes]]) -> list[tuple[int, int, bytes]]:
    """Segment rows ``(first, count, payload)`` with their payloads unsealed."""
    return [(first, count, sealer.unseal(first, payload)) for first, count, payload in rows]


def open_attributes(
    codec: PayloadCodec, namespace: str, session_id: str, stored: bytes | str | None
) -> Mapping[str, Any]:
    """The attributes a stored column holds, plain JSON decoded without building a Sealer."""
    if not is_sealed(stored):
        return decode_attributes(session_id, stored)
    return Sealer(codec, namespace, session_id).open_attributes(stored)
