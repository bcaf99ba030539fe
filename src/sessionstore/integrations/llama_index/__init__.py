"""LlamaIndex chat storage on a sessionstore store: ``SessionStoreChatStore``.

A drop-in for LlamaIndex's ``AsyncDBChatStore`` (the store its ``Memory`` keeps
messages in)::

    memory = Memory.from_defaults(
        session_id="user-42", chat_store=SessionStoreChatStore("sqlite:///sessions.db")
    )

Every ``ChatMessage`` reads back exactly as written (its own serialisation is
kept under ``metadata["llama_index"]`` whenever our readable view would lose
something), and transcripts written by plain sessionstore or another framework
load by their readable view. Adding messages is one atomic ``append``;
archiving the oldest active messages moves a boundary kept in the session's
attributes, and reading the active queue reads only the tail. LlamaIndex's sync
``Memory`` methods run these coroutines on a loop of their own, which a store
allows. Needs ``sessionstore[llama-index]``.
"""

from __future__ import annotations

from sessionstore.integrations._shared import require_extra

require_extra("llama_index.core", "llama-index")

from sessionstore.integrations.llama_index._chat_store import (  # noqa: E402 - after the hint
    ARCHIVED_KEY,
    SessionStoreChatStore,
)
from sessionstore.integrations.llama_index._messages import (  # noqa: E402
    LLAMA_INDEX_KEY,
    from_llama_index,
    to_llama_index,
)

__all__ = [
    "ARCHIVED_KEY",
    "LLAMA_INDEX_KEY",
    "SessionStoreChatStore",
    "from_llama_index",
    "to_llama_index",
]
