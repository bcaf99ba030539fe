"""``SessionStoreMessageHistory``: PydanticAI message histories on every backend.

The standard is PydanticAI's own: agent runs on its ``TestModel`` (offline, with
a tool call) continuing from the stored ``message_history`` turn after turn,
and every message part kind reading back as PydanticAI's own JSON round trip
(``ModelMessagesTypeAdapter``) reads it.
"""

from __future__ import annotations

import asyncio
import typing
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic_ai import Agent
from pydantic_ai import messages as m
from pydantic_ai.messages import ModelMessage, ModelMessagesTypeAdapter, ModelRequest, ModelResponse
from pydantic_ai.models.test import TestModel

from integrations_support import (
    FOREIGN_TRANSCRIPT,
    error_importing_without,
    example_main,
    run_in_threads,
)
from pydantic_ai_support import EVERY_KIND, REQUEST_PARTS, RESPONSE_PARTS, dump
from sessionstore import (
    ConflictError,
    InvalidArgumentError,
    InvalidMessageError,
    InvalidSessionIdError,
    SessionStore,
    ToolResultBlock,
    ToolUseBlock,
    open_store,
)
from sessionstore.integrations._shared import close_shared_stores
from sessionstore.integrations.pydantic_ai import (
    PYDANTIC_AI_KEY,
    SessionStoreMessageHistory,
    from_pydantic_ai,
    to_pydantic_ai,
)


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[SessionStore]:
    async with open_store(store_url) as opened:
        yield opened


def _id() -> str:
    return f"p-{uuid.uuid4().hex[:12]}"


def _as_pydantic_ai_reads_back(messages: list[ModelMessage]) -> list[Any]:
    """What PydanticAI's own JSON round trip gives back, as JSON."""
    return dump(ModelMessagesTypeAdapter.validate_python(dump(messages)))


def _agent() -> Agent[None, str]:
    agent = Agent(TestModel(), system_prompt="Be brief.")

    @agent.tool_plain
    def weather(city: str) -> str:
        """The weather in ``city``."""
        return f"sunny in {city}"

    return agent


def _kinds(union: Any) -> set[type]:
    return {typing.get_args(member)[0] for member in typing.get_args(typing.get_args(union)[0])}


def test_the_catalogue_covers_every_part_kind() -> None:
    assert _kinds(m.ModelRequestPart) <= {type(p) for p in REQUEST_PARTS}
    assert _kinds(m.ModelResponsePart) <= {type(p) for p in RESPONSE_PARTS}


async def test_every_part_kind_reads_back_as_written(store: SessionStore) -> None:
    history = SessionStoreMessageHistory(_id(), store)
    await history.append(EVERY_KIND)
    assert dump(await history.load()) == _as_pydantic_ai_reads_back(EVERY_KIND)
    await history.save(EVERY_KIND[::-1])
    assert dump(await history.load()) == _as_pydantic_ai_reads_back(EVERY_KIND[::-1])


async def test_agent_runs_continue_from_the_stored_history(store: SessionStore) -> None:
    session_id, agent = _id(), _agent()
    for turn, prompt in enumerate(["Weather in Oslo?", "And tomorrow?", "Thanks"]):
        history = SessionStoreMessageHistory(session_id, store)
        earlier = await history.load()
        result = await agent.run(prompt, message_history=earlier)
        assert dump(result.all_messages()[: len(earlier)]) == dump(earlier)
        await history.append(result.new_messages())
        # The first turn calls the tool; later turns reuse the history without a new prompt.
        assert len(await history.load()) == len(earlier) + len(result.new_messages())
        assert turn == 0 or earlier
    stored = await SessionStoreMessageHistory(session_id, store).load()
    assert dump(stored) == _as_pydantic_ai_reads_back(stored)
    prompts = [
        part.content
        for message in stored
        if isinstance(message, ModelRequest)
        for part in message.parts
        if isinstance(part, m.UserPromptPart)
    ]
    assert prompts == ["Weather in Oslo?", "And tomorrow?", "Thanks"]


async def test_a_tail_read_returns_the_last_messages(store: SessionStore) -> None:
    history = SessionStoreMessageHistory(_id(), store)
    result = await _agent().run("Weather?")
    await history.append(result.all_messages())
    everything = await history.load()
    assert dump(await history.load(limit=2)) == dump(everything[-2:])
    assert await history.load(limit=0) == []
    assert dump(await history.load(limit=100)) == dump(everything)


