"""``SessionStoreChatStore``: LlamaIndex's ``AsyncDBChatStore`` on every backend.

The standard is LlamaIndex's own: its ``Memory`` (with a token limit small enough
to archive) and a chat engine on its ``MockLLM``, offline; the same calls made
on LlamaIndex's own ``SQLAlchemyChatStore`` answering the same; every message
role and content block kind reading back as written (``model_dump`` equal).
"""

from __future__ import annotations

import asyncio
import typing
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from llama_index.core.base.llms.types import (
    AudioBlock,
    CacheControl,
    CachePoint,
    ChatMessage,
    CitableBlock,
    CitationBlock,
    ContentBlock,
    DocumentBlock,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    VideoBlock,
)
from llama_index.core.chat_engine import SimpleChatEngine
from llama_index.core.llms import MockLLM
from llama_index.core.memory import Memory
from llama_index.core.storage.chat_store.base_db import AsyncDBChatStore, MessageStatus
from llama_index.core.storage.chat_store.sql import SQLAlchemyChatStore

from integrations_support import (
    FOREIGN_TRANSCRIPT,
    error_importing_without,
    example_main,
    run_in_threads,
)
from sessionstore import (
    InvalidArgumentError,
    InvalidMessageError,
    InvalidSessionIdError,
    SessionStore,
    ToolResultBlock,
    ToolUseBlock,
    open_store,
)
from sessionstore.integrations._shared import close_shared_stores
from sessionstore.integrations.llama_index import ARCHIVED_KEY, SessionStoreChatStore

ACTIVE, ARCHIVED = MessageStatus.ACTIVE, MessageStatus.ARCHIVED
PNG = b"iVBORw0KGgo="


def _words(text: str) -> list[str]:
    """A tokenizer for Memory that needs no download: one token per word."""
    return text.split()


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[SessionStore]:
    async with open_store(store_url) as opened:
        yield opened


def _key() -> str:
    return f"k-{uuid.uuid4().hex[:12]}"


def _texts(messages: list[ChatMessage]) -> list[str | None]:
    return [m.content for m in messages]


def _dumps(messages: list[ChatMessage]) -> list[dict[str, Any]]:
    return [m.model_dump(mode="json") for m in messages]


#: Every role, and every content block kind, with what our view cannot hold.
EVERY_KIND: list[ChatMessage] = [
    ChatMessage(role=MessageRole.SYSTEM, content="Be terse."),
    ChatMessage(role=MessageRole.DEVELOPER, content="No emojis."),
    ChatMessage(role=MessageRole.USER, content="Hi", additional_kwargs={"name": "alice"}),
    ChatMessage(
        role=MessageRole.USER,
        blocks=[
            TextBlock(text="Look:"),
            ImageBlock(image=PNG, image_mimetype="image/png"),
            ImageBlock(url="https://example.com/a.png", detail="low"),
            AudioBlock(audio=b"UklGRg==", format="wav"),
            VideoBlock(video=b"AAAAIGZ0eXA=", video_mimetype="video/mp4", fps=24),
            DocumentBlock(data=b"JVBERi0=", document_mimetype="application/pdf", title="t"),
            CachePoint(cache_control=CacheControl(type="ephemeral")),
        ],
    ),
    ChatMessage(
        role=MessageRole.ASSISTANT,
        blocks=[
            ThinkingBlock(content="think", num_tokens=3, additional_information={"sig": "x"}),
            TextBlock(text="Calling."),
            ToolCallBlock(tool_call_id="c1", tool_name="weather", tool_kwargs={"city": "Oslo"}),
            ToolCallBlock(tool_name="raw", tool_kwargs='{"partial'),
        ],
    ),
    ChatMessage(role=MessageRole.TOOL, content="sunny", additional_kwargs={"tool_call_id": "c1"}),
    ChatMessage(
        role=MessageRole.USER,
        blocks=[
            CitableBlock(title="doc", source="s", content=[TextBlock(text="quote")]),
            CitationBlock(
                cited_content=TextBlock(text="q"),
                source="s",
                title="t",
                additional_location_info={"p": 1},
            ),
        ],
    ),
    ChatMessage(role=MessageRole.FUNCTION, content="42", additional_kwargs={"name": "f"}),
    ChatMessage(role=MessageRole.CHATBOT, content="hello"),
    ChatMessage(role=MessageRole.MODEL, content=""),
    ChatMessage(role=MessageRole.ASSISTANT, blocks=[]),
]


