"""PydanticAI conversations and message histories on a sessionstore store.

``SessionStoreConversationStore`` is PydanticAI's ``ConversationStore`` (load a
``Conversation``, run with ``conversation=``, ``save(result)``; revisions,
branches, forks, scopes). ``SessionStoreMessageHistory`` is the simpler form:
load a history into ``message_history=`` and append what the run added::

    history = SessionStoreMessageHistory("user-42", "sqlite:///sessions.db")
    result = await agent.run(prompt, message_history=await history.load())
    await history.append(result.new_messages())

Every ``ModelMessage`` reads back as written (``ModelMessagesTypeAdapter``'s dump
is kept under ``metadata["pydantic_ai"]`` next to a readable view), and
transcripts written by plain sessionstore or another framework load by their
readable view. ``load(limit=N)`` reads only the tail; ``append`` is one atomic
write. ``from_pydantic_ai`` / ``to_pydantic_ai`` convert without a store.
Needs ``sessionstore[pydantic-ai]``.
"""

from __future__ import annotations

from sessionstore.integrations._shared import require_extra

require_extra("pydantic_ai", "pydantic-ai")

from sessionstore.integrations.pydantic_ai._conversations import (  # noqa: E402 - after the hint
    SessionStoreConversationStore,
)
from sessionstore.integrations.pydantic_ai._history import (  # noqa: E402
    SessionStoreMessageHistory,
)
from sessionstore.integrations.pydantic_ai._messages import (  # noqa: E402
    PYDANTIC_AI_KEY,
    from_pydantic_ai,
    to_pydantic_ai,
)

__all__ = [
    "PYDANTIC_AI_KEY",
    "SessionStoreConversationStore",
    "SessionStoreMessageHistory",
    "from_pydantic_ai",
    "to_pydantic_ai",
]
