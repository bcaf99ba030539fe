"""``sessionstore.formats`` through a real store, on every backend: what was converted and
saved loads and converts back exactly, and reads in every other format.

The per-format property tests (every item kind, generated) are in ``test_formats_*.py``;
here a fixed transcript of each format, with the kinds that need a kept copy, goes through
``append`` and ``load`` of each backend.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage, message_to_dict

from formats_support import error_without_langchain_core, same_json
from sessionstore import InvalidMessageError, Message, Role
from sessionstore.formats import (
    ANTHROPIC_KEY,
    LANGCHAIN_KEY,
    OPENAI_CHAT_KEY,
    OPENAI_RESPONSES_KEY,
    from_anthropic,
    from_langchain,
    from_openai_chat,
    from_openai_responses,
    to_anthropic,
    to_langchain,
    to_openai_chat,
    to_openai_responses,
)
from sessionstore.testing import StoreFactory

CHAT = [
    {"role": "developer", "content": "Answer in French."},
    {"role": "user", "content": [{"type": "text", "text": "Weather?"}], "name": "ada"},
    {
        "role": "assistant",
        "content": None,
        "refusal": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "soleil"},
    {"role": "assistant", "content": "Il fait beau."},
]
RESPONSES = [
    {"role": "user", "content": "Weather?"},
    {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAA"},
    {
        "type": "function_call",
        "id": "fc_1",
        "call_id": "call_1",
        "name": "weather",
        "arguments": '{"city":"Paris"}',
        "status": "completed",
    },
    {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
    {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": "Sunny.", "annotations": []}],
    },
]
ANTHROPIC_SYSTEM = [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}]
ANTHROPIC = [
    {"role": "user", "content": "Weather?"},
    {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "Use the tool.", "signature": "sig"},
            {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}},
        ],
    },
    {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}],
    },
    {"role": "assistant", "content": [{"type": "text", "text": "Sunny."}]},
]
LANGCHAIN = [
    HumanMessage("Weather?"),
    AIMessage(
        "",
        id="run-1",
        tool_calls=[{"name": "weather", "args": {"city": "Paris"}, "id": "call_1"}],
        usage_metadata={"input_tokens": 9, "output_tokens": 4, "total_tokens": 13},
    ),
    ToolMessage("sunny", tool_call_id="call_1"),
    AIMessage("Sunny."),
]

Converter = Callable[[list[Message]], Any]
FORMATS: dict[str, tuple[Callable[[], list[Message]], Converter, Any]] = {
    OPENAI_CHAT_KEY: (lambda: from_openai_chat(CHAT), to_openai_chat, CHAT),
    OPENAI_RESPONSES_KEY: (
        lambda: from_openai_responses(RESPONSES),
        to_openai_responses,
        RESPONSES,
    ),
    ANTHROPIC_KEY: (
        lambda: from_anthropic(ANTHROPIC, system=ANTHROPIC_SYSTEM),
        lambda messages: list(to_anthropic(messages)),
        [ANTHROPIC_SYSTEM, ANTHROPIC],
    ),
    LANGCHAIN_KEY: (
        lambda: from_langchain(LANGCHAIN),
        lambda messages: [message_to_dict(m) for m in to_langchain(messages)],
        [message_to_dict(m) for m in LANGCHAIN],
    ),
}


@pytest.mark.parametrize("key", list(FORMATS))
async def test_a_converted_transcript_loads_and_converts_back_exactly(
    key: str, store_factory: StoreFactory
) -> None:
    convert_in, convert_out, native = FORMATS[key]
    messages = convert_in()
    assert any(isinstance(m.metadata, dict) and key in m.metadata for m in messages)
    async with store_factory() as store:
        await store.append("s", messages[:2])
        await store.append("s", messages[2:])
        loaded = await store.load("s")
    assert loaded == messages
    assert same_json(convert_out(loaded), native)


@pytest.mark.parametrize("source", list(FORMATS))
@pytest.mark.parametrize("target", list(FORMATS))
def test_every_format_reads_every_other_as_the_same_tool_round(source: str, target: str) -> None:
    messages = FORMATS[source][0]()
    # Into the target format and back: the readable conversation is what carries over.
    round_trips: dict[str, Callable[[list[Message]], list[Message]]] = {
        OPENAI_CHAT_KEY: lambda m: from_openai_chat(to_openai_chat(m)),
        OPENAI_RESPONSES_KEY: lambda m: from_openai_responses(to_openai_responses(m)),
        ANTHROPIC_KEY: lambda m: from_anthropic(to_anthropic(m).messages),
        LANGCHAIN_KEY: lambda m: from_langchain(to_langchain(m)),
    }
    back = round_trips[target](messages)
    roles = [m.role for m in back if m.content != [] and m.role is not Role.SYSTEM]
    assert roles == [Role.USER, Role.ASSISTANT, Role.TOOL, Role.ASSISTANT]
    tool_call = next(m for m in back if m.role is Role.ASSISTANT and m.content != [])
    assert tool_call.text_or_summary().endswith('{"city":"Paris"}]')


def test_to_format_refuses_what_is_not_a_message() -> None:
    with pytest.raises(InvalidMessageError, match="message 1: ") as caught:
        to_openai_chat([Message.user("a"), {"role": "nobody", "content": "b"}])
    assert caught.value.index == 1


def test_importing_the_formats_does_not_import_langchain() -> None:
    code = (
        "import sys, sessionstore.formats as f\n"
        "assert 'langchain_core' not in sys.modules\n"
        "f.to_openai_chat([])\n"
        "assert 'langchain_core' not in sys.modules\n"
        "f.to_langchain([])\n"
        "assert 'langchain_core' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_without_langchain_core_only_the_langchain_converters_need_the_extra() -> None:
    setup = "import sessionstore.formats as f; assert f.to_openai_chat([]) == []"
    message = error_without_langchain_core(setup, "f.to_langchain")
    assert "pip install 'sessionstore[langchain]'" in message