def test_the_catalogue_covers_every_role_and_block_kind() -> None:
    kinds = typing.get_args(typing.get_args(ContentBlock)[0])
    every_block = {kind.model_fields["block_type"].default for kind in kinds}
    used: set[str] = set()
    for message in EVERY_KIND:
        used.update(block.block_type for block in message.blocks)
    assert every_block <= used
    assert {m.role for m in EVERY_KIND} == set(MessageRole)


async def test_every_message_kind_reads_back_as_written(store: SessionStore) -> None:
    chat_store = SessionStoreChatStore(store)
    assert isinstance(chat_store, AsyncDBChatStore)
    key = _key()
    await chat_store.add_messages(key, EVERY_KIND)
    assert _dumps(await chat_store.get_messages(key)) == _dumps(EVERY_KIND)
    await chat_store.set_messages(key, EVERY_KIND[::-1], ARCHIVED)
    assert _dumps(await chat_store.get_messages(key, ARCHIVED)) == _dumps(EVERY_KIND[::-1])


async def test_stored_messages_are_a_readable_transcript(store: SessionStore) -> None:
    chat_store = SessionStoreChatStore(store)
    key = _key()
    await chat_store.add_messages(key, [EVERY_KIND[2], EVERY_KIND[4], EVERY_KIND[5]])
    user, assistant, tool = await store.load(key) or []
    assert user.content == "Hi" and user.role == "user"
    assert isinstance(assistant.content, list)
    assert ToolUseBlock("c1", "weather", {"city": "Oslo"}) in assistant.content
    assert tool.content == [ToolResultBlock("c1", "sunny")]
    # A message the view rebuilds exactly is stored once, without a verbatim copy.
    await chat_store.add_message(key, ChatMessage(role="user", content="plain"))
    plain = (await store.load(key, start=-1) or [])[0]
    assert plain.metadata is None and plain.content == "plain"


async def test_a_transcript_written_without_llama_index_loads(store: SessionStore) -> None:
    key = _key()
    await store.save(
        key,
        FOREIGN_TRANSCRIPT,
    )
    loaded = await SessionStoreChatStore(store).get_messages(key)
    assert [m.role for m in loaded] == ["system", "user", "assistant", "tool", "assistant"]
    call = loaded[2].blocks[0]
    assert isinstance(call, ToolCallBlock) and call.tool_kwargs == {"city": "Oslo"}
    assert loaded[3].additional_kwargs == {"tool_call_id": "c9"} and loaded[3].content == "rain"
    assert loaded[4].content == "Rain."


# -- LlamaIndex's own usage -----------------------------------------------------------------


async def test_memory_with_a_token_limit_archives_the_oldest_turns(store: SessionStore) -> None:
    chat_store = SessionStoreChatStore(store)
    key = _key()
    memory = Memory.from_defaults(
        session_id=key, chat_store=chat_store, token_limit=40, tokenizer_fn=_words
    )
    written = []
    for turn in range(12):
        pair = [
            ChatMessage(role="user", content=f"question {turn} with five words"),
            ChatMessage(role="assistant", content=f"answer {turn} also five words"),
        ]
        written += pair
        for message in pair:
            await memory.aput(message)
    active = await chat_store.get_messages(key, ACTIVE)
    archived = await chat_store.get_messages(key, ARCHIVED)
    assert archived and active, "the token limit made Memory archive"
    assert _dumps(archived + active) == _dumps(written)
    assert _dumps(await memory.aget_all()) == _dumps(written)
    assert _dumps(await memory.aget()) == _dumps(active)
    assert await chat_store.count_messages(key, ARCHIVED) == len(archived)
    assert sum(len(_words(m.content or "")) for m in active) <= 40 * 0.7
    # The session is the whole conversation; the boundary is an attribute.
    record = await store.get(key)
    assert record is not None and record.message_count == len(written)
    assert record.attributes[ARCHIVED_KEY] == len(archived)
    await memory.areset()
    assert await chat_store.get_keys() == [] and await store.get(key) is None


