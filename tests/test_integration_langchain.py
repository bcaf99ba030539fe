"""``SessionStoreChatMessageHistory``: LangChain's chat history on every backend.

The standard is LangChain's own use of a history: ``RunnableWithMessageHistory``
around a chat model (the fake one langchain-core ships, offline), the sync and
async halves of ``BaseChatMessageHistory``, and every message kind reading back
as written (``message_to_dict`` equal).
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    message_to_dict,
)
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables import RunnableLambda
from langchain_core.runnables.history import RunnableWithMessageHistory

from formats_support import error_without_langchain_core
from plugins._urls import StoreUrls
from sessionstore import (
    InvalidMessageError,
    InvalidSessionIdError,
    Message,
    SessionStore,
    TextBlock,
    ToolUseBlock,
)
from sessionstore.integrations.langchain import SessionStoreChatMessageHistory
from sessionstore.testing import StoreFactory

# LangChain 1.x points new code at LangGraph's persistence; this class is still the one that
# takes a BaseChatMessageHistory, and what users of histories run.
pytestmark = pytest.mark.filterwarnings(
    "ignore:RunnableWithMessageHistory is deprecated:DeprecationWarning"
)

#: One of each kind, with what the readable view cannot hold: ids, metadata, usage, chunks.
EVERY_KIND: list[BaseMessage] = [
    SystemMessage("You are terse."),
    HumanMessage("Weather in Oslo?", name="alice", id="h1"),
    AIMessage(
        "",
        id="run-1",
        tool_calls=[{"name": "weather", "args": {"city": "Oslo"}, "id": "call_1"}],
        invalid_tool_calls=[
            {"type": "invalid_tool_call", "name": "x", "args": "{", "id": "c2", "error": "bad"}
        ],
        usage_metadata={"input_tokens": 5, "output_tokens": 3, "total_tokens": 8},
        response_metadata={"model_name": "fake", "finish_reason": "tool_calls"},
        additional_kwargs={"refusal": None},
    ),
    ToolMessage("sunny, 22C", tool_call_id="call_1", artifact={"raw": [1, 2]}),
    ToolMessage("timeout", tool_call_id="c2", status="error"),
    AIMessageChunk(
        content="Sun",
        id="run-2",
        tool_call_chunks=[{"name": None, "args": '{"a', "id": None, "index": 0}],
    ),
    AIMessage(
        [
            {"type": "text", "text": "Sunny."},
            {"type": "image", "base64": "iVBORw0KGgo=", "mime_type": "image/png"},
        ]
    ),
    FunctionMessage(content="42", name="answer"),
    ChatMessage(content="noted", role="critic"),
]


def _dicts(messages: list[BaseMessage]) -> list[dict[str, Any]]:
    return [message_to_dict(message) for message in messages]


def _new_id() -> str:
    return f"chat-{uuid.uuid4()}"


async def test_every_message_kind_reads_back_as_written(store_factory: StoreFactory) -> None:
    async with store_factory() as store:
        history = SessionStoreChatMessageHistory("user-42", store)
        await history.aadd_messages(EVERY_KIND[:4])
        await history.aadd_messages(EVERY_KIND[4:])
        assert _dicts(await history.aget_messages()) == _dicts(EVERY_KIND)
        # The same session through the sync half, from inside this running loop.
        assert _dicts(history.messages) == _dicts(EVERY_KIND)
        record = await store.get("user-42")
        assert record is not None
        assert (record.message_count, record.version) == (len(EVERY_KIND), 2)


async def test_sync_and_async_halves_share_one_transcript(store_factory: StoreFactory) -> None:
    async with store_factory() as store:
        history = SessionStoreChatMessageHistory("s", store)
        assert history.messages == []
        history.add_user_message("hi")
        await history.aadd_messages([AIMessage("hello")])
        history.add_message(HumanMessage("bye"))
        assert history.messages == [HumanMessage("hi"), AIMessage("hello"), HumanMessage("bye")]
        assert await history.aget_messages() == history.messages
        # What other tools see: a readable transcript.
        assert await store.load("s") == [
            Message.user("hi"),
            Message.assistant("hello"),
            Message.user("bye"),
        ]


async def test_clear_deletes_only_its_session(store_factory: StoreFactory) -> None:
    async with store_factory() as store:
        mine = SessionStoreChatMessageHistory("mine", store)
        other = SessionStoreChatMessageHistory("other", store)
        await mine.aadd_messages([HumanMessage("a")])
        await other.aadd_messages([HumanMessage("b")])
        await mine.aclear()
        assert await mine.aget_messages() == []
        assert await store.get("mine") is None
        assert await other.aget_messages() == [HumanMessage("b")]
        other.clear()
        assert other.messages == []
        assert await store.count() == 0


async def test_a_namespace_view_isolates_tenants(store_factory: StoreFactory) -> None:
    async with store_factory() as store:
        acme = SessionStoreChatMessageHistory("chat", store.namespace("acme"))
        globex = SessionStoreChatMessageHistory("chat", store.namespace("globex"))
        await acme.aadd_messages([HumanMessage("acme only")])
        assert await globex.aget_messages() == []
        assert await store.namespace("acme").count() == 1


async def test_a_transcript_written_without_langchain_loads(store_factory: StoreFactory) -> None:
    async with store_factory() as store:
        await store.save(
            "plain",
            [
                Message.system("rules"),
                Message.user("hi"),
                Message.assistant([TextBlock("Checking."), ToolUseBlock("t1", "find", {"q": 1})]),
                Message.tool_result("t1", "none", is_error=True),
            ],
        )
        history = SessionStoreChatMessageHistory("plain", store)
        assert await history.aget_messages() == [
            SystemMessage("rules"),
            HumanMessage("hi"),
            AIMessage("Checking.", tool_calls=[{"name": "find", "args": {"q": 1}, "id": "t1"}]),
            ToolMessage("none", tool_call_id="t1", status="error"),
        ]


async def test_bad_input_is_refused_and_nothing_is_written(store_factory: StoreFactory) -> None:
    async with store_factory() as store:
        history = SessionStoreChatMessageHistory("s", store)
        with pytest.raises(InvalidMessageError, match="item 1"):
            await history.aadd_messages(
                [HumanMessage("ok"), HumanMessage("x", additional_kwargs={"f": float("nan")})]
            )
        with pytest.raises(InvalidMessageError, match="item 0"):
            history.add_messages([{"role": "user"}])  # type: ignore[list-item]
        assert await store.get("s") is None
        for bad_id in ("", "a\x00b", "x" * 1025):
            with pytest.raises(InvalidSessionIdError):
                SessionStoreChatMessageHistory(bad_id, store)


async def test_runnable_with_message_history_async(store_factory: StoreFactory) -> None:
    async with store_factory() as store:
        seen: list[int] = []
        chain = _chain(seen, ["Hello, Ada.", "You are Ada."])
        with_history = RunnableWithMessageHistory(
            chain,
            lambda session_id: SessionStoreChatMessageHistory(session_id, store),
            input_messages_key="input",
            history_messages_key="history",
        )
        config: Any = {"configurable": {"session_id": "ada"}}
        first = await with_history.ainvoke({"input": "I am Ada."}, config=config)
        second = await with_history.ainvoke({"input": "Who am I?"}, config=config)
        assert (first.content, second.content) == ("Hello, Ada.", "You are Ada.")
        assert seen == [2, 4]  # system + input, then the first turn's two messages more
        stored = await SessionStoreChatMessageHistory("ada", store).aget_messages()
        assert [(m.type, m.content) for m in stored] == [
            ("human", "I am Ada."),
            ("ai", "Hello, Ada."),
            ("human", "Who am I?"),
            ("ai", "You are Ada."),
        ]
        assert stored[1] == first  # the model's message, id and all


def _chain(seen: list[int], replies: list[str]) -> Any:
    prompt = ChatPromptTemplate.from_messages(
        [("system", "Be brief."), MessagesPlaceholder("history"), ("human", "{input}")]
    )

    def record(value: Any) -> Any:
        seen.append(len(value.to_messages()))
        return value

    model = GenericFakeChatModel(messages=iter(AIMessage(reply) for reply in replies))
    return prompt | RunnableLambda(record) | model


def _sync_runnable_turns(url: str) -> None:
    seen: list[int] = []
    with_history = RunnableWithMessageHistory(
        _chain(seen, ["one", "two"]),
        lambda session_id: SessionStoreChatMessageHistory(session_id, url),
        input_messages_key="input",
        history_messages_key="history",
    )
    session_id = _new_id()
    config: Any = {"configurable": {"session_id": session_id}}
    assert with_history.invoke({"input": "a"}, config=config).content == "one"
    assert with_history.invoke({"input": "b"}, config=config).content == "two"
    assert seen == [2, 4]
    history = SessionStoreChatMessageHistory(session_id, url)
    assert [m.content for m in history.messages] == ["a", "one", "b", "two"]


def _threads_append_to_one_session(url: str) -> None:
    session_id = _new_id()
    errors: list[BaseException] = []

    def worker(number: int) -> None:
        try:
            history = SessionStoreChatMessageHistory(session_id, url)
            for turn in range(5):
                history.add_messages([HumanMessage(f"{number}-{turn}"), AIMessage(f"{number}")])
        except BaseException as exc:  # reported below, with the thread's traceback
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    messages = SessionStoreChatMessageHistory(session_id, url).messages
    assert len(messages) == 50
    # Each add_messages call landed whole: every human turn is followed by its own answer.
    for human, ai in zip(messages[::2], messages[1::2], strict=True):
        assert str(human.content).split("-")[0] == ai.content


def _histories_from_one_url_share_a_store(url: str) -> None:
    first = SessionStoreChatMessageHistory(_new_id(), url)
    second = SessionStoreChatMessageHistory(_new_id(), url)
    assert first.store is second.store
    assert isinstance(first.store, SessionStore)


@pytest.mark.parametrize(
    "check",
    [_sync_runnable_turns, _threads_append_to_one_session, _histories_from_one_url_share_a_store],
)
def test_sync_use_by_url(check: Any, store_urls: StoreUrls) -> None:
    check(store_urls.new())


@pytest.mark.parametrize(
    "check",
    [_sync_runnable_turns, _threads_append_to_one_session, _histories_from_one_url_share_a_store],
)
def test_sync_use_by_memory_url(check: Any) -> None:
    check("memory://")


def test_asyncio_run_per_call_reaches_the_same_session() -> None:
    history = SessionStoreChatMessageHistory(_new_id(), "memory://")
    asyncio.run(history.aadd_messages([HumanMessage("one")]))
    asyncio.run(history.aadd_messages([HumanMessage("two")]))
    assert [m.content for m in asyncio.run(history.aget_messages())] == ["one", "two"]
    assert [m.content for m in history.messages] == ["one", "two"]


def test_without_langchain_core_the_error_names_the_extra() -> None:
    message = error_without_langchain_core("", "import sessionstore.integrations.langchain")
    assert "pip install 'sessionstore[langchain]'" in message
