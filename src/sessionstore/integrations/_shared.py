"""What every framework adapter needs: stores shared per URL, id checks and extras.

An adapter is typically built once per request (``SessionStoreSession(id,
url)``); opening a store per request would open a pool or file per request.
``shared_store`` hands every caller in the process the same store for the
same URL, opened on first use; ``close_shared_stores`` closes them (at
shutdown, or between tests).
"""

from __future__ import annotations

import importlib
import threading
from types import ModuleType

from sessionstore import (
    InvalidArgumentError,
    MissingDependencyError,
    SessionId,
    SessionStore,
    open_store,
)

# The two helpers below have no public name yet: the id rule and the URL default are the core's.
from sessionstore._open import resolve_url
from sessionstore._records import validate_session_id

__all__ = [
    "close_shared_stores",
    "require_extra",
    "resolve_store",
    "shared_store",
    "validate_id",
]

_stores: dict[str, SessionStore] = {}
_stores_lock = threading.Lock()


def shared_store(url: str) -> SessionStore:
    """The process's store for ``url``, opened (lazily) on the first call; the same one after."""
    if not isinstance(url, str):
        raise InvalidArgumentError(f"store URL must be a str, got {type(url).__name__}")
    with _stores_lock:
        store = _stores.get(url)
        if store is None or store.closed:
            store = _stores[url] = open_store(url)
        return store


def resolve_store(store: SessionStore | str | None) -> SessionStore:
    """``store`` itself, the shared store of a URL, or for None that of ``$SESSIONSTORE_URL``.

    Without the environment variable, None means ``sqlite:///sessions.db``.
    """
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


async def close_shared_stores() -> None:
    """Close every store ``shared_store`` opened; the next call opens a new one."""
    with _stores_lock:
        stores = list(_stores.values())
        _stores.clear()
    for store in stores:
        await store.close()
