"""Anthropic Messages (and the separate system prompt) to ``Message`` and back.

Turns are generated with every content block kind the ``anthropic`` package's
``MessageParam`` accepts (each validated against the SDK's type) and must come
back exactly, directly and after the JSON round trip of storage.
"""

from __future__ import annotations

from typing import Any

import pytest
from anthropic.types import MessageParam, TextBlockParam
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from formats_support import (
    base64_data,
    ids,
    json_objects,
    same_json,
    shared_machine,
    stored,
    texts,
    views,
)
from sessionstore import (
    InvalidMessageError,
    Message,
    Role,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
)
from sessionstore.formats import ANTHROPIC_KEY, from_anthropic, to_anthropic, to_openai_chat

TURN = TypeAdapter(MessageParam)
SYSTEM = TypeAdapter(str | list[TextBlockParam])

cache = st.just({"type": "ephemeral"})

text_blocks = st.fixed_dictionaries(
    {"type": st.just("text"), "text": texts}, optional={"cache_control": cache}
)
image_blocks = st.one_of(
    st.builds(
        lambda media, data: {
            "type": "image",
            "source": {"type": "base64", "media_type": media, "data": data},
        },
        st.sampled_from(["image/png", "image/jpeg", "image/gif", "image/webp"]),
        base64_data,
    ),
    st.just({"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}),
)
document_blocks = st.one_of(
    st.builds(
        lambda data: {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": data},
        },
        base64_data,
    ),
    st.builds(
        lambda text, title: {
            "type": "document",
            "source": {"type": "text", "media_type": "text/plain", "data": text},
            "title": title,
        },
        texts,
        texts,
    ),
)
tool_result_blocks = st.fixed_dictionaries(
    {"type": st.just("tool_result"), "tool_use_id": ids},
    optional={
        "content": texts | st.lists(text_blocks | image_blocks, max_size=2),
        "is_error": st.booleans(),
        "cache_control": cache,
    },
)
user_blocks = st.one_of(text_blocks, image_blocks, document_blocks, tool_result_blocks)
assistant_blocks = st.one_of(
    text_blocks,
    st.builds(
        lambda id_, name, value: {"type": "tool_use", "id": id_, "name": name, "input": value},
        ids,
        ids,
        json_objects,
    ),
    st.builds(
        lambda thinking, signature: {
            "type": "thinking",
            "thinking": thinking,
            "signature": signature,
        },
        texts,
        ids,
    ),
    st.builds(lambda data: {"type": "redacted_thinking", "data": data}, base64_data),
    st.builds(
        lambda id_, query: {
            "type": "server_tool_use",
            "id": "srvtoolu_" + id_,
            "name": "web_search",
            "input": {"query": query},
        },
        ids,
        texts,
    ),
    st.builds(
        lambda id_: {
            "type": "web_search_tool_result",
            "tool_use_id": "srvtoolu_" + id_,
            "content": [],
        },
        ids,
    ),
)
turns = st.one_of(
    st.fixed_dictionaries(
        {"role": st.just("user"), "content": texts | st.lists(user_blocks, max_size=3)}
    ),
    st.fixed_dictionaries(
        {"role": st.just("assistant"), "content": texts | st.lists(assistant_blocks, max_size=3)}
    ),
    st.fixed_dictionaries(
        {"role": st.just("user"), "content": st.lists(tool_result_blocks, min_size=1, max_size=3)}
    ),
)
systems = st.none() | texts | st.lists(text_blocks, min_size=1, max_size=2)


@settings(shared_machine, max_examples=300)
@given(st.lists(turns, max_size=6), systems)
def test_every_block_kind_and_the_system_prompt_come_back_exactly(
    items: list[dict[str, Any]], system: Any
) -> None:
    for item in items:
        TURN.validate_python(item)
    if system is not None:
        SYSTEM.validate_python(system)
    messages = from_anthropic(items, system=system)
    for transcript in (messages, stored(messages)):
        back = to_anthropic(transcript)
        assert same_json(back.system, system)
        assert same_json(back.messages, items)


@shared_machine
@given(st.lists(turns, max_size=6))
def test_any_transcript_renders_as_turns_the_sdk_accepts(items: list[dict[str, Any]]) -> None:
    readable = views(from_anthropic(items))
    for item in to_anthropic(readable).messages:
        TURN.validate_python(item)
        # What the API refuses though the TypedDicts allow it.
        if isinstance(item["content"], list):
            assert item["content"], "an empty turn"
            kinds = {block["type"] for block in item["content"]}
            assert not any(b["type"] == "text" and not b["text"] for b in item["content"])
            if item["role"] == "assistant":
                assert kinds <= {"text", "tool_use"}


def test_a_tool_round_reads_as_a_transcript_without_copies() -> None:
    items = [
        {"role": "user", "content": "weather in Oslo?"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Oslo"}},
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}],
        },
    ]
    system, *messages = from_anthropic(items, system="be brief")
    assert system == Message.system("be brief")
    assert messages[1].content == [
        TextBlock("Checking."),
        ToolUseBlock("toolu_1", "weather", {"city": "Oslo"}),
    ]
    assert messages[2].role is Role.TOOL
    assert messages[2].content == [ToolResultBlock("toolu_1", "sunny")]
    assert [m.metadata for m in messages] == [None] * 3
    # The same transcript in OpenAI's shape: a tool call and a tool message.
    chat = to_openai_chat([system, *messages])
    assert [item["role"] for item in chat] == ["system", "user", "assistant", "tool"]