async def test_a_chat_engine_continues_a_stored_conversation(store: SessionStore) -> None:
    key = _key()

    def engine() -> SimpleChatEngine:
        memory = Memory.from_defaults(
            session_id=key,
            chat_store=SessionStoreChatStore(store),
            token_limit=1000,
            tokenizer_fn=_words,
        )
        return SimpleChatEngine.from_defaults(llm=MockLLM(), memory=memory)

    await engine().achat("first question")
    await engine().achat("second question")
    history = await SessionStoreChatStore(store).get_messages(key)
    assert [m.role for m in history] == ["user", "assistant"] * 2
    assert _texts(history)[::2] == ["first question", "second question"]


# -- the same answers as LlamaIndex's own SQL chat store ------------------------------------


async def _both_stores(store: SessionStore) -> list[AsyncDBChatStore]:
    return [SessionStoreChatStore(store), SQLAlchemyChatStore(table_name="m")]


async def _same_on_both(store: SessionStore, calls: Any) -> None:
    answers = []
    for chat_store in await _both_stores(store):
        answers.append(await calls(chat_store, "key-1"))
    assert answers[0] == answers[1]


async def test_statuses_limits_and_offsets_answer_as_the_sql_store(store: SessionStore) -> None:
    messages = [ChatMessage(role="user", content=f"m{i}") for i in range(10)]

    async def calls(chat_store: AsyncDBChatStore, key: str) -> list[Any]:
        await chat_store.add_messages(key, messages[:6])
        out: list[Any] = [_texts(await chat_store.archive_oldest_messages(key, 2))]
        await chat_store.add_message(key, messages[6])
        await chat_store.add_messages(key, messages[7:])
        for status in (ACTIVE, ARCHIVED, None):
            out.append(await chat_store.count_messages(key, status))
            for limit, offset in [(None, None), (3, None), (None, 2), (2, 3), (0, 1), (5, 50)]:
                got = await chat_store.get_messages(key, status, limit=limit, offset=offset)
                out.append(_texts(got))
        out.append(_texts(await chat_store.archive_oldest_messages(key, 3)))
        out.append(_texts(await chat_store.delete_oldest_messages(key, 2)))
        out.append(_texts(await chat_store.get_messages(key, None)))
        out.append(_texts(await chat_store.archive_oldest_messages(key, 100)))
        out.append(await chat_store.count_messages(key, ACTIVE))
        out.append(await chat_store.get_keys())
        return out

    await _same_on_both(store, calls)


async def test_set_and_delete_answer_as_the_sql_store(store: SessionStore) -> None:
    messages = [ChatMessage(role="user", content=f"m{i}") for i in range(6)]

    async def calls(chat_store: AsyncDBChatStore, key: str) -> list[Any]:
        await chat_store.add_messages(key, messages)
        await chat_store.archive_oldest_messages(key, 2)
        await chat_store.delete_messages(key, ACTIVE)
        out: list[Any] = [_texts(await chat_store.get_messages(key, None))]
        await chat_store.add_messages(key, messages[:2])
        await chat_store.delete_messages(key, ARCHIVED)
        out.append(_texts(await chat_store.get_messages(key, None)))
        await chat_store.set_messages(key, messages[3:], ARCHIVED)
        out += [await chat_store.count_messages(key, s) for s in (ACTIVE, ARCHIVED, None)]
        await chat_store.set_messages(key, messages[:1])
        out += [await chat_store.count_messages(key, s) for s in (ACTIVE, ARCHIVED, None)]
        await chat_store.delete_messages(key)
        out += [await chat_store.get_messages(key, None), await chat_store.get_keys()]
        out.append(_texts(await chat_store.archive_oldest_messages(key, 1)))
        return out

    await _same_on_both(store, calls)


async def test_archived_messages_added_later_go_after_the_archived_ones(
    store: SessionStore,
) -> None:
    # The SQL store orders one key's messages by insertion time across statuses; here the
    # archived messages stay a prefix. Per status, both orders are the same.
    chat_store, key = SessionStoreChatStore(store), _key()
    await chat_store.add_messages(key, [ChatMessage(content=t) for t in ["a", "b", "c"]])
    await chat_store.archive_oldest_messages(key, 1)
    await chat_store.add_message(key, ChatMessage(content="late"), ARCHIVED)
    assert _texts(await chat_store.get_messages(key, ARCHIVED)) == ["a", "late"]
    assert _texts(await chat_store.get_messages(key, ACTIVE)) == ["b", "c"]
    assert _texts(await chat_store.get_messages(key, None)) == ["a", "late", "b", "c"]


