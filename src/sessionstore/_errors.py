"""The error tree: every error sessionstore raises derives from ``SessionStoreError``.

::

    SessionStoreError
    ├── InvalidArgumentError (also ValueError)     a call's argument is out of range
    │   ├── InvalidSessionIdError                  empty, NUL, > 1,024 bytes, not UTF-8, not str
    │   └── InvalidMessageError                    a message failed validation (``.index``)
    ├── ConflictError                              ``expected_version`` did not match
    ├── SessionNotFoundError (also KeyError)       the operation needs a session that does not exist
    ├── CorruptSessionError                        a stored transcript no longer decodes
    ├── StoreClosedError                           the store was closed
    ├── UnsupportedOperationError                  the backend lacks an optional capability
    ├── SchemaVersionError                         the storage was written by a newer sessionstore
    ├── MissingDependencyError (also ImportError)  a backend's optional extra is not installed
    └── BackendError                               the storage itself failed (driver error chained)
        └── StoreUnavailableError                  the server or file cannot be reached right now

Backends translate their driver's exceptions at their boundary with
``raise BackendError(...) from exc``, so callers only ever catch these types.
"""

from __future__ import annotations

__all__ = [
    "BackendError",
    "ConflictError",
    "CorruptSessionError",
    "InvalidArgumentError",
    "InvalidMessageError",
    "InvalidSessionIdError",
    "MissingDependencyError",
    "SchemaVersionError",
    "SessionNotFoundError",
    "SessionStoreError",
    "StoreClosedError",
    "StoreUnavailableError",
    "UnsupportedOperationError",
]


class SessionStoreError(Exception):
    """Base of every error raised by sessionstore."""


class InvalidArgumentError(SessionStoreError, ValueError):
    """An argument of a public call is invalid; nothing was written."""


class InvalidSessionIdError(InvalidArgumentError):
    """A session id is not a 1 to 1,024-byte UTF-8 string without NUL."""


class InvalidMessageError(InvalidArgumentError):
    """A message failed validation; ``index`` is its position in the call (or None)."""

    def __init__(self, message: str, *, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


class ConflictError(SessionStoreError):
    """The session's version was not the ``expected_version`` of the write; nothing was written."""

    def __init__(self, session_id: str, *, expected: int, actual: int) -> None:
        super().__init__(
            f"session {session_id!r}: expected version {expected}, found {actual}; "
            "nothing was written"
        )
        self.session_id = session_id
        self.expected = expected
        self.actual = actual


class SessionNotFoundError(SessionStoreError, KeyError):
    """The operation needs an existing session (``fork``'s source, ``update_attributes``...)."""

    def __init__(self, session_id: str, operation: str) -> None:
        super().__init__(f"{operation}: session {session_id!r} does not exist; nothing was written")
        self.session_id = session_id

    def __str__(self) -> str:
        # KeyError's own __str__ would show the message as a quoted repr.
        return str(self.args[0])


class CorruptSessionError(SessionStoreError):
    """A stored transcript no longer decodes; other sessions are unaffected."""

    def __init__(self, session_id: str, problem: str) -> None:
        super().__init__(f"session {session_id!r} is corrupt in storage: {problem}")
        self.session_id = session_id


class StoreClosedError(SessionStoreError):
    """The store was closed; open a new one."""


class UnsupportedOperationError(SessionStoreError):
    """The store does not implement an optional capability (such as ``restore``)."""


class SchemaVersionError(SessionStoreError):
    """The storage was written by a newer sessionstore whose schema this one does not know."""


class MissingDependencyError(SessionStoreError, ImportError):
    """A backend needs an optional extra that is not installed."""


class BackendError(SessionStoreError):
    """The storage failed; the driver's exception is chained as ``__cause__``."""


class StoreUnavailableError(BackendError):
    """The server or file cannot be reached; retry when it is back."""
