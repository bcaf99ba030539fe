"""``open_store(url)``: a registry of URL schemes to backends imported only when used."""

from __future__ import annotations

import importlib
import os
from typing import Literal, cast
from urllib.parse import urlsplit

from sessionstore._errors import InvalidArgumentError
from sessionstore._rest import Encryption, make_codec
from sessionstore._store import SessionStore
from sessionstore._urls import check_url, redact_url

__all__ = ["BACKENDS", "DEFAULT_URL", "open_store"]

DEFAULT_URL = "sqlite:///sessions.db"

#: URL scheme -> "module:Class". The module is imported on first use of its scheme.
BACKENDS: dict[str, str] = {
    "memory": "sessionstore.backends.memory:InMemorySessionStore",
    "sqlite": "sessionstore.backends.sqlite:SQLiteSessionStore",
    "postgresql": "sessionstore.backends.postgres:PostgresSessionStore",
    "postgres": "sessionstore.backends.postgres:PostgresSessionStore",
    "redis": "sessionstore.backends.redis:RedisSessionStore",
    "rediss": "sessionstore.backends.redis:RedisSessionStore",
    "unix": "sessionstore.backends.redis:RedisSessionStore",
}


def resolve_url(url: str | None = None) -> str:
    """``url``, else ``$SESSIONSTORE_URL``, else ``sqlite:///sessions.db``."""
    if url is None:
        url = os.environ.get("SESSIONSTORE_URL") or DEFAULT_URL
    return url


def open_store(
    url: str | None = None,
    *,
    encryption: Encryption | None = None,
    compression: Literal["zstd"] | None = None,
) -> SessionStore:
    """Return an unopened store for ``url``; it connects on first use or ``async with``.

    Without ``url``, ``$SESSIONSTORE_URL`` is used, then ``sqlite:///sessions.db``.
    ``encryption`` (an ``Encryption``) and ``compression="zstd"`` protect what
    the store writes; see the README's "Data at rest".
    An unknown scheme, or a URL that drivers could split differently (a raw
    ``/ ? # @`` in the password) or whose parts would be dropped, raises
    InvalidArgumentError showing the URL redacted.
    """
    url = resolve_url(url)
    if not isinstance(url, str):
        raise InvalidArgumentError(f"store URL must be a str, got {type(url).__name__}")
    check_url(url)
    scheme = urlsplit(url).scheme.lower()
    target = BACKENDS.get(scheme)
    if target is None:
        known = ", ".join(f"{name}://" for name in sorted(BACKENDS))
        shown = f"{scheme}://" if scheme else "(none)"
        raise InvalidArgumentError(
            f"unknown store URL scheme {shown} in {redact_url(url)!r}; known schemes: {known}"
        )
    make_codec(encryption, compression)  # refuse bad options before importing a backend
    options = {"encryption": encryption, "compression": compression}
    module_name, _, class_name = target.partition(":")
    store_class = getattr(importlib.import_module(module_name), class_name)
    given = {name: value for name, value in options.items() if value is not None}
    return cast(SessionStore, store_class.from_url(url, **given))
