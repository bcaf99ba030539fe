"""Data at rest: AES-256-GCM encryption and zstd compression of what a backend stores.

A backend stores two kinds of payload per session: message segments (JSON
arrays) and attributes (a JSON object). ``PayloadCodec.seal`` turns each into
the bytes stored, ``PayloadCodec.unseal`` back. JSON always starts with ``[``
or ``{``, so a plain payload is stored as it is, and data written before
encryption or compression was turned on stays readable; a sealed payload
starts with a NUL byte, which JSON never does::

    b"\\0" + flags (1 byte: 1 = zstd-compressed, 2 = encrypted)
      + if encrypted: key id length (1 byte) + key id (UTF-8) + nonce (12 bytes)
      + body: the payload, compressed first if flagged, then encrypted if flagged
        (AES-GCM ciphertext with its 16-byte tag)

Encryption is bound to the payload's place with associated data (``place``):
the namespace, the session id, what the payload is and where it sits, so a
payload copied into another session's row, or moved within one, fails to
decrypt. The key id travels with each payload: rotation is adding a key and
making it primary; old payloads keep reading under their own key until
rewritten (``sessionstore rekey`` rewrites them all).
"""

from __future__ import annotations

import base64
import binascii
import os
import threading
from collections.abc import Mapping
from typing import Any, Literal

from sessionstore._errors import (
    CorruptSessionError,
    InvalidArgumentError,
    MissingDependencyError,
)

__all__ = [
    "ENCRYPTION_KEYS_VARIABLE",
    "Encryption",
    "MissingKeyError",
    "PayloadCodec",
    "make_codec",
    "payload_place",
]

#: The environment variable ``Encryption.from_env`` and the CLI read.
ENCRYPTION_KEYS_VARIABLE = "SESSIONSTORE_ENCRYPTION_KEYS"

_SEALED = 0
_COMPRESSED = 1
_ENCRYPTED = 2
_NONCE_BYTES = 12
_KEY_BYTES = 32
_ZSTD_LEVEL = 3


class MissingKeyError(CorruptSessionError):
    """A session was written under an encryption key id this store was not given."""

    def __init__(self, session_id: str, key_id: str) -> None:
        super().__init__(
            session_id,
            f"it was encrypted with key id {key_id!r}, which this store was not given "
            f"(add it to the store's Encryption keys or to ${ENCRYPTION_KEYS_VARIABLE})",
        )
        self.key_id = key_id


def _check_key_id(key_id: object) -> str:
    if not isinstance(key_id, str) or not 1 <= len(key_id.encode("utf-8")) <= 255:
        raise InvalidArgumentError(
            f"an encryption key id must be a str of 1 to 255 UTF-8 bytes, got {key_id!r}"
        )
    if any(mark in key_id for mark in "\0:,"):
        raise InvalidArgumentError(f"encryption key id {key_id!r} holds NUL, ':' or ','")
    return key_id


