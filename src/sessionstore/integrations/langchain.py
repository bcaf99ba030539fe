"""LangChain chat history on a sessionstore store: ``SessionStoreChatMessageHistory``.

A drop-in for LangChain's ``BaseChatMessageHistory`` implementations (for
``RunnableWithMessageHistory`` and anything else that takes one)::

    history = SessionStoreChatMessageHistory("user-42", "sqlite:///sessions.db")

Every message kind reads back exactly as written (``sessionstore.formats.langchain``
keeps LangChain's own serialisation whenever our readable view would lose
something), and transcripts written by plain sessionstore or another framework
load by their readable view. Adding messages is one atomic ``append``;
``clear`` is one ``delete``. The synchronous methods run the store on a private
event loop thread, so they work from plain threads and from inside a running loop.
Needs ``sessionstore[langchain]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sessionstore import SessionStore
from sessionstore.integrations._shared import require_extra, resolve_store, validate_id
from sessionstore.sync import run_on_private_loop

require_extra("langchain_core", "langchain")

from langchain_core.chat_history import BaseChatMessageHistory  # noqa: E402 - after the hint

from sessionstore.formats.langchain import from_langchain, to_langchain  # noqa: E402

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage

__all__ = ["SessionStoreChatMessageHistory"]


class SessionStoreChatMessageHistory(BaseChatMessageHistory):
    """The messages of session ``session_id`` in ``store`` (a store, a URL, or None).

    ``store=None`` means ``$SESSIONSTORE_URL``, then ``sqlite:///sessions.db``; a URL
    opens one store per URL per process, shared by every history made from it, so
    making one history per request is cheap. A namespace view works as ``store``.
    An invalid ``session_id`` raises InvalidSessionIdError here, before any call.
    """

    def __init__(self, session_id: str, store: SessionStore | str | None = None) -> None:
        self.session_id = validate_id(session_id)
        self.store = resolve_store(store)

    @property
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]
        """Every message of the session, oldest first (``[]`` for a new session)."""
        return run_on_private_loop(self.aget_messages())

    async def aget_messages(self) -> list[BaseMessage]:
        """Every message of the session, oldest first (``[]`` for a new session)."""
        loaded = await self.store.load(self.session_id)
        return to_langchain(loaded or [])

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        """Append ``messages`` in one atomic write."""
        run_on_private_loop(self.aadd_messages(messages))

    async def aadd_messages(self, messages: Sequence[BaseMessage]) -> None:
        """Append ``messages`` in one atomic write."""
        converted = from_langchain(messages)
        if converted:
            await self.store.append(self.session_id, converted)

    def clear(self) -> None:
        """Delete the session: its messages and its record."""
        run_on_private_loop(self.aclear())

    async def aclear(self) -> None:
        """Delete the session: its messages and its record."""
        await self.store.delete(self.session_id)
