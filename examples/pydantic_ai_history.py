"""A PydanticAI agent continuing a stored conversation, offline (PydanticAI's TestModel).

Run: ``python examples/pydantic_ai_history.py`` (needs ``pip install
'sessionstore[pydantic-ai]'``). The history goes to ``$SESSIONSTORE_URL``, else
``sqlite:///sessions.db``. What differs from PydanticAI's own examples is where
``message_history`` comes from and where ``result.new_messages()`` goes.
"""

from __future__ import annotations

import asyncio
import sys

from pydantic_ai import Agent
from pydantic_ai.models.test import TestModel

from sessionstore.integrations import close_shared_stores
from sessionstore.integrations.pydantic_ai import SessionStoreMessageHistory

SESSION = "example:pydantic-ai"

agent = Agent(TestModel(), system_prompt="Be brief.")


@agent.tool_plain
def weather(city: str) -> str:
    """Today's weather in ``city``."""
    return f"sunny in {city}"


async def main(url: str | None = None) -> None:
    """Three turns, each a fresh run fed the stored history, then the stored transcript."""
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
