"""A PydanticAI agent continuing stored conversations, offline (PydanticAI's TestModel).

Run: ``python examples/pydantic_ai_history.py`` (needs ``pip install
'sessionstore[pydantic-ai]'``). Conversations go to ``$SESSIONSTORE_URL``, else
``sqlite:///sessions.db``: first through PydanticAI's ``ConversationStore``
interface (the one line that differs from its own examples is the store), then
as a plain ``message_history``.
"""

from __future__ import annotations

import asyncio
import sys

from pydantic_ai import Agent
from pydantic_ai.conversation import Conversation
from pydantic_ai.models.test import TestModel

from sessionstore.integrations import close_shared_stores
from sessionstore.integrations.pydantic_ai import (
    SessionStoreConversationStore,
    SessionStoreMessageHistory,
)

SESSION = "example:pydantic-ai"

agent = Agent(TestModel(), system_prompt="Be brief.")


@agent.tool_plain
def weather(city: str) -> str:
    """Today's weather in ``city``."""
    return f"sunny in {city}"


async def with_conversations(url: str | None) -> None:
    """Two turns through PydanticAI's ConversationStore interface."""
    conversations = SessionStoreConversationStore(url)
    await conversations.delete("example:conversation")  # start afresh on every run
    for question in ["Hello!", "What's the weather?"]:
        conversation = await conversations.load("example:conversation") or Conversation(
            conversation_id="example:conversation"
        )
        result = await agent.run(question, conversation=conversation)
        await conversations.save(result)
    stored = await conversations.load("example:conversation")
    assert stored is not None
    print(f"conversation: {len(stored.messages)} messages, revision {stored.revision}\n")


async def main(url: str | None = None) -> None:
    """Both interfaces: a ConversationStore, then three turns on a message history."""
    await with_conversations(url)
    history = SessionStoreMessageHistory(SESSION, url)
    await history.clear()  # start afresh on every run
    for question in ["What's the weather?", "And tomorrow?", "Thanks!"]:
        result = await agent.run(question, message_history=await history.load())
        await history.append(result.new_messages())
        print(f"user: {question}\n  ai: {result.output}")

    print(f"\n{len(await history.load())} PydanticAI messages stored; as sessionstore sees them:")
    for message in await history.store.load(SESSION) or []:
        print(f"  {message.role:>9}: {message.text_or_summary()}")
    await close_shared_stores()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else None))