def test_thinking_is_kept_verbatim_and_left_out_of_the_readable_view() -> None:
    turn = {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "hmm", "signature": "sig"},
            {"type": "text", "text": "Answer."},
        ],
    }
    (message,) = from_anthropic([turn])
    assert message.content == [TextBlock("Answer.")]
    assert message.metadata == {ANTHROPIC_KEY: turn}
    assert to_anthropic([message]).messages == [turn]


def test_a_turn_holding_the_sdks_response_blocks_is_accepted() -> None:
    from anthropic.types import TextBlock as SDKTextBlock
    from anthropic.types import ToolUseBlock as SDKToolUseBlock

    content = [
        SDKTextBlock(type="text", text="Checking.", citations=None),
        SDKToolUseBlock(type="tool_use", id="toolu_1", name="weather", input={"city": None}),
    ]
    (message,) = from_anthropic([{"role": "assistant", "content": content}])
    assert message.content == [
        TextBlock("Checking."),
        ToolUseBlock("toolu_1", "weather", {"city": None}),
    ]
    assert message.metadata is None  # the SDK's None fields are absent in the request type
    (turn,) = to_anthropic([message]).messages
    TURN.validate_python(turn)


def test_system_messages_of_another_format_join_into_one_prompt() -> None:
    transcript = [Message.system("one"), Message.user("hi"), Message.system("two")]
    system, turns = to_anthropic(transcript)
    assert system == "one\n\ntwo"
    assert turns == [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("items", "index", "says"),
    [
        ([{"role": "system", "content": "x"}], 0, "pass the system prompt as system="),
        ([{"role": "user", "content": "a"}, {"role": "assistant"}], 1, "'content'"),
        (
            [{"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "n"}]}],
            0,
            "'input'",
        ),
        (
            [{"role": "user", "content": [{"type": "tool_result", "content": "x"}]}],
            0,
            "'tool_use_id'",
        ),
        ([{"role": "user", "content": [{"type": "text", "text": 1}]}], 0, "'text' must be str"),
        ([{"role": "user", "content": [7]}], 0, "content block 0 must be a dict"),
    ],
)
def test_bad_turns_name_the_item_and_the_problem(items: list[Any], index: int, says: str) -> None:
    with pytest.raises(InvalidMessageError, match=f"item {index}: .*{says}") as caught:
        from_anthropic(items)
    assert caught.value.index == index


def test_a_bad_system_prompt_is_refused() -> None:
    with pytest.raises(InvalidMessageError, match="system must be a str or a list"):
        from_anthropic([], system=3)  # type: ignore[arg-type]