class Encryption:
    """AES-256-GCM keys by id; writes use ``primary`` (default: the last key given).

    ``keys`` maps a key id (a str) to 32 bytes of key. Neither ``repr`` nor any
    error ever shows key material.
    """

    __slots__ = ("_keys", "primary")

    def __init__(self, keys: Mapping[str, bytes], primary: str | None = None) -> None:
        if not isinstance(keys, Mapping) or not keys:
            raise InvalidArgumentError("Encryption needs a non-empty mapping of key id -> key")
        checked: dict[str, bytes] = {}
        for key_id, key in keys.items():
            _check_key_id(key_id)
            if not isinstance(key, bytes | bytearray) or len(key) != _KEY_BYTES:
                size = len(key) if isinstance(key, bytes | bytearray) else type(key).__name__
                raise InvalidArgumentError(
                    f"encryption key {key_id!r} must be {_KEY_BYTES} bytes, got {size}"
                )
            checked[key_id] = bytes(key)
        chosen = list(checked)[-1] if primary is None else primary
        if chosen not in checked:
            raise InvalidArgumentError(f"primary key id {chosen!r} is not one of the keys given")
        self._keys = checked
        self.primary = chosen

    @classmethod
    def from_env(cls, variable: str = ENCRYPTION_KEYS_VARIABLE) -> Encryption | None:
        """Keys from ``$SESSIONSTORE_ENCRYPTION_KEYS`` (``id:base64key,...``, primary last).

        None when the variable is unset or empty.
        """
        text = os.environ.get(variable, "").strip()
        return cls.parse(text, source=f"${variable}") if text else None

    @classmethod
    def parse(cls, text: str, *, source: str = "the key list") -> Encryption:
        """Keys from ``id:base64key,id:base64key`` text; the last one is primary."""
        keys: dict[str, bytes] = {}
        for position, item in enumerate(text.split(","), start=1):
            key_id, colon, encoded = item.strip().partition(":")
            if not colon:
                raise InvalidArgumentError(
                    f"{source}: item {position} is not id:base64key (key material not shown)"
                )
            try:
                keys[_check_key_id(key_id)] = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                raise InvalidArgumentError(
                    f"{source}: key {key_id!r} is not valid base64 (key material not shown)"
                ) from None
        return cls(keys)

    @property
    def key_ids(self) -> list[str]:
        """The key ids this encryption can read, primary last."""
        return [key for key in self._keys if key != self.primary] + [self.primary]

    def key(self, key_id: str) -> bytes | None:
        """The key with id ``key_id``, or None."""
        return self._keys.get(key_id)

    def __repr__(self) -> str:
        return f"Encryption(key_ids={self.key_ids!r}, primary={self.primary!r})"


def payload_place(namespace: str, session_id: str, kind: str, position: int | None = None) -> bytes:
    """The associated data binding a payload to its namespace, session, kind and position."""
    parts = [namespace, session_id, kind, "" if position is None else str(position)]
    return b"".join(len(part.encode()).to_bytes(4, "big") + part.encode() for part in parts)


class _Zstd:
    """zstd through the ``zstandard`` binding, one (de)compressor per thread."""

    def __init__(self) -> None:
        try:
            import zstandard
        except ImportError as exc:
            raise MissingDependencyError(
                "compression='zstd' needs the zstandard package: pip install 'sessionstore[zstd]'"
            ) from exc
        self._module: Any = zstandard
        self._local = threading.local()

    def compress(self, data: bytes) -> bytes:
        compressor = getattr(self._local, "compressor", None)
        if compressor is None:
            compressor = self._local.compressor = self._module.ZstdCompressor(level=_ZSTD_LEVEL)
        result: bytes = compressor.compress(data)
        return result

    def decompress(self, data: bytes) -> bytes:
        decompressor = getattr(self._local, "decompressor", None)
        if decompressor is None:
            decompressor = self._local.decompressor = self._module.ZstdDecompressor()
        result: bytes = decompressor.decompress(data)
        return result


