"""LangChain messages (every ``BaseMessage`` kind, chunks included) to ``Message`` and back.

The check is LangChain's own serialisation: ``message_to_dict`` of what comes
back equals that of what went in, directly and after the JSON round trip of
storage.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    ChatMessageChunk,
    FunctionMessage,
    HumanMessage,
    HumanMessageChunk,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
    message_to_dict,
)

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
from sessionstore.formats import LANGCHAIN_KEY, from_langchain, to_anthropic, to_langchain

optional_ids = st.none() | ids
content_parts = st.one_of(
    texts,
    st.builds(lambda text: {"type": "text", "text": text}, texts),
    st.builds(
        lambda data, mime: {"type": "image", "base64": data, "mime_type": mime},
        base64_data,
        st.sampled_from(["image/png", "image/jpeg"]),
    ),
    st.builds(
        lambda data: {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}},
        base64_data,
    ),
    st.builds(lambda url: {"type": "image", "url": url}, st.just("https://example.com/a.png")),
    st.builds(lambda text: {"type": "reasoning", "reasoning": text}, texts),
)
contents = texts | st.lists(content_parts, max_size=3)
common = {
    "content": contents,
    "id": optional_ids,
    "name": st.none() | ids,
    "additional_kwargs": json_objects,
    "response_metadata": json_objects,
}
tool_calls = st.lists(
    st.builds(
        lambda name, args, id_: {"name": name, "args": args, "id": id_},
        ids,
        json_objects,
        optional_ids,
    ),
    max_size=3,
)
invalid_tool_calls = st.lists(
    st.builds(
        lambda name, args, id_, error: {
            "type": "invalid_tool_call",
            "name": name,
            "args": args,
            "id": id_,
            "error": error,
        },
        ids,
        texts,
        optional_ids,
        texts,
    ),
    max_size=2,
)
usage = st.none() | st.builds(
    lambda i, o: {"input_tokens": i, "output_tokens": o, "total_tokens": i + o},
    st.integers(0, 1000),
    st.integers(0, 1000),
)
tool_call_chunks = st.lists(
    st.builds(
        lambda name, args, id_, index: {
            "type": "tool_call_chunk",
            "name": name,
            "args": args,
            "id": id_,
            "index": index,
        },
        st.none() | ids,
        st.none() | texts,
        optional_ids,
        st.none() | st.integers(0, 3),
    ),
    max_size=2,
)


def _message(
    kind: type[BaseMessage], **fields: st.SearchStrategy[Any]
) -> st.SearchStrategy[BaseMessage]:
    return st.fixed_dictionaries({**common, **fields}).map(lambda values: kind(**values))


lc_messages = st.one_of(
    _message(HumanMessage),
    _message(SystemMessage),
    _message(
        AIMessage,
        tool_calls=tool_calls,
        invalid_tool_calls=invalid_tool_calls,
        usage_metadata=usage,
    ),
    _message(
        ToolMessage,
        tool_call_id=ids,
        status=st.sampled_from(["success", "error"]),
        artifact=st.none() | json_objects,
    ),
    _message(FunctionMessage, name=ids),
    _message(ChatMessage, role=st.sampled_from(["user", "assistant", "critic", "system", "tool"])),
    _message(AIMessageChunk, tool_call_chunks=tool_call_chunks, usage_metadata=usage),
    _message(HumanMessageChunk),
    _message(ChatMessageChunk, role=st.sampled_from(["user", "critic"])),
)


def _dicts(messages: list[BaseMessage]) -> list[dict[str, Any]]:
    return [message_to_dict(message) for message in messages]


@settings(shared_machine, max_examples=150)
@given(st.lists(lc_messages, max_size=6))
def test_every_message_kind_comes_back_exactly(messages: list[BaseMessage]) -> None:
    converted = from_langchain(messages)
    assert len(converted) == len(messages)
    for transcript in (converted, stored(converted)):
        back = to_langchain(transcript)
        assert [type(message) for message in back] == [type(message) for message in messages]
        assert same_json(_dicts(back), _dicts(messages))


@shared_machine
@given(st.lists(lc_messages, max_size=6))
def test_readable_views_render_as_langchain_messages_stably(
    messages: list[BaseMessage],
) -> None:
    readable = [m for m in views(from_langchain(messages)) if m.content != []]
    rendered = to_langchain(readable)
    assert all(isinstance(message, BaseMessage) for message in rendered)
    # One pass settles the view: rendering what it reads back gives the same messages.
    assert to_langchain(views(from_langchain(rendered))) == rendered


def test_plain_messages_keep_no_copy_and_read_as_a_transcript() -> None:
    messages = [
        SystemMessage("be brief"),
        HumanMessage("weather in Oslo?", name="alice"),
        AIMessage("", tool_calls=[{"name": "weather", "args": {"city": "Oslo"}, "id": "call_1"}]),
        ToolMessage("sunny", tool_call_id="call_1"),
        ToolMessage("boom", tool_call_id="call_2", status="error"),
        AIMessage("Sunny."),
    ]
    converted = from_langchain(messages)
    assert [m.metadata for m in converted] == [None] * 6
    assert converted[1] == Message.user("weather in Oslo?", name="alice")
    assert converted[2].content == [ToolUseBlock("call_1", "weather", {"city": "Oslo"})]
    assert converted[3].content == [ToolResultBlock("call_1", "sunny")]
    assert converted[4].content == [ToolResultBlock("call_2", "boom", True)]
    assert to_langchain(converted) == messages


def test_what_the_view_cannot_express_is_kept_as_langchains_own_serialisation() -> None:
    answer = AIMessage(
        "Hi.",
        id="run-1",
        response_metadata={"model_name": "gpt-test", "finish_reason": "stop"},
        usage_metadata={"input_tokens": 3, "output_tokens": 2, "total_tokens": 5},
    )
    (message,) = from_langchain([answer])
    assert message.role is Role.ASSISTANT and message.text == "Hi."
    assert message.metadata == {LANGCHAIN_KEY: message_to_dict(answer)}
    assert to_langchain([message]) == [answer]


def test_messages_of_another_format_load_by_their_readable_view() -> None:
    transcript = [
        Message.system("rules"),
        Message.user("hi"),
        Message.assistant([TextBlock("Checking."), ToolUseBlock("t1", "lookup", {"q": 1})]),
        Message.tool_result("t1", "found", is_error=False),
        Message.user("thanks", metadata={"anthropic": {"role": "user", "content": "thanks"}}),
    ]
    assert to_langchain(transcript) == [
        SystemMessage("rules"),
        HumanMessage("hi"),
        AIMessage("Checking.", tool_calls=[{"name": "lookup", "args": {"q": 1}, "id": "t1"}]),
        ToolMessage("found", tool_call_id="t1"),
        HumanMessage("thanks"),
    ]
    # And a LangChain transcript reads in Anthropic's shape.
    system, turns = to_anthropic(from_langchain(to_langchain(transcript)))
    assert system == "rules"
    assert [turn["role"] for turn in turns] == ["user", "assistant", "user", "user"]


def test_bad_input_names_the_item_and_the_problem() -> None:
    with pytest.raises(
        InvalidMessageError, match="item 1: expected a LangChain BaseMessage, got dict"
    ) as caught:
        from_langchain([HumanMessage("a"), {"role": "user", "content": "b"}])
    assert caught.value.index == 1
    with pytest.raises(InvalidMessageError, match="item 0: a RemoveMessage"):
        from_langchain([RemoveMessage(id="m1")])
    with pytest.raises(InvalidMessageError, match="item 0: not JSON-serializable"):
        from_langchain([HumanMessage("a", additional_kwargs={"when": object()})])
    with pytest.raises(InvalidMessageError, match="must be a list of LangChain messages"):
        from_langchain(HumanMessage("a"))
