"""LlamaIndex's Memory and a chat engine on sessionstore, offline (LlamaIndex's MockLLM).

Run: ``python examples/llama_index_chat_store.py`` (needs ``pip install
'sessionstore[llama-index]'``). Messages go to ``$SESSIONSTORE_URL``, else
``sqlite:///sessions.db``. The one line that differs from LlamaIndex's own
examples is ``chat_store=``. A small token limit makes Memory archive the oldest
turns: they stay in the session, marked archived, while the active queue shrinks.
"""

from __future__ import annotations

import asyncio
import sys

from llama_index.core.chat_engine import SimpleChatEngine
from llama_index.core.llms import MockLLM
from llama_index.core.memory import Memory
from llama_index.core.storage.chat_store.base_db import MessageStatus

from sessionstore.integrations import close_shared_stores
from sessionstore.integrations.llama_index import SessionStoreChatStore

SESSION = "example:llama-index"


async def main(url: str | None = None) -> None:
    """Four turns through a chat engine, then what is active, archived and stored."""
    chat_store = SessionStoreChatStore(url)
    await chat_store.delete_messages(SESSION)  # start afresh on every run
    memory = Memory.from_defaults(
        session_id=SESSION,
        chat_store=chat_store,  # the switch: any AsyncDBChatStore goes here
        token_limit=60,
        tokenizer_fn=str.split,  # one token per word, so the example needs no download
    )
    engine = SimpleChatEngine.from_defaults(llm=MockLLM(max_tokens=8), memory=memory)
    for question in ["Hi, I am Ada.", "I live in Oslo.", "I like tea.", "What do you know?"]:
        answer = await engine.achat(question)
        print(f"user: {question}\n  ai: {answer.response!r}")

    active = await chat_store.count_messages(SESSION, MessageStatus.ACTIVE)
    archived = await chat_store.count_messages(SESSION, MessageStatus.ARCHIVED)
    print(f"\n{active} active and {archived} archived messages; as sessionstore sees them:")
    for message in await chat_store.store.load(SESSION) or []:
        print(f"  {message.role:>9}: {message.text_or_summary()}")
    await close_shared_stores()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else None))
