"""``SessionStoreSession`` against the real OpenAI Agents SDK: its interface, every item kind
read back as written, transcripts written without the SDK, shared stores and the extra."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, cast

import pydantic
import pytest
from agents import set_tracing_disabled
from agents.memory import Session, SessionABC, SessionSettings
from hypothesis import given, settings
from hypothesis import strategies as st

from openai_agents_support import (
    SAMPLE_ITEMS,
    dumped,
    readme_backend,
    union_members,
)
from sessionstore import (
    InvalidArgumentError,
    InvalidSessionIdError,
    Message,
    MissingDependencyError,
    SessionStore,
    TextBlock,
    ToolUseBlock,
    open_store,
)
from sessionstore.integrations._shared import close_shared_stores, require_extra, shared_store
from sessionstore.integrations.openai_agents import (
    METADATA_KEY,
    SessionStoreSession,
    item_to_message,
    message_to_items,
)

set_tracing_disabled(True)  # offline: no trace export


@pytest.fixture(params=["url", "readme-backend"])
async def store(request: pytest.FixtureRequest, store_url: str) -> AsyncIterator[SessionStore]:
    """A store opened from each backend's URL, and one of the README's example backend."""
    opened = open_store(store_url) if request.param == "url" else readme_backend()
    async with opened:
        yield opened


def _items(*texts: str) -> list[Any]:
    return [{"role": "user", "content": text} for text in texts]


# -- the interface -----------------------------------------------------------------------------


async def test_it_is_a_session_of_the_sdk(store: SessionStore) -> None:
    session = SessionStoreSession("user-42", store)
    assert isinstance(session, SessionABC)
    assert isinstance(session, Session)
    assert session.session_settings == SessionSettings()


async def test_add_get_pop_clear(store: SessionStore) -> None:
    session = SessionStoreSession("user-42", store)
    assert await session.get_items() == []
    assert await session.pop_item() is None
    await session.add_items(_items("a", "b", "c"))
    await session.add_items([])
    assert await session.get_items() == _items("a", "b", "c")
    assert await session.pop_item() == _items("c")[0]
    assert await session.get_items() == _items("a", "b")
    await session.clear_session()
    assert await session.get_items() == []
    assert await store.get("user-42") is None
    session.close()  # as SQLiteSession.close(): the shared store stays open
    assert not store.closed


async def test_get_items_reads_the_tail_and_honours_session_settings(store: SessionStore) -> None:
    session = SessionStoreSession("s", store, session_settings={"limit": 2})
    await session.add_items(_items(*"abcde"))
    assert await session.get_items() == _items("d", "e")
    assert await session.get_items(limit=3) == _items("c", "d", "e")
    assert await session.get_items(limit=10) == _items(*"abcde")
    assert await session.get_items(limit=0) == []
    assert await SessionStoreSession("s", store).get_items() == _items(*"abcde")


async def test_concurrent_pops_never_return_an_item_twice(store: SessionStore) -> None:
    session = SessionStoreSession("s", store)
    await session.add_items(_items(*[str(i) for i in range(20)]))
    popped: list[Any] = await asyncio.gather(*(session.pop_item() for _ in range(25)))
    contents = [item["content"] for item in popped if item is not None]
    assert sorted(contents, key=int) == [str(i) for i in range(20)]
    assert popped.count(None) == 5


async def test_sessions_are_per_id_and_per_namespace(store: SessionStore) -> None:
    await SessionStoreSession("a", store).add_items(_items("in a"))
    await SessionStoreSession("a", store.namespace("tenant")).add_items(_items("tenant a"))
    assert await SessionStoreSession("b", store).get_items() == []
    assert await SessionStoreSession("a", store).get_items() == _items("in a")


def test_bad_ids_and_stores_are_refused() -> None:
    with pytest.raises(InvalidSessionIdError):
        SessionStoreSession("", "memory://")
    with pytest.raises(InvalidArgumentError):
        SessionStoreSession("a", 42)  # type: ignore[arg-type]


# -- lossless items ----------------------------------------------------------------------------


def test_the_catalogue_covers_every_item_kind() -> None:
    members = union_members()
    assert sorted(name for name, _ in SAMPLE_ITEMS) == sorted(members)
    for name, item in SAMPLE_ITEMS:
        pydantic.TypeAdapter(members[name]).validate_python(item, strict=True)


async def test_every_item_kind_round_trips_exactly(store: SessionStore) -> None:
    session = SessionStoreSession("all-kinds", store)
    items: list[Any] = [item for _, item in SAMPLE_ITEMS]
    await session.add_items(items)
    assert dumped(await session.get_items()) == dumped(items)
    assert dumped([await session.pop_item()]) == dumped(items[-1:])
    assert dumped(await session.get_items(limit=3)) == dumped(items[-4:-1])


async def test_an_item_reference_without_its_optional_type_round_trips(
    store: SessionStore,
) -> None:
    session = SessionStoreSession("ref", store)
    await session.add_items([{"id": "msg_0"}])
    assert await session.get_items() == [{"id": "msg_0"}]
    stored = await store.load("ref") or []
    assert stored[0].text_or_summary() == "[item reference msg_0]"


async def test_stored_messages_are_a_readable_transcript(store: SessionStore) -> None:
    session = SessionStoreSession("view", store)
    await session.add_items([cast(Any, item) for _, item in SAMPLE_ITEMS])
    messages = await store.load("view") or []
    by_kind = {name: message for (name, _), message in zip(SAMPLE_ITEMS, messages, strict=True)}
    assert by_kind["EasyInputMessageParam"] == Message.user("What's the weather in Oslo?")
    assert by_kind["ResponseOutputMessageParam"].text_or_summary() == "Sunny, 22C."
    call = by_kind["ResponseFunctionToolCallParam"]
    assert call.content == [ToolUseBlock("call_1", "weather", {"city": "Oslo"})]
    assert by_kind["FunctionCallOutput"].role == "tool"
    assert "Look up the weather." in by_kind["ResponseReasoningItemParam"].text_or_summary()


async def test_an_item_the_view_reproduces_is_not_stored_twice(store: SessionStore) -> None:
    session = SessionStoreSession("lean", store)
    plain_call: Any = {"type": "function_call", "call_id": "c", "name": "f", "arguments": '{"x":1}'}
    await session.add_items([*_items("hi"), plain_call])
    with_id: Any = {"id": "fc_1", **plain_call}
    await session.add_items([with_id])
    stored = await store.load("lean") or []
    assert [message.metadata for message in stored[:2]] == [None, None]
    assert stored[2].metadata == {METADATA_KEY: {"item": with_id}}


async def test_a_transcript_written_without_the_sdk_loads_by_best_effort(
    store: SessionStore,
) -> None:
    await store.save(
        "plain",
        [
            Message.system("Be brief."),
            Message.user("weather?"),
            Message.assistant([ToolUseBlock("t1", "weather", {"city": "Oslo"})]),
            Message.tool_result("t1", "sunny"),
            Message.assistant("Sunny."),
        ],
    )
    session = SessionStoreSession("plain", store)
    assert await session.get_items() == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "weather?"},
        {
            "type": "function_call",
            "call_id": "t1",
            "name": "weather",
            "arguments": '{"city":"Oslo"}',
        },
        {"type": "function_call_output", "call_id": "t1", "output": "sunny"},
        {"role": "assistant", "content": "Sunny."},
    ]


async def test_popping_a_foreign_message_of_several_items_keeps_the_others(
    store: SessionStore,
) -> None:
    both = Message.assistant([TextBlock("Checking."), ToolUseBlock("t1", "weather", {})])
    await store.save("mixed", [both])
    session = SessionStoreSession("mixed", store)
    popped = await session.pop_item()
    assert popped is not None and popped["type"] == "function_call"
    assert await session.get_items() == [{"role": "assistant", "content": "Checking."}]


# -- shared stores and the extra ------------------------------------------------------------------


async def test_stores_opened_from_one_url_are_shared(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    try:
        first = SessionStoreSession("a", store_url)
        assert SessionStoreSession("b", store_url).store is first.store
        monkeypatch.setenv("SESSIONSTORE_URL", store_url)
        assert SessionStoreSession("c").store is first.store is shared_store(store_url)
        await first.add_items(_items("x"))
        assert await SessionStoreSession("a", store_url).get_items() == _items("x")
    finally:
        await close_shared_stores()
    assert first.store.closed and shared_store(store_url) is not first.store
    await close_shared_stores()


def test_a_missing_framework_names_the_extra_to_install() -> None:
    with pytest.raises(MissingDependencyError) as caught:
        require_extra("no_such_framework_package", "openai-agents")
    assert isinstance(caught.value, ImportError)
    assert "pip install 'sessionstore[openai-agents]'" in str(caught.value)


async def test_unicode_and_sql_like_text_round_trip(store: SessionStore) -> None:
    texts = ["こんにちは", "😊👍", "O'Reilly", "Robert'); DROP TABLE students;--", "", " a\nb "]
    session = SessionStoreSession("'; DROP TABLE sessions;--", store)
    await session.add_items(_items(*texts))
    assert await session.get_items() == _items(*texts)


async def test_a_cancelled_add_still_settles_its_write(store: SessionStore) -> None:
    # As SQLiteSession does: the caller learns of its cancellation only once the write settled.
    session = SessionStoreSession("s", store)
    task = asyncio.create_task(session.add_items(_items("landed")))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await session.get_items() == _items("landed")


_JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(blacklist_categories=["Cs"]), max_size=20)
)
_KEYS = st.text(st.characters(blacklist_categories=["Cs"]), max_size=8)
_JSON = st.recursive(
    _JSON_SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_KEYS, children, max_size=3),
    max_leaves=20,
)
_KINDS = st.sampled_from([None, "message", "function_call", "reasoning", "mcp_call", "novel"])
_ROLES = st.sampled_from([None, "user", "assistant", "system", "developer", "tool"])


@settings(max_examples=300, deadline=None)
@given(
    kind=_KINDS | _JSON,
    role=_ROLES | _JSON,
    rest=st.dictionaries(_KEYS, _JSON, max_size=5),
)
def test_any_json_item_reads_back_exactly(kind: Any, role: Any, rest: Any) -> None:
    item = dict(rest)
    if kind is not None:
        item["type"] = kind
    if role is not None:
        item["role"] = role
    stored = Message.from_json(item_to_message(item).to_json())
    assert dumped(message_to_items(stored)) == dumped([item])
