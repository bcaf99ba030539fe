"""Session attributes: small JSON values stored beside a transcript (title, owner, tags...).

``changes`` merge into the stored attributes key by key; a ``None`` value
removes its key. The merged attributes must encode to at most
``MAX_ATTRIBUTES_BYTES`` of compact JSON (what :func:`encode_attributes`
writes), so a sidebar listing stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import msgspec

from sessionstore._errors import CorruptSessionError, InvalidArgumentError
from sessionstore._records import NO_ATTRIBUTES

__all__ = [
    "MAX_ATTRIBUTES_BYTES",
    "decode_attributes",
    "encode_attributes",
    "merge_attributes",
    "validate_attribute_changes",
    "validate_attributes",
]

MAX_ATTRIBUTES_BYTES = 64 * 1024

_ENCODER = msgspec.json.Encoder(order="sorted")
_DECODER = msgspec.json.Decoder(dict[str, Any])


def _checked(name: str, value: object, *, allow_none: bool) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidArgumentError(
            f"{name} must be a mapping of str keys, got {type(value).__name__}"
        )
    result: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise InvalidArgumentError(f"{name}: key {key!r} is not a str")
        if item is None and not allow_none:
            continue
        if item is not None:
            try:
                raw = _ENCODER.encode(item)
            except (TypeError, ValueError, OverflowError, RecursionError) as exc:
                raise InvalidArgumentError(f"{name}[{key!r}]: not JSON-encodable: {exc}") from exc
            if len(raw) > MAX_ATTRIBUTES_BYTES:
                raise InvalidArgumentError(
                    f"{name}[{key!r}] alone encodes to {len(raw)} bytes of JSON, "
                    f"more than the {MAX_ATTRIBUTES_BYTES} allowed for all attributes"
                )
            decoded = msgspec.json.decode(raw)
            if decoded != item:
                raise InvalidArgumentError(
                    f"{name}[{key!r}] does not survive JSON unchanged "
                    "(NaN or infinity, bytes, a tuple or set, or a non-str object key)"
                )
            # The decoded copy: the caller's lists and dicts stay the caller's.
            item = decoded
        result[key] = item
    return result


def validate_attribute_changes(changes: object) -> dict[str, Any]:
    """``changes`` as a dict of JSON values (``None`` = remove), or InvalidArgumentError."""
    return _checked("attributes", changes, allow_none=True)


def validate_attributes(attributes: object) -> dict[str, Any]:
    """A whole attribute set (``restore``): ``None`` values dropped, size checked."""
    result = _checked("attributes", attributes, allow_none=False)
    encode_attributes(result)
    return result


def merge_attributes(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``current`` with ``changes`` applied; InvalidArgumentError when the result is too big."""
    merged = dict(current)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    encode_attributes(merged)
    return merged


def encode_attributes(attributes: Mapping[str, Any]) -> bytes:
    """Compact JSON with sorted keys; InvalidArgumentError past ``MAX_ATTRIBUTES_BYTES``."""
    raw = _ENCODER.encode(attributes if type(attributes) is dict else dict(attributes))
    if len(raw) > MAX_ATTRIBUTES_BYTES:
        raise InvalidArgumentError(
            f"attributes would encode to {len(raw)} bytes of JSON, "
            f"more than the {MAX_ATTRIBUTES_BYTES} allowed; nothing was written"
        )
    return raw


def decode_attributes(session_id: str, raw: bytes | str | None) -> Mapping[str, Any]:
    """Stored attributes as a read-only mapping (``None`` or empty = none); CorruptSessionError."""
    if not raw or raw in (b"{}", "{}"):
        return NO_ATTRIBUTES
    try:
        return MappingProxyType(_DECODER.decode(raw))
    except msgspec.DecodeError as exc:
        raise CorruptSessionError(session_id, f"attributes do not decode: {exc}") from exc
