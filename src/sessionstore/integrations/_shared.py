"""What every adapter shares: one store per URL per process, and the install hint of an extra."""

from __future__ import annotations

import importlib
import os
import threading
from types import ModuleType

from sessionstore import MissingDependencyError, SessionStore, open_store

__all__ = ["require_extra", "resolve_store", "shared_store"]

_STORES: dict[str, SessionStore] = {}
_STORES_LOCK = threading.Lock()


def shared_store(url: str) -> SessionStore:
    """The process's store for ``url``, opened on first use: adapters built per request share it."""
    with _STORES_LOCK:
        store = _STORES.get(url)
        if store is None:
            store = _STORES[url] = open_store(url)
        return store


def resolve_store(store: SessionStore | str | None) -> SessionStore:
    """``store`` itself, the shared store of a URL, or for None that of ``$SESSIONSTORE_URL``."""
    if isinstance(store, SessionStore):
        return store
    if store is None:
        store = os.environ.get("SESSIONSTORE_URL") or "sqlite:///sessions.db"
    return shared_store(store)


def require_extra(module: str, extra: str, feature: str) -> ModuleType:
    """Import ``module``, or raise MissingDependencyError with the extra's pip install line."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{feature} needs {module}: pip install 'sessionstore[{extra}]'"
        ) from exc
