"""Events through ``SessionStoreSessionService``: every kind reads back as written, the
stored transcript is readable, an ADK ``Runner`` turn works offline, any loop or thread.
"""

from __future__ import annotations

import asyncio
import base64
import subprocess
import sys
import threading
from collections.abc import AsyncGenerator
from typing import Any

import pytest
from google.adk.agents import LlmAgent
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions, EventCompaction
from google.adk.runners import Runner
from google.adk.sessions.base_session_service import GetSessionConfig
from google.adk.tools.tool_confirmation import ToolConfirmation
from google.genai import types

from openai_agents_support import load_example
from sessionstore import (
    Base64ImageSource,
    ImageBlock,
    Message,
    Role,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
    open_store,
)
from sessionstore.integrations import close_shared_stores
from sessionstore.integrations.google_adk import (
    METADATA_KEY,
    SessionStoreSessionService,
    event_to_message,
)

APP, USER = "weather_app", "user-42"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe"


def _content(role: str, *parts: types.Part) -> types.Content:
    return types.Content(role=role, parts=list(parts))


def _every_kind() -> list[Event]:
    """One event of each kind ADK writes: parts, actions and response metadata."""
    call = types.Part.from_function_call(name="weather", args={"city": "Oslo"})
    assert call.function_call is not None
    call.function_call.id = "adk-call-1"
    response = types.Part.from_function_response(name="weather", response={"temp": 22})
    assert response.function_response is not None
    response.function_response.id = "adk-call-1"
    code = types.Part(
        executable_code=types.ExecutableCode(code="print(1)", language=types.Language.PYTHON)
    )
    result = types.Part(
        code_execution_result=types.CodeExecutionResult(
            outcome=types.Outcome.OUTCOME_OK, output="1"
        )
    )
    return [
        Event(author="user", content=_content("user", types.Part(text="Weather in Oslo?"))),
        Event(author="assistant", content=_content("model", types.Part(text="Checking."), call)),
        Event(author="assistant", content=_content("user", response)),
        Event(
            author="user",
            content=_content("user", types.Part.from_bytes(data=PNG, mime_type="image/png")),
            grounding_metadata=types.GroundingMetadata(
                search_entry_point=types.SearchEntryPoint(sdk_blob=b"blob")
            ),
        ),
        Event(
            author="assistant",
            content=_content(
                "model",
                types.Part(text="thinking...", thought=True, thought_signature=b"sig"),
                code,
                result,
                types.Part(file_data=types.FileData(file_uri="gs://b/f.pdf", mime_type="x/pdf")),
            ),
        ),
        Event(
            author="assistant",
            actions=EventActions(
                state_delta={"sk": 1, "user:u": [1, 2], "app:a": {"x": None}},
                artifact_delta={"report.pdf": 2},
                transfer_to_agent="other",
                escalate=True,
                skip_summarization=True,
                requested_tool_confirmations={
                    "call": ToolConfirmation(hint="ok?", confirmed=False, payload={"n": 1})
                },
                end_of_agent=True,
                agent_state={"step": 3},
            ),
            branch="root.assistant",
            long_running_tool_ids={"t1", "t2"},
        ),
        Event(
            author="assistant",
            actions=EventActions(
                compaction=EventCompaction(
                    start_timestamp=1.0,
                    end_timestamp=2.0,
                    compacted_content=_content("model", types.Part(text="summary")),
                )
            ),
        ),
        Event(
            author="assistant",
            content=_content("model", types.Part(text="Sunny.")),
            turn_complete=True,
            error_code="E",
            error_message="m",
            interrupted=True,
            usage_metadata=types.GenerateContentResponseUsageMetadata(
                prompt_token_count=1, candidates_token_count=1, total_token_count=2
            ),
            citation_metadata=types.CitationMetadata(),
            custom_metadata={"k": "v"},
            input_transcription=types.Transcription(text="in", finished=True),
            output_transcription=types.Transcription(text="out", finished=True),
            model_version="m-1",
        ),
    ]


