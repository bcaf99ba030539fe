"""sessionstore: persistence for AI-agent conversation transcripts.

One async ``SessionStore`` contract over interchangeable backends: in-memory,
embedded SQLite (the default), PostgreSQL and Redis. Server backends import
their drivers only when used, so ``import sessionstore`` needs no extras.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sessionstore._errors import (
    BackendError,
    ConflictError,
    CorruptSessionError,
    InvalidArgumentError,
    InvalidMessageError,
    InvalidSessionIdError,
    MissingDependencyError,
    SchemaVersionError,
    SessionNotFoundError,
    SessionStoreError,
    StoreClosedError,
    StoreUnavailableError,
    UnsupportedOperationError,
)
from sessionstore._messages import (
    MAX_MESSAGE_DEPTH,
    Base64ImageSource,
    Block,
    ImageBlock,
    Message,
    Role,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
)
from sessionstore._open import open_store
from sessionstore._records import ListOptions, SessionId, SessionRecord, Snapshot
from sessionstore._rest import Encryption, MissingKeyError
from sessionstore._store import SessionStore
from sessionstore.backends.memory import InMemorySessionStore

if TYPE_CHECKING:
    from sessionstore.backends.postgres import PostgresSessionStore
    from sessionstore.backends.redis import RedisSessionStore
    from sessionstore.backends.sqlite import SQLiteSessionStore

#: The installed distribution's version, read from its metadata on first access.
__version__: str

__all__ = [
    "BackendError",
    "Base64ImageSource",
    "Block",
    "ConflictError",
    "CorruptSessionError",
    "Encryption",
    "ImageBlock",
    "InMemorySessionStore",
    "InvalidArgumentError",
    "InvalidMessageError",
    "InvalidSessionIdError",
    "ListOptions",
    "MAX_MESSAGE_DEPTH",
    "Message",
    "MissingDependencyError",
    "MissingKeyError",
    "PostgresSessionStore",
    "RedisSessionStore",
    "Role",
    "SQLiteSessionStore",
    "SchemaVersionError",
    "SessionId",
    "SessionNotFoundError",
    "SessionRecord",
    "SessionStore",
    "SessionStoreError",
    "Snapshot",
    "StoreClosedError",
    "StoreUnavailableError",
    "TextBlock",
    "ToolResultBlock",
    "ToolUseBlock",
    "UnsupportedOperationError",
    "open_store",
]

# Backends whose modules are imported on first access, so that importing the
# package never loads sqlite3's worker machinery or an optional driver.
_LAZY_BACKENDS = {
    "SQLiteSessionStore": "sessionstore.backends.sqlite",
    "PostgresSessionStore": "sessionstore.backends.postgres",
    "RedisSessionStore": "sessionstore.backends.redis",
}


def __getattr__(name: str) -> Any:
    if name == "__version__":
        # Read on first access, so that importing the package never imports importlib.metadata.
        from importlib.metadata import version

        value: Any = version("sessionstore")
    else:
        module_name = _LAZY_BACKENDS.get(name)
        if module_name is None:
            raise AttributeError(f"module 'sessionstore' has no attribute {name!r}")
        import importlib

        value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value
