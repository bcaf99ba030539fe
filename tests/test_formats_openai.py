"""OpenAI Chat Completions messages and Responses input items, to ``Message`` and back.

Every item kind the ``openai`` package defines is generated in the shapes its
own types accept (each generated item is validated against the SDK's type), and
must come back exactly as written: straight from the converter, and after the
message's JSON round trip that storing it makes.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openai.types.chat import ChatCompletionMessageParam
from openai.types.responses import ResponseInputItemParam
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
from sessionstore import InvalidMessageError, Message, Role, ToolResultBlock, ToolUseBlock
from sessionstore.formats import (
    OPENAI_CHAT_KEY,
    OPENAI_RESPONSES_KEY,
    from_openai_chat,
    from_openai_responses,
    to_openai_chat,
    to_openai_responses,
)

CHAT = TypeAdapter(ChatCompletionMessageParam)
RESPONSES = TypeAdapter(ResponseInputItemParam)

data_urls = st.builds(
    "data:{}/{};base64,{}".format, st.just("image"), st.sampled_from(["png", "jpeg"]), base64_data
)
# Arguments as models send them: compact JSON, spaced JSON, or text that is not JSON at all.
arguments = st.one_of(
    json_objects.map(lambda value: json.dumps(value, separators=(",", ":"), ensure_ascii=False)),
    json_objects.map(json.dumps),
    texts,
)


def _with_optional(
    base: dict[str, Any], **optional: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    """``base`` (strategies as values) plus any subset of the ``optional`` fields."""
    return st.fixed_dictionaries(base, optional=optional)


# --- Chat Completions -------------------------------------------------------------------------

chat_text_parts = st.builds(lambda text: {"type": "text", "text": text}, texts)
chat_user_parts = st.one_of(
    chat_text_parts,
    _with_optional(
        {
            "type": st.just("image_url"),
            "image_url": _with_optional(
                {"url": data_urls}, detail=st.sampled_from(["auto", "low"])
            ),
        }
    ),
    st.builds(
        lambda url: {"type": "image_url", "image_url": {"url": url}},
        st.just("https://example.com/cat.png"),
    ),
    st.builds(
        lambda data: {"type": "input_audio", "input_audio": {"data": data, "format": "wav"}},
        base64_data,
    ),
    st.builds(lambda file_id: {"type": "file", "file": {"file_id": file_id}}, ids),
)
chat_tool_calls = st.lists(
    st.one_of(
        st.builds(
            lambda id_, name, args: {
                "id": id_,
                "type": "function",
                "function": {"name": name, "arguments": args},
            },
            ids,
            ids,
            arguments,
        ),
        st.builds(
            lambda id_, name, text: {
                "id": id_,
                "type": "custom",
                "custom": {"name": name, "input": text},
            },
            ids,
            ids,
            texts,
        ),
    ),
    min_size=1,
    max_size=3,
)
chat_items = st.one_of(
    _with_optional(
        {
            "role": st.sampled_from(["system", "developer"]),
            "content": texts | st.lists(chat_text_parts, max_size=2),
        },
        name=ids,
    ),
    _with_optional(
        {"role": st.just("user"), "content": texts | st.lists(chat_user_parts, max_size=3)},
        name=ids,
    ),
    _with_optional(
        {"role": st.just("assistant")},
        content=st.none()
        | texts
        | st.lists(
            chat_text_parts | st.builds(lambda text: {"type": "refusal", "refusal": text}, texts),
            max_size=2,
        ),
        tool_calls=chat_tool_calls,
        name=ids,
        refusal=texts,
        audio=st.builds(lambda id_: {"id": id_}, ids),
    ),
    st.fixed_dictionaries(
        {
            "role": st.just("tool"),
            "tool_call_id": ids,
            "content": texts | st.lists(chat_text_parts, min_size=1, max_size=2),
        }
    ),
    st.fixed_dictionaries({"role": st.just("function"), "name": ids, "content": st.none() | texts}),
)


@settings(shared_machine, max_examples=300)
@given(st.lists(chat_items, max_size=6))
def test_every_chat_message_kind_comes_back_exactly(items: list[dict[str, Any]]) -> None:
    for item in items:
        CHAT.validate_python(item)  # the generator writes what the SDK accepts
    messages = from_openai_chat(items)
    assert len(messages) == len(items)
    assert same_json(to_openai_chat(messages), items)
    assert same_json(to_openai_chat(stored(messages)), items)


@shared_machine
@given(st.lists(chat_items, max_size=6))
def test_any_transcript_renders_as_chat_messages_the_sdk_accepts(
    items: list[dict[str, Any]],
) -> None:
    # Readable views only (no kept copies): what another framework's transcript becomes.
    readable = views(from_openai_chat(items))
    for item in to_openai_chat(readable):
        CHAT.validate_python(item)


def test_plain_chat_messages_keep_no_copy_and_read_as_a_transcript() -> None:
    items = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "weather in Oslo?", "name": "alice"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"city":"Oslo"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        {"role": "assistant", "content": "Sunny."},
    ]
    messages = from_openai_chat(items)
    assert [m.metadata for m in messages] == [None] * 5
    assert messages[1] == Message.user("weather in Oslo?", name="alice")
    assert messages[2].content == [ToolUseBlock("call_1", "weather", {"city": "Oslo"})]
    assert messages[3] == Message.tool_result("call_1", "sunny")
    assert messages[4] == Message.assistant("Sunny.")


def test_what_the_view_cannot_express_is_kept_under_the_format_key() -> None:
    item = {"role": "developer", "content": "rules"}
    (message,) = from_openai_chat([item])
    assert message.role is Role.SYSTEM and message.text == "rules"
    assert message.metadata == {OPENAI_CHAT_KEY: item}


def test_the_sdk_response_object_is_accepted_as_an_item() -> None:
    from openai.types.chat import ChatCompletionMessage

    response = ChatCompletionMessage.model_validate(
        {
            "role": "assistant",
            "content": None,
            "refusal": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        }
    )
    (message,) = from_openai_chat([response])
    assert message.content == [ToolUseBlock("c1", "f", {})]
    (item,) = to_openai_chat([message])
    assert item["tool_calls"] == [
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    ]
    CHAT.validate_python(item)


# --- Responses input items --------------------------------------------------------------------

status = st.sampled_from(["in_progress", "completed", "incomplete"])
input_parts = st.one_of(
    st.builds(lambda text: {"type": "input_text", "text": text}, texts),
    st.builds(
        lambda url, detail: {"type": "input_image", "image_url": url, "detail": detail},
        data_urls | st.just("https://example.com/a.png"),
        st.sampled_from(["auto", "low", "high"]),
    ),
    st.builds(lambda file_id: {"type": "input_file", "file_id": file_id}, ids),
)
output_text = st.builds(
    lambda text: {"type": "output_text", "text": text, "annotations": []}, texts
)
response_items = st.one_of(
    _with_optional(
        {
            "role": st.sampled_from(["user", "assistant", "system", "developer"]),
            "content": texts | st.lists(input_parts, max_size=3),
        },
        type=st.just("message"),
    ),
    _with_optional(
        {
            "type": st.just("message"),
            "role": st.sampled_from(["user", "system", "developer"]),
            "content": st.lists(input_parts, max_size=2),
        },
        status=status,
    ),
    st.fixed_dictionaries(
        {
            "id": ids,
            "type": st.just("message"),
            "role": st.just("assistant"),
            "status": status,
            "content": st.lists(output_text, min_size=1, max_size=2),
        }
    ),
    _with_optional(
        {"type": st.just("function_call"), "call_id": ids, "name": ids, "arguments": arguments},
        id=ids,
        status=status,
    ),
    _with_optional(
        {
            "type": st.just("function_call_output"),
            "call_id": ids,
            "output": texts | st.lists(input_parts, max_size=2),
        },
        id=ids,
        status=status,
    ),
    _with_optional(
        {
            "type": st.just("reasoning"),
            "id": ids,
            "summary": st.lists(
                st.builds(lambda text: {"type": "summary_text", "text": text}, texts), max_size=2
            ),
        },
        encrypted_content=texts,
    ),
    st.builds(
        lambda call_id, name, text: {
            "type": "custom_tool_call",
            "call_id": call_id,
            "name": name,
            "input": text,
        },
        ids,
        ids,
        texts,
    ),
    st.builds(
        lambda call_id, text: {
            "type": "custom_tool_call_output",
            "call_id": call_id,
            "output": text,
        },
        ids,
        texts,
    ),
    st.builds(
        lambda id_, query: {
            "type": "web_search_call",
            "id": id_,
            "status": "completed",
            "action": {"type": "search", "query": query},
        },
        ids,
        texts,
    ),
    st.builds(
        lambda id_, query: {
            "type": "file_search_call",
            "id": id_,
            "queries": [query],
            "status": "completed",
        },
        ids,
        texts,
    ),
    st.builds(
        lambda id_, label, name, args: {
            "type": "mcp_call",
            "id": id_,
            "server_label": label,
            "name": name,
            "arguments": args,
            "output": "ok",
        },
        ids,
        ids,
        ids,
        arguments,
    ),
    st.builds(
        lambda id_, label: {
            "type": "mcp_list_tools",
            "id": id_,
            "server_label": label,
            "tools": [],
        },
        ids,
        ids,
    ),
    st.builds(
        lambda id_, label, name: {
            "type": "mcp_approval_request",
            "id": id_,
            "server_label": label,
            "name": name,
            "arguments": "{}",
        },
        ids,
        ids,
        ids,
    ),
    st.builds(
        lambda request, approve: {
            "type": "mcp_approval_response",
            "approval_request_id": request,
            "approve": approve,
        },
        ids,
        st.booleans(),
    ),
    st.builds(
        lambda id_, data: {
            "type": "image_generation_call",
            "id": id_,
            "result": data,
            "status": "completed",
        },
        ids,
        base64_data,
    ),
    st.builds(
        lambda id_, call_id: {
            "type": "local_shell_call",
            "id": id_,
            "call_id": call_id,
            "status": "completed",
            "action": {"type": "exec", "command": ["ls"], "env": {}},
        },
        ids,
        ids,
    ),
    st.builds(
        lambda id_, output: {"type": "local_shell_call_output", "id": id_, "output": output},
        ids,
        texts,
    ),
    st.builds(lambda id_: {"type": "item_reference", "id": id_}, ids),
)


@settings(shared_machine, max_examples=300)
@given(st.lists(response_items, max_size=6))
def test_every_responses_item_kind_comes_back_exactly(items: list[dict[str, Any]]) -> None:
    for item in items:
        RESPONSES.validate_python(item)
    messages = from_openai_responses(items)
    assert len(messages) == len(items)
    assert same_json(to_openai_responses(messages), items)
    assert same_json(to_openai_responses(stored(messages)), items)


@shared_machine
@given(st.lists(response_items, max_size=6))
def test_any_transcript_renders_as_responses_items_the_sdk_accepts(
    items: list[dict[str, Any]],
) -> None:
    readable = views(from_openai_responses(items))
    for item in to_openai_responses(readable):
        RESPONSES.validate_python(item)


def test_responses_items_read_as_a_transcript() -> None:
    items = [
        {"role": "user", "content": "weather?"},
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {
            "type": "function_call",
            "call_id": "c1",
            "name": "weather",
            "arguments": '{"city":"Oslo"}',
        },
        {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
    ]
    messages = from_openai_responses(items)
    assert messages[0] == Message.user("weather?")
    assert messages[1].role is Role.ASSISTANT and messages[1].content == []
    assert messages[1].metadata == {OPENAI_RESPONSES_KEY: items[1]}
    assert messages[2].content == [ToolUseBlock("c1", "weather", {"city": "Oslo"})]
    assert messages[3].content == [ToolResultBlock("c1", "sunny")]
    assert [m.metadata for m in (messages[0], messages[2], messages[3])] == [None] * 3
    # Read in another format: the reasoning item has no readable content and drops out.
    assert [item["role"] for item in to_openai_chat(messages)] == ["user", "assistant", "tool"]


@pytest.mark.parametrize(
    ("items", "index", "says"),
    [
        ([{"role": "user", "content": "a"}, {"role": "robot", "content": "b"}], 1, "unknown role"),
        ([{"role": "user"}], 0, "missing required field 'content'"),
        ([{"role": "tool", "content": "x"}], 0, "'tool_call_id'"),
        ([{"role": "user", "content": 7}], 0, "must be str or list, got int"),
        ([{"role": "user", "content": ["text"]}], 0, "content part 0 must be a dict"),
        ([{"role": "assistant", "tool_calls": ["x"]}], 0, "tool call 0 must be a dict"),
        ([{"role": "user", "content": "a"}, "hello"], 1, "expected a dict, got str"),
        ([{"role": "user", "content": float("nan")}], 0, "not JSON-serializable"),
    ],
)
def test_bad_chat_messages_name_the_item_and_the_problem(
    items: list[Any], index: int, says: str
) -> None:
    with pytest.raises(InvalidMessageError, match=f"item {index}: .*{says}") as caught:
        from_openai_chat(items)
    assert caught.value.index == index


@pytest.mark.parametrize(
    ("items", "index", "says"),
    [
        ([{"type": "function_call", "call_id": "c", "name": "f"}], 0, "'arguments'"),
        ([{"type": "function_call_output", "output": "x"}], 0, "'call_id'"),
        (
            [{"role": "user", "content": "a"}, {"type": "message", "role": "bot", "content": ""}],
            1,
            "role",
        ),
        ([{"type": 3}], 0, "'type' must be str"),
    ],
)
def test_bad_responses_items_name_the_item_and_the_problem(
    items: list[Any], index: int, says: str
) -> None:
    with pytest.raises(InvalidMessageError, match=f"item {index}: .*{says}") as caught:
        from_openai_responses(items)
    assert caught.value.index == index


def test_a_single_item_instead_of_a_list_is_refused() -> None:
    with pytest.raises(InvalidMessageError, match="must be a list"):
        from_openai_chat({"role": "user", "content": "a"})
