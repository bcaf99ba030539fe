"""What every adapter shares: one store per URL per process, id checks, the install hint.

A minimal version, with the names and signatures of the one the OpenAI Agents adapter's
branch adds (which replaces this file when both merge).
"""

from __future__ import annotations

import importlib
import threading
from types import ModuleType

from sessionstore._errors import InvalidArgumentError, MissingDependencyError
from sessionstore._open import open_store, resolve_url
from sessionstore._records import SessionId, validate_session_id
from sessionstore._store import SessionStore

__all__ = ["require_extra", "resolve_store", "shared_store", "validate_id"]

_stores: dict[str, SessionStore] = {}
_stores_lock = threading.Lock()


def shared_store(url: str) -> SessionStore:
    """The process's store for ``url``, opened on first use: adapters built per request share it."""
    if not isinstance(url, str):
        raise InvalidArgumentError(f"store URL must be a str, got {type(url).__name__}")
    with _stores_lock:
        store = _stores.get(url)
        if store is None or store.closed:
            store = _stores[url] = open_store(url)
        return store


def resolve_store(store: SessionStore | str | None) -> SessionStore:
    """``store`` itself, the shared store of a URL, or for None that of ``$SESSIONSTORE_URL``."""
    if isinstance(store, SessionStore):
        return store
    if store is None or isinstance(store, str):
        return shared_store(resolve_url(store))
    raise InvalidArgumentError(
        f"store must be a SessionStore, a URL or None, got {type(store).__name__}"
    )


def validate_id(session_id: object) -> SessionId:
    """``session_id`` as a ``SessionId``; InvalidSessionIdError when it is not a valid id."""
    return validate_session_id(session_id)


def require_extra(module: str, extra: str) -> ModuleType:
    """Import ``module``, or raise MissingDependencyError (an ImportError) naming the extra."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"this adapter needs the {module!r} package: pip install 'sessionstore[{extra}]'"
        ) from exc