@pytest.fixture
async def service(store_url: str) -> AsyncGenerator[SessionStoreSessionService, None]:
    async with open_store(store_url) as store:
        yield SessionStoreSessionService(store)


async def test_every_event_kind_reads_back_as_written(
    service: SessionStoreSessionService,
) -> None:
    session = await service.create_session(app_name=APP, user_id=USER, session_id="s")
    written = _every_kind()
    for index, event in enumerate(written):
        event.invocation_id = f"inv-{index}"
        event.timestamp = 1_700_000_000.123 + index
        await service.append_event(session, event)
    got = await service.get_session(app_name=APP, user_id=USER, session_id="s")
    assert got is not None
    assert got.events == written
    assert got == session
    assert got.state == {"sk": 1, "user:u": [1, 2], "app:a": {"x": None}}


async def test_the_stored_transcript_is_readable(service: SessionStoreSessionService) -> None:
    session = await service.create_session(app_name=APP, user_id=USER, session_id="s")
    for event in _every_kind()[:3]:
        await service.append_event(session, event)
    stored = await service.user_sessions(APP, USER).load("s") or []
    assert [m.role for m in stored] == [Role.USER, Role.ASSISTANT, Role.TOOL]
    assert stored[0].content == [TextBlock("Weather in Oslo?")]
    assert stored[1].name == "assistant"
    assert stored[1].content == [
        TextBlock("Checking."),
        ToolUseBlock("adk-call-1", "weather", {"city": "Oslo"}),
    ]
    assert stored[2].content == [ToolResultBlock("adk-call-1", '{"temp": 22}')]
    # Text and calls are stored once: the view renders them back, so the copy omits them.
    assert "content" not in stored[0].metadata[METADATA_KEY]
    assert "content" not in stored[1].metadata[METADATA_KEY]
    assert "content" in stored[2].metadata[METADATA_KEY]  # the view lacks the function's name


def test_images_are_stored_once_and_what_the_view_cannot_render_is_kept() -> None:
    image_event, mixed_event = _every_kind()[3:5]
    image = event_to_message(image_event)
    source = base64.b64encode(PNG).decode()  # standard base64 in the view, URL-safe in ADK
    assert image.content == [ImageBlock(Base64ImageSource("image/png", source))]
    assert "content" not in image.metadata[METADATA_KEY]
    mixed = event_to_message(mixed_event)  # a thought, code, its result and a file
    assert mixed.content == [
        TextBlock("print(1)"),
        TextBlock("1"),
        TextBlock("[file gs://b/f.pdf]"),
    ]
    dumped = mixed_event.model_dump(mode="json", exclude_none=True)
    assert mixed.metadata[METADATA_KEY]["content"] == dumped["content"]


async def test_a_transcript_written_without_adk_loads(service: SessionStoreSessionService) -> None:
    await service.create_session(app_name=APP, user_id=USER, session_id="plain")
    await service.user_sessions(APP, USER).append(
        "plain",
        [
            Message.user("hi"),
            Message.assistant([ToolUseBlock("c1", "weather", {"city": "Oslo"})]),
            Message.tool_result("c1", "sunny"),
            Message.assistant("It is sunny."),
        ],
    )
    got = await service.get_session(app_name=APP, user_id=USER, session_id="plain")
    assert got is not None
    assert [e.author for e in got.events] == ["user", "assistant", "tool", "assistant"]
    parts = [e.content.parts[0] for e in got.events if e.content and e.content.parts]
    assert parts[0].text == "hi"
    assert parts[1].function_call is not None and parts[1].function_call.args == {"city": "Oslo"}
    assert parts[2].function_response is not None
    assert parts[2].function_response.response == {"result": "sunny"}
    assert [e.id for e in got.events] == [f"sessionstore-{i}" for i in range(4)]