class PayloadCodec:
    """Seals payloads for storage (compress, then encrypt) and unseals them (either or both)."""

    def __init__(self, encryption: Encryption | None, compression: Literal["zstd"] | None) -> None:
        self.encryption = encryption
        self.compression = compression
        self._zstd: _Zstd | None = None
        self._reader: _Zstd | None = None
        self._aead: dict[str, Any] = {}
        if compression is not None:
            self._zstd = self._reader = _Zstd()
        if encryption is not None:
            try:
                from cryptography.hazmat.primitives.ciphers.aead import AESGCM
            except ImportError as exc:
                raise MissingDependencyError(
                    "encryption needs the cryptography package: "
                    "pip install 'sessionstore[encryption]'"
                ) from exc
            for key_id in encryption.key_ids:
                self._aead[key_id] = AESGCM(encryption.key(key_id) or b"")

    @property
    def identity(self) -> bool:
        """Whether payloads are stored as they are (neither compressed nor encrypted)."""
        return self.encryption is None and self._zstd is None

    def seal(self, payload: bytes, place: bytes) -> bytes:
        """What to store for ``payload`` (JSON) at ``place`` (see ``payload_place``)."""
        if self.encryption is None and self._zstd is None:
            return payload
        flags, body = 0, payload
        if self._zstd is not None:
            packed = self._zstd.compress(payload)
            if len(packed) < len(payload):
                flags, body = _COMPRESSED, packed
        if self.encryption is None:
            return payload if not flags else bytes((_SEALED, flags)) + body
        key_id = self.encryption.primary
        nonce = os.urandom(_NONCE_BYTES)
        sealed: bytes = self._aead[key_id].encrypt(
            nonce, body, bytes((flags | _ENCRYPTED,)) + place
        )
        name = key_id.encode()
        return bytes((_SEALED, flags | _ENCRYPTED, len(name))) + name + nonce + sealed

    def unseal(self, stored: bytes, place: bytes, session_id: str) -> bytes:
        """The JSON payload of ``stored``; CorruptSessionError naming the session if it fails."""
        if not stored or stored[0] != _SEALED:
            return stored  # plain JSON, written without either
        if len(stored) < 2 or stored[1] & ~(_COMPRESSED | _ENCRYPTED):
            raise CorruptSessionError(session_id, "a stored payload has an unknown format")
        flags, body = stored[1], stored[2:]
        if flags & _ENCRYPTED:
            body = self._decrypt(flags, body, place, session_id)
        if flags & _COMPRESSED:
            body = self._decompress(body, session_id)
        return body

    def _decrypt(self, flags: int, body: bytes, place: bytes, session_id: str) -> bytes:
        from cryptography.exceptions import InvalidTag

        if not body or len(body) < 1 + body[0] + _NONCE_BYTES:
            raise CorruptSessionError(session_id, "an encrypted payload is truncated")
        name_end = 1 + body[0]
        try:
            key_id = body[1:name_end].decode()
        except UnicodeDecodeError:
            raise CorruptSessionError(session_id, "an encrypted payload names no key") from None
        aead = self._aead.get(key_id)
        if aead is None:
            if self.encryption is None:
                raise CorruptSessionError(
                    session_id,
                    f"it is encrypted (key id {key_id!r}) and this store was given no keys",
                )
            raise MissingKeyError(session_id, key_id)
        nonce = body[name_end : name_end + _NONCE_BYTES]
        try:
            plain: bytes = aead.decrypt(
                nonce, body[name_end + _NONCE_BYTES :], bytes((flags,)) + place
            )
        except InvalidTag:
            raise CorruptSessionError(
                session_id,
                f"an encrypted payload does not decrypt under key id {key_id!r} "
                "(a wrong key, changed bytes, or a payload from another session or place)",
            ) from None
        return plain

    def _decompress(self, body: bytes, session_id: str) -> bytes:
        if self._reader is None:  # a store without compression still reads compressed data
            self._reader = self._zstd or _Zstd()
        try:
            return self._reader.decompress(body)
        except Exception as exc:  # zstandard.ZstdError, and anything a bad frame raises
            raise CorruptSessionError(
                session_id, f"a compressed payload does not decompress: {exc}"
            ) from None


def make_codec(encryption: object = None, compression: object = None) -> PayloadCodec:
    """A checked ``PayloadCodec`` from a constructor's ``encryption=`` and ``compression=``."""
    if encryption is not None and not isinstance(encryption, Encryption):
        raise InvalidArgumentError(
            f"encryption must be a sessionstore.Encryption or None, got {type(encryption).__name__}"
        )
    if compression not in (None, "zstd"):
        raise InvalidArgumentError(f"compression must be None or 'zstd', got {compression!r}")
    return PayloadCodec(encryption, compression)
