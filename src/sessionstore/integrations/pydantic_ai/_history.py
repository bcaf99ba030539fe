"""``SessionStoreMessageHistory``: a PydanticAI message history kept in a session."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic_ai.messages import ModelMessage

from sessionstore import InvalidArgumentError, SessionRecord, SessionStore
from sessionstore.integrations._shared import resolve_store, validate_id
from sessionstore.integrations.pydantic_ai._messages import from_pydantic_ai, to_pydantic_ai
from sessionstore.sync import run_on_private_loop

__all__ = ["SessionStoreMessageHistory"]


class SessionStoreMessageHistory:
    """The PydanticAI messages of session ``session_id`` in ``store`` (a store, a URL, or None).

    Around each run::

        history = SessionStoreMessageHistory("user-42", "sqlite:///sessions.db")
        result = await agent.run(prompt, message_history=await history.load())
        await history.append(result.new_messages())

    ``store=None`` means ``$SESSIONSTORE_URL``, then ``sqlite:///sessions.db``; a
    URL opens one store per URL per process, shared by every history made from
    it. A namespace view works as ``store``. Each ``*_sync`` method runs the
    same coroutine on a private loop thread, for ``agent.run_sync`` code.
    """

    def __init__(self, session_id: str, store: SessionStore | str | None = None) -> None:
        self.session_id = validate_id(session_id)
        self.store = resolve_store(store)

    async def load(self, *, limit: int | None = None) -> list[ModelMessage]:
        """The history, oldest first (``[]`` for a new session); only the last ``limit`` if given.

        A ``limit`` reads only the tail; the window may start with a tool result
        whose call it left out, which PydanticAI repairs before a request.
        """
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)):
            raise InvalidArgumentError(f"limit must be an int or None, got {limit!r}")
        if limit is not None and limit < 0:
            raise InvalidArgumentError(f"limit must be >= 0, got {limit}")
        if limit == 0:
            return []
        start = 0 if limit is None else -limit
        return to_pydantic_ai(await self.store.load(self.session_id, start=start) or [])

    async def append(self, messages: Sequence[ModelMessage]) -> SessionRecord | None:
        """Add ``messages`` (say ``result.new_messages()``) at the end, in one atomic write.

        Returns the session's new record; None when ``messages`` is empty (nothing written).
        """
        converted = from_pydantic_ai(messages)
        if not converted:
            return None
        return await self.store.append(self.session_id, converted)

    async def save(
        self, messages: Sequence[ModelMessage], *, expected_version: int | None = None
    ) -> SessionRecord:
        """Replace the history with ``messages`` (say ``result.all_messages()``), atomically.

        With ``expected_version`` (a record's ``version``; 0 = must not exist) the
        write happens only if nobody wrote in between, else ConflictError.
        """
        converted = from_pydantic_ai(messages)
        return await self.store.save(self.session_id, converted, expected_version=expected_version)

    async def clear(self) -> None:
        """Delete the session: its messages and its record."""
        await self.store.delete(self.session_id)

    def load_sync(self, *, limit: int | None = None) -> list[ModelMessage]:
        """``load`` for synchronous code."""
        return run_on_private_loop(self.load(limit=limit))

    def append_sync(self, messages: Sequence[ModelMessage]) -> SessionRecord | None:
        """``append`` for synchronous code."""
        return run_on_private_loop(self.append(messages))

    def save_sync(
        self, messages: Sequence[ModelMessage], *, expected_version: int | None = None
    ) -> SessionRecord:
        """``save`` for synchronous code."""
        return run_on_private_loop(self.save(messages, expected_version=expected_version))

    def clear_sync(self) -> None:
        """``clear`` for synchronous code."""
        run_on_private_loop(self.clear())
