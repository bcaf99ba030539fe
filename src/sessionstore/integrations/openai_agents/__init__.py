"""The OpenAI Agents SDK on sessionstore: ``SessionStoreSession``, a drop-in ``Session``.

Switching from the SDK's ``SQLiteSession`` is one line::

    from sessionstore.integrations.openai_agents import SessionStoreSession

    session = SessionStoreSession("user-42", "postgresql://db/agents")  # was SQLiteSession(...)
    await Runner.run(agent, "Hello", session=session)

It subclasses the SDK's ``SessionABC``, so ``EncryptedSession`` and
``OpenAIResponsesCompactionSession`` wrap it. Each SDK item is stored as one
``Message`` with a readable view (role, text, tool calls) and the item kept
verbatim in ``metadata["openai_agents"]["item"]`` whenever the view alone
would not reproduce it, so the SDK reads back exactly what it wrote
(``items``). Needs ``pip install 'sessionstore[openai-agents]'``.
"""

from __future__ import annotations

from sessionstore.integrations._shared import require_extra

require_extra("agents", "openai-agents")

from sessionstore.integrations.openai_agents.items import (  # noqa: E402 - after the check
    METADATA_KEY,
    item_to_message,
    message_to_items,
)
from sessionstore.integrations.openai_agents.session import SessionStoreSession  # noqa: E402

__all__ = ["METADATA_KEY", "SessionStoreSession", "item_to_message", "message_to_items"]
