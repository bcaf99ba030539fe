"""``SessionStoreSession`` driven by the SDK's Runner, as the SDK's own session tests drive
``SQLiteSession``: ``run``, ``run_sync`` (its own loop, in another thread) and ``run_streamed``,
with the SDK's ScriptedModel standing in for the model (offline)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
from agents import Agent, RunConfig, Runner, function_tool, set_tracing_disabled
from agents.memory import SessionSettings
from agents.testing import ScriptedModel, assistant_message, function_call

from openai_agents_support import dumped, load_example, readme_backend
from sessionstore import SessionStore, open_store
from sessionstore.integrations.openai_agents import SessionStoreSession

set_tracing_disabled(True)  # offline: no trace export

RUNNER_METHODS = ["run", "run_sync", "run_streamed"]


@pytest.fixture(params=["url", "readme-backend"])
async def store(request: pytest.FixtureRequest, store_url: str) -> AsyncIterator[SessionStore]:
    """A store opened from each backend's URL, and one of the README's example backend."""
    opened = open_store(store_url) if request.param == "url" else readme_backend()
    async with opened:
        yield opened


def _run_sync_on_a_new_loop(agent: Agent[Any], question: Any, **options: Any) -> Any:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return Runner.run_sync(agent, question, **options)
    finally:
        loop.close()


async def run(method: str, agent: Agent[Any], question: Any, **options: Any) -> Any:
    """One run by ``method``; ``run_sync`` runs in a thread with an event loop of its own."""
    if method == "run":
        return await Runner.run(agent, question, **options)
    if method == "run_sync":
        return await asyncio.to_thread(_run_sync_on_a_new_loop, agent, question, **options)
    result = Runner.run_streamed(agent, question, **options)
    async for _ in result.stream_events():
        pass
    return result


@function_tool
def weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@pytest.mark.parametrize("method", RUNNER_METHODS)
async def test_turns_keep_their_history(store: SessionStore, method: str) -> None:
    model = ScriptedModel(
        [
            [function_call("weather", {"city": "Oslo"}, call_id="call_1")],
            [assistant_message("It is sunny in Oslo.")],
            [assistant_message("You asked about Oslo.")],
        ]
    )
    agent = Agent(name="assistant", model=model, tools=[weather])
    session = SessionStoreSession("run", store)
    first = await run(method, agent, "Weather in Oslo?", session=session)
    assert first.final_output == "It is sunny in Oslo."
    second = await run(method, agent, "What did I ask?", session=session)
    assert second.final_output == "You asked about Oslo."
    sent = model.last_call
    assert sent is not None and isinstance(sent.input, list)
    history = await session.get_items()
    # The model saw the whole first turn, exactly as stored, then the new question.
    assert dumped(sent.input) == dumped(history[: len(sent.input)])
    assert sent.input[-1] == {"role": "user", "content": "What did I ask?"}
    transcript = [m.text_or_summary() for m in await store.load("run") or []]
    assert transcript[0] == "Weather in Oslo?" and "sunny in Oslo" in transcript[2]
    model.assert_complete()


@pytest.mark.parametrize("method", RUNNER_METHODS)
async def test_sessions_keep_separate_histories(store: SessionStore, method: str) -> None:
    model = ScriptedModel([[assistant_message("cats")], [assistant_message("dogs")]])
    model.extend([[assistant_message("You like cats.")]])
    agent = Agent(name="assistant", model=model)
    cats, dogs = SessionStoreSession("cats", store), SessionStoreSession("dogs", store)
    await run(method, agent, "I like cats", session=cats)
    await run(method, agent, "I like dogs", session=dogs)
    await run(method, agent, "What do I like?", session=cats)
    sent = model.last_call
    assert sent is not None and isinstance(sent.input, list)
    assert "I like dogs" not in str(sent.input) and "I like cats" in str(sent.input)


async def test_run_config_session_settings_override_the_sessions(store: SessionStore) -> None:
    session = SessionStoreSession("s", store, session_settings=SessionSettings(limit=100))
    await session.add_items([{"role": "user", "content": f"turn {i}"} for i in range(10)])
    model = ScriptedModel([[assistant_message("Got it")]])
    settings = RunConfig(session_settings=SessionSettings(limit=2))
    await Runner.run(Agent(name="a", model=model), "New?", session=session, run_config=settings)
    sent = model.last_call
    assert sent is not None and isinstance(sent.input, list)
    assert [item["content"] for item in sent.input] == ["turn 8", "turn 9", "New?"]


async def test_threads_each_with_their_own_loop_share_one_session(store_url: str) -> None:
    session = SessionStoreSession("threads", open_store(store_url))
    errors: list[BaseException] = []

    def add(number: int) -> None:
        try:
            asyncio.run(session.add_items([{"role": "user", "content": f"message {number}"}]))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    contents = {item["content"] for item in await session.get_items()}  # type: ignore[typeddict-item]
    assert contents == {f"message {n}" for n in range(10)}
    await session.store.close()


async def test_the_example_runs_offline(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    example = load_example("openai_agents_session")
    await example.main(store_url)
    printed = capsys.readouterr().out
    assert "assistant: You asked about the weather in Oslo." in printed
    assert "[tool call weather (call_1)" in printed
