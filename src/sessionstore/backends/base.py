"""The public extension API: everything a backend needs, built-in or third-party.

Subclass :class:`SessionStore` and implement the abstract hooks of
:class:`StoreHooks` (each takes the namespace first, then arguments the public
API has already validated). Override the defaults (``_snapshot``, ``_pop``,
``_replace_tail``, ``_fork``, ``_clear``) to push them down to your storage;
set ``supports_restore`` / ``supports_cursor_scan`` when you implement
``_restore`` / ``_scan_page``. Then run ``sessionstore.testing.ConformanceSuite``
against it. The README's "Write your own backend" is a complete example.
"""

from __future__ import annotations

from sessionstore._attributes import (
    MAX_ATTRIBUTES_BYTES,
    decode_attributes,
    encode_attributes,
    merge_attributes,
)
from sessionstore._errors import (
    BackendError,
    ConflictError,
    CorruptSessionError,
    InvalidArgumentError,
    SessionNotFoundError,
    StoreUnavailableError,
    UnsupportedOperationError,
)
from sessionstore._hooks import StoreHooks
from sessionstore._messages import EncodedMessages, Message, decode_segments, encode_messages
from sessionstore._records import (
    NO_ATTRIBUTES,
    ListOptions,
    SessionId,
    SessionRecord,
    Snapshot,
    datetime_from_micros,
    micros_from_datetime,
    record_from_stored,
    resolve_index,
    resolve_slice,
    utc_now,
)
from sessionstore._rest import Encryption, MissingKeyError, PayloadCodec, make_codec, payload_place
from sessionstore._store import SessionStore

__all__ = [
    "MAX_ATTRIBUTES_BYTES",
    "NO_ATTRIBUTES",
    "BackendError",
    "ConflictError",
    "CorruptSessionError",
    "EncodedMessages",
    "Encryption",
    "InvalidArgumentError",
    "ListOptions",
    "Message",
    "MissingKeyError",
    "PayloadCodec",
    "SessionId",
    "SessionNotFoundError",
    "SessionRecord",
    "SessionStore",
    "Snapshot",
    "StoreHooks",
    "StoreUnavailableError",
    "UnsupportedOperationError",
    "datetime_from_micros",
    "decode_attributes",
    "decode_segments",
    "encode_attributes",
    "encode_messages",
    "merge_attributes",
    "make_codec",
    "micros_from_datetime",
    "payload_place",
    "record_from_stored",
    "resolve_index",
    "resolve_slice",
    "utc_now",
]