async def test_delete_message_by_position(store: SessionStore) -> None:
    chat_store, key = SessionStoreChatStore(store), _key()
    await chat_store.add_messages(key, [ChatMessage(content=t) for t in ["a", "b", "c", "d"]])
    await chat_store.archive_oldest_messages(key, 2)
    deleted = await chat_store.delete_message(key, 1)
    assert deleted is not None and deleted.content == "b"
    assert _texts(await chat_store.get_messages(key, ARCHIVED)) == ["a"]
    deleted = await chat_store.delete_message(key, 2)
    assert deleted is not None and deleted.content == "d"
    assert _texts(await chat_store.get_messages(key, ACTIVE)) == ["c"]
    assert await chat_store.delete_message(key, 9) is None
    assert await chat_store.delete_message(_key(), 0) is None


async def test_concurrent_archives_never_archive_a_message_twice(store: SessionStore) -> None:
    chat_store, key = SessionStoreChatStore(store), _key()
    await chat_store.add_messages(key, [ChatMessage(content=str(i)) for i in range(12)])
    results = await asyncio.gather(*(chat_store.archive_oldest_messages(key, 2) for _ in range(5)))
    archived = [str(m.content) for batch in results for m in batch]
    assert sorted(archived, key=int) == [str(i) for i in range(10)]
    assert _texts(await chat_store.get_messages(key)) == ["10", "11"]


async def test_keys_come_from_the_listing_of_one_namespace(store: SessionStore) -> None:
    tenant_a = SessionStoreChatStore(store.namespace("a"))
    tenant_b = SessionStoreChatStore(store.namespace("b"))
    await tenant_a.add_message("one", ChatMessage(content="x"))
    await tenant_a.add_message("two", ChatMessage(content="y"))
    await tenant_b.add_message("one", ChatMessage(content="z"))
    await store.namespace("a").save("empty", [])
    assert sorted(await tenant_a.get_keys()) == ["one", "two"]
    assert await tenant_b.get_keys() == ["one"]
    assert _texts(await tenant_b.get_messages("one")) == ["z"]


async def test_bad_input_is_refused_and_nothing_is_written(store: SessionStore) -> None:
    chat_store, key = SessionStoreChatStore(store), _key()
    with pytest.raises(InvalidSessionIdError):
        await chat_store.add_message("", ChatMessage(content="x"))
    with pytest.raises(InvalidMessageError):
        await chat_store.add_messages(key, [ChatMessage(content="x"), "not a message"])  # type: ignore[list-item]
    with pytest.raises(InvalidArgumentError):
        await chat_store.get_messages(key, "pending")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        await chat_store.archive_oldest_messages(key, -1)
    with pytest.raises(InvalidArgumentError):
        await chat_store.get_messages(key, limit=-2)
    with pytest.raises(InvalidArgumentError):
        SessionStoreChatStore(42)  # type: ignore[arg-type]
    assert await store.get(key) is None


# -- any event loop -------------------------------------------------------------------------


def test_sync_memory_from_threads_and_asyncio_run_per_call(store_url: str) -> None:
    key = _key()

    def worker(number: int) -> None:
        memory = Memory.from_defaults(
            session_id=key,
            chat_store=SessionStoreChatStore(store_url),
            token_limit=10_000,
            tokenizer_fn=_words,
        )
        for turn in range(3):
            memory.put_messages(
                [ChatMessage(content=f"{number}-{turn}"), ChatMessage(role="assistant")]
            )

    try:
        run_in_threads(worker, 4)
        chat_store = SessionStoreChatStore(store_url)
        assert asyncio.run(chat_store.count_messages(key)) == 24
        assert asyncio.run(chat_store.archive_oldest_messages(key, 4))
        assert asyncio.run(chat_store.count_messages(key, ARCHIVED)) == 4
        assert SessionStoreChatStore(store_url).store is chat_store.store
    finally:
        asyncio.run(close_shared_stores())


def test_without_llama_index_the_error_names_the_extra() -> None:
    message = error_importing_without("llama_index.core", "sessionstore.integrations.llama_index")
    assert "pip install 'sessionstore[llama-index]'" in message


async def test_the_example_runs_offline(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    await example_main("llama_index_chat_store")(store_url)
    printed = capsys.readouterr().out
    assert "2 active and 6 archived messages" in printed
    assert "user: What do you know?" in printed
