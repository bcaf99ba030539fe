"""LangChain's RunnableWithMessageHistory on sessionstore, offline (a fake chat model).

Run: ``python examples/langchain_history.py`` (needs ``pip install 'sessionstore[langchain]'``).
The history goes to ``$SESSIONSTORE_URL``, else ``sqlite:///sessions.db`` (run it twice: the
transcript keeps both runs). The one line that differs from LangChain's own examples is the
``get_session_history`` factory.
"""

from __future__ import annotations

import asyncio
import warnings

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables.history import RunnableWithMessageHistory

from sessionstore.integrations.langchain import SessionStoreChatMessageHistory


def build_chain() -> RunnableWithMessageHistory:
    """A prompt with a history slot and a fake model that answers from a script."""
    prompt = ChatPromptTemplate.from_messages(
        [
            ("system", "You are a terse assistant."),
            MessagesPlaceholder("history"),
            ("human", "{question}"),
        ]
    )
    replies = iter(
        AIMessage(text, id=f"run-{n}", response_metadata={"model_name": "fake"})
        for n, text in enumerate(["Nice to meet you, Ada.", "You told me: Ada."] * 50)
    )
    model = GenericFakeChatModel(messages=replies)
    return RunnableWithMessageHistory(
        prompt | model,
        # The switch: any BaseChatMessageHistory goes here; this one persists to sessionstore.
        lambda session_id: SessionStoreChatMessageHistory(session_id),
        input_messages_key="question",
        history_messages_key="history",
    )


def main() -> None:
    """Two turns of one conversation, then the stored transcript."""
    # LangChain 1.x points new code at LangGraph; RunnableWithMessageHistory still ships.
    warnings.filterwarnings("ignore", "RunnableWithMessageHistory is deprecated")
    chain = build_chain()
    config = {"configurable": {"session_id": "example:langchain"}}
    for question in ["Hi, I am Ada.", "What is my name?"]:
        answer = chain.invoke({"question": question}, config=config)  # type: ignore[arg-type]
        print(f"human: {question}\n   ai: {answer.content}")

    history = SessionStoreChatMessageHistory("example:langchain")
    print(f"\n{len(history.messages)} messages stored; as LangChain reads them back:")
    for message in history.messages:
        print(f"  {message.type:>5} {message.id or '':8} {message.content}")

    async def show_plain() -> None:
        # Other tools (the CLI, other frameworks) see a readable transcript.
        for message in await history.store.load("example:langchain") or []:
            print(f"  {message.role:>9}: {message.text_or_summary()}")

    print("\nas sessionstore sees them:")
    asyncio.run(show_plain())


if __name__ == "__main__":
    main()