# The example's offline model and tool, so the test runs what the example shows.
_example = load_example("google_adk_sessions")
ScriptedLlm, weather = _example.ScriptedLlm, _example.weather


def _runner(service: SessionStoreSessionService) -> Runner:
    call = types.Part.from_function_call(name="weather", args={"city": "Oslo"})
    model = ScriptedLlm(
        model="scripted",
        script=[
            _content("model", call),
            _content("model", types.Part(text="Sunny in Oslo.")),
            _content("model", types.Part(text="You asked about Oslo.")),
        ],
    )
    agent = LlmAgent(name="assistant", model=model, tools=[weather], output_key="answer")
    return Runner(agent=agent, app_name=APP, session_service=service)


async def _turn(
    runner: Runner, text: str, state_delta: dict[str, Any] | None = None
) -> list[Event]:
    message = _content("user", types.Part(text=text))
    turn = runner.run_async(
        user_id=USER, session_id="chat", new_message=message, state_delta=state_delta
    )
    return [event async for event in turn]


async def test_a_runner_turn_persists_events_and_state(
    service: SessionStoreSessionService,
) -> None:
    runner = _runner(service)
    await service.create_session(app_name=APP, user_id=USER, session_id="chat")
    first = await _turn(runner, "Weather in Oslo?", state_delta={"user:city": "Oslo"})
    second = await _turn(runner, "What did I ask?")
    got = await service.get_session(app_name=APP, user_id=USER, session_id="chat")
    assert got is not None
    produced = [*first, *second]
    assert [e for e in got.events if e.author != "user"] == produced
    assert got.events[0].content is not None and got.events[0].content.parts
    assert got.events[0].content.parts[0].text == "Weather in Oslo?"
    assert got.state == {"answer": "You asked about Oslo.", "user:city": "Oslo"}
    transcript = await service.user_sessions(APP, USER).load("chat") or []
    user, assistant, tool = Role.USER, Role.ASSISTANT, Role.TOOL
    assert [m.role for m in transcript] == [user, assistant, tool, assistant, user, assistant]
    assert transcript[-1].text_or_summary() == "You asked about Oslo."
    recent = GetSessionConfig(num_recent_events=2)
    tail = await service.get_session(app_name=APP, user_id=USER, session_id="chat", config=recent)
    assert tail is not None and tail.events == got.events[-2:]


def test_one_service_from_threads_and_asyncio_run_per_call(store_url: str) -> None:
    service = SessionStoreSessionService(store_url)
    errors: list[BaseException] = []

    async def one_user(user: str) -> None:
        session = await service.create_session(app_name=APP, user_id=user, session_id="s")
        for n in range(3):
            await service.append_event(session, Event(author="user", invocation_id=str(n)))

    def in_thread(user: str) -> None:
        try:
            asyncio.run(one_user(user))
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=in_thread, args=(f"u{n}",)) for n in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    listed = asyncio.run(service.list_sessions(app_name=APP)).sessions
    assert sorted(s.user_id for s in listed) == [f"u{n}" for n in range(5)]
    for n in range(5):  # a new loop per call, as a sync framework does
        got = asyncio.run(service.get_session(app_name=APP, user_id=f"u{n}", session_id="s"))
        assert got is not None and [e.invocation_id for e in got.events] == ["0", "1", "2"]
    asyncio.run(close_shared_stores())


async def test_the_example_runs_offline(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    await _example.main(store_url)
    out = capsys.readouterr().out
    assert "assistant: It's sunny and 22C in Oslo." in out
    assert "assistant: You asked about the weather in Oslo." in out
    assert "'user:units': 'C'" in out


def test_without_google_adk_the_import_names_the_extra() -> None:
    code = (
        "import sys\nsys.modules['google.adk'] = None\n"
        "from sessionstore import MissingDependencyError\n"
        "try:\n    import sessionstore.integrations.google_adk\n"
        "except MissingDependencyError as exc:\n    print(exc)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "pip install 'sessionstore[google-adk]'" in run.stdout