async def test_stored_messages_are_a_readable_transcript(store: SessionStore) -> None:
    history = SessionStoreMessageHistory(_id(), store)
    result = await _agent().run("Weather in Oslo?")
    await history.append(result.all_messages())
    user, call, tool_return, answer = await store.load(history.session_id) or []
    assert (user.role, user.content) == ("user", "Weather in Oslo?")
    assert isinstance(call.content, list) and isinstance(call.content[0], ToolUseBlock)
    assert call.content[0].name == "weather"
    assert isinstance(tool_return.content, list)
    assert tool_return.content[0] == ToolResultBlock(call.content[0].id, "sunny in a")
    assert answer.role == "assistant" and PYDANTIC_AI_KEY in answer.metadata


async def test_a_transcript_written_without_pydantic_ai_loads(store: SessionStore) -> None:
    session_id = _id()
    await store.save(
        session_id,
        FOREIGN_TRANSCRIPT,
    )
    loaded = await SessionStoreMessageHistory(session_id, store).load()
    assert [type(message).__name__ for message in loaded] == [
        "ModelRequest",
        "ModelRequest",
        "ModelResponse",
        "ModelRequest",
        "ModelResponse",
    ]
    assert loaded[2].parts == [m.ToolCallPart("weather", {"city": "Oslo"}, "c9")]
    tool_return = loaded[3].parts[0]
    assert isinstance(tool_return, m.ToolReturnPart)
    assert (tool_return.tool_name, tool_return.content) == ("weather", "rain")
    # An agent continues such a history.
    result = await _agent().run("And now?", message_history=loaded)
    assert result.output


async def test_save_with_expected_version_refuses_a_lost_update(store: SessionStore) -> None:
    history = SessionStoreMessageHistory(_id(), store)
    first = await history.save([ModelRequest(parts=[m.UserPromptPart("a")])], expected_version=0)
    await history.append([ModelResponse(parts=[m.TextPart("b")])])
    with pytest.raises(ConflictError):
        await history.save([], expected_version=first.version)
    assert len(await history.load()) == 2
    await history.clear()
    assert await history.load() == [] and await store.get(history.session_id) is None


async def test_bad_input_is_refused_and_nothing_is_written(store: SessionStore) -> None:
    history = SessionStoreMessageHistory(_id(), store)
    with pytest.raises(InvalidSessionIdError):
        SessionStoreMessageHistory("", store)
    with pytest.raises(InvalidMessageError):
        await history.append([ModelRequest(parts=[]), {"kind": "request"}])  # type: ignore[list-item]
    with pytest.raises(InvalidMessageError):
        from_pydantic_ai(ModelRequest(parts=[]))  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        await history.load(limit=-1)
    with pytest.raises(InvalidArgumentError):
        SessionStoreMessageHistory("x", 3)  # type: ignore[arg-type]
    assert await history.append([]) is None
    assert await store.get(history.session_id) is None
    assert to_pydantic_ai([]) == []


def test_sync_runs_from_threads_and_asyncio_run_per_call(store_url: str) -> None:
    session_id = _id()

    def worker(number: int) -> None:
        history = SessionStoreMessageHistory(session_id, store_url)
        for _ in range(2):
            result = _agent().run_sync(f"from {number}")
            history.append_sync(result.new_messages())

    try:
        run_in_threads(worker, 3)
        history = SessionStoreMessageHistory(session_id, store_url)
        loaded = history.load_sync()
        assert len(loaded) == 6 * 4
        assert dump(asyncio.run(history.load())) == dump(loaded)
        result = _agent().run_sync("last", message_history=asyncio.run(history.load(limit=4)))
        asyncio.run(history.append(result.new_messages()))
        assert len(history.load_sync()) == 6 * 4 + 2
        history.clear_sync()
        assert history.load_sync() == []
        assert SessionStoreMessageHistory("other", store_url).store is history.store
    finally:
        asyncio.run(close_shared_stores())


def test_without_pydantic_ai_the_error_names_the_extra() -> None:
    message = error_importing_without("pydantic_ai", "sessionstore.integrations.pydantic_ai")
    assert "pip install 'sessionstore[pydantic-ai]'" in message


async def test_the_example_runs_offline(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    await example_main("pydantic_ai_history")(store_url)
    printed = capsys.readouterr().out
    assert "8 PydanticAI messages stored" in printed
    assert "conversation: 6 messages, revision" in printed
    assert "[tool call weather" in printed and "user: Thanks!" in printed
