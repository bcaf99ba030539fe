"""The message model: constructors, JSON form, equality, immutability, validation."""

from __future__ import annotations

import json
import math
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessionstore import (
    Base64ImageSource,
    ImageBlock,
    InvalidMessageError,
    Message,
    Role,
    SessionStoreError,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
)
from sessionstore._messages import decode_segments, encode_messages
from sessionstore.testing._support import contract_examples

# The four examples of the contract, verbatim.
CONTRACT_EXAMPLES: list[dict[str, Any]] = contract_examples()


def _compact_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


# -- constructors and accessors ------------------------------------------------------


def test_constructors() -> None:
    assert Message.user("hi") == Message(Role.USER, "hi")
    assert Message.assistant("yo") == Message(Role.ASSISTANT, "yo")
    assert Message.system("be brief") == Message(Role.SYSTEM, "be brief")
    tagged = Message.user("hi", name="alice", metadata={"k": 1})
    assert tagged.name == "alice" and tagged.metadata == {"k": 1}
    result = Message.tool_result("toolu_1", "done")
    assert result.role is Role.TOOL
    assert result.content == [ToolResultBlock("toolu_1", "done")]
    failed = Message.tool_result("toolu_1", "boom", is_error=True)
    assert failed.content == [ToolResultBlock("toolu_1", "boom", True)]


def test_role_values() -> None:
    assert [role.value for role in Role] == ["user", "assistant", "system", "tool"]
    assert Role("user") is Role.USER


def test_text_is_string_content_or_none() -> None:
    assert Message.user("hello").text == "hello"
    assert Message.user("").text == ""
    assert Message(Role.ASSISTANT, [TextBlock("x")]).text is None
    assert Message.tool_result("t", "r").text is None


def test_text_or_summary_renders_every_block() -> None:
    assert Message.user("plain").text_or_summary() == "plain"
    message = Message(
        Role.ASSISTANT,
        [
            TextBlock("Let me check."),
            ToolUseBlock("toolu_1", "weather", {"city": "Oslo"}),
            ToolResultBlock("toolu_1", "sunny", is_error=True),
            ImageBlock(Base64ImageSource("image/png", "A" * 400)),
        ],
    )
    lines = message.text_or_summary().split("\n")
    assert len(lines) == 4
    assert lines[0] == "Let me check."
    assert "weather" in lines[1] and "toolu_1" in lines[1] and "Oslo" in lines[1]
    assert "sunny" in lines[2] and "error" in lines[2]
    assert "image/png" in lines[3]
    assert "error" not in Message.tool_result("t", "fine").text_or_summary()
    assert Message(Role.ASSISTANT, []).text_or_summary() == ""


# -- the JSON form -------------------------------------------------------------------


@pytest.mark.parametrize("example", CONTRACT_EXAMPLES, ids=["user", "tool_use", "result", "image"])
def test_contract_examples_round_trip_exactly(example: dict[str, Any]) -> None:
    message = Message.from_dict(example)
    assert message.to_dict() == example
    assert message.to_json() == _compact_json(example)
    assert Message.from_json(_compact_json(example)) == message
    assert Message.from_json(_compact_json(example).decode()) == message


def test_contract_examples_build_the_expected_structs() -> None:
    user, assistant, tool, image = (Message.from_dict(e) for e in CONTRACT_EXAMPLES)
    assert user == Message.user("what's the weather?")
    assert assistant == Message(
        Role.ASSISTANT,
        [TextBlock("Let me check."), ToolUseBlock("toolu_1", "weather", {"city": "Oslo"})],
    )
    assert tool == Message.tool_result("toolu_1", "sunny, 22C", is_error=False)
    assert image.content == [ImageBlock(Base64ImageSource("image/png", "iVBOR..."))]
    assert image.name == "alice"
    assert image.metadata == {"channel": "discord", "trace": [1, 2, 3]}


def test_absent_fields_are_omitted() -> None:
    assert Message.user("x").to_dict() == {"role": "user", "content": "x"}
    assert Message.user("x").to_json() == b'{"role":"user","content":"x"}'
    assert Message.tool_result("t", "r").to_dict() == {
        "role": "tool",
        "content": [{"type": "tool_result", "tool_use_id": "t", "content": "r"}],
    }
    # A tool call without arguments still carries an (empty) input object.
    call = Message(Role.ASSISTANT, [ToolUseBlock("t", "now")])
    assert call.to_dict()["content"] == [
        {"type": "tool_use", "id": "t", "name": "now", "input": {}}
    ]


def test_metadata_null_is_the_same_as_absent() -> None:
    with_null = Message.from_dict({"role": "user", "content": "x", "metadata": None})
    assert with_null == Message.user("x")
    assert with_null.to_dict() == {"role": "user", "content": "x"}
    assert Message.from_json(b'{"role":"user","content":"x","metadata":null}') == Message.user("x")


def test_falsy_values_that_are_present_are_kept() -> None:
    message = Message.user("", name="", metadata=0)
    assert message.to_dict() == {"role": "user", "content": "", "name": "", "metadata": 0}
    assert Message.from_dict(message.to_dict()) == message
    assert Message.from_dict({"role": "user", "content": "", "metadata": False}).metadata is False


def test_equality_and_immutability() -> None:
    assert Message.user("a", metadata={"k": [1]}) == Message.user("a", metadata={"k": [1]})
    assert Message.user("a") != Message.user("b")
    assert Message.user("a") != Message.assistant("a")
    assert Message.user("a") != Message.user("a", name="n")
    message = Message.user("a")
    with pytest.raises(AttributeError):
        message.content = "b"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        message.role = Role.SYSTEM  # type: ignore[misc]
    block = TextBlock("x")
    with pytest.raises(AttributeError):
        block.text = "y"  # type: ignore[misc]
    assert message == Message.user("a")


# -- validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        {"role": "robot", "content": "x"},
        {"content": "x"},
        {"role": "user"},
        {"role": "user", "content": 5},
        {"role": "user", "content": [{"type": "video"}]},
        {"role": "user", "content": [{"type": "text"}]},
        {"role": "user", "content": "x", "extra": 1},
        {"role": "user", "content": "x", "name": 3},
        "not a dict",
        None,
    ],
)
def test_from_dict_rejects_invalid(data: Any) -> None:
    with pytest.raises(InvalidMessageError) as info:
        Message.from_dict(data)
    assert isinstance(info.value, ValueError) and isinstance(info.value, SessionStoreError)


@pytest.mark.parametrize(
    "text", [b"", b"{", b"[]", b'{"role":"user"}', b'{"role":1,"content":"x"}']
)
def test_from_json_rejects_invalid(text: bytes) -> None:
    with pytest.raises(InvalidMessageError):
        Message.from_json(text)


def test_encode_messages_names_the_first_bad_index() -> None:
    good: dict[str, Any] = {"role": "user", "content": "ok"}
    cases: list[tuple[list[Any], int]] = [
        ([good, good, {"role": "nope", "content": "x"}, {"role": "nope"}], 2),
        ([good, 3], 1),
        ([Message.user("a"), {"role": "user", "content": [{"type": "bogus"}]}], 1),
        ([{"role": "user", "content": "x", "metadata": math.inf}], 0),
        ([good, {"role": "user", "content": "x", "metadata": b"bytes"}], 1),
        ([good, {"role": "user", "content": "x", "metadata": {1: "int key"}}], 1),
        ([good, {"role": "user", "content": "x", "metadata": {"set": {1}}}], 1),
        ([good, good, {"role": "user", "content": "x", "metadata": (1, 2)}], 2),
        ([good, {"role": "$[5]", "content": "x"}], 1),  # an index-like value in the error
    ]
    for messages, index in cases:
        with pytest.raises(InvalidMessageError) as info:
            encode_messages(messages)
        assert info.value.index == index, (messages, info.value)
        assert f"message {index}" in str(info.value)


def test_a_list_of_structs_is_validated_like_any_other_input() -> None:
    # A list holding only Message structs takes a fast path; structs are not
    # validated when built, so the values must still be checked the same way.
    good = Message.user("ok")
    bad: list[Message] = [
        Message("nope", "x"),  # type: ignore[arg-type]
        Message(Role.USER, 3),  # type: ignore[arg-type]
        Message.user("x", metadata=math.nan),
        Message.user("x", metadata=b"bytes"),
        Message.user("x", metadata={1: "int key"}),
        Message.user("x", metadata=(1, 2)),
        Message.user("x", name=5),  # type: ignore[arg-type]
    ]
    for message in bad:
        messages = [good, good, message, good]
        errors = []
        forms: list[Any] = [messages, tuple(messages), [*messages[:3], good.to_dict()]]
        for form in forms:
            with pytest.raises(InvalidMessageError) as info:
                encode_messages(form)
            errors.append((info.value.index, str(info.value)))
        assert errors[0] == errors[1] == errors[2], message
        assert errors[0][0] == 2 and "message 2" in errors[0][1]
    assert encode_messages([good, good]) == encode_messages((good, good.to_dict()))


def test_encode_messages_rejects_a_cycle() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(InvalidMessageError) as info:
        encode_messages([Message.user("x", metadata=loop)])
    assert info.value.index == 0


def test_encode_messages_rejects_non_lists() -> None:
    for value in (Message.user("x"), {"role": "user", "content": "x"}, "text", b"x", None, 3):
        with pytest.raises(InvalidMessageError) as info:
            encode_messages(value)  # type: ignore[arg-type]
        assert info.value.index is None


def test_encode_then_decode_segments() -> None:
    first = encode_messages([Message.user("a"), {"role": "assistant", "content": "b"}])
    second = encode_messages([Message.tool_result("t", "c")])
    assert (first.count, second.count) == (2, 1)
    assert decode_segments("s", [first.payload, second.payload]) == [
        Message.user("a"),
        Message.assistant("b"),
        Message.tool_result("t", "c"),
    ]


def test_encode_messages_drops_null_metadata_canonically() -> None:
    encoded = encode_messages([{"role": "user", "content": "x", "metadata": None}])
    assert encoded.payload == b'[{"role":"user","content":"x"}]'


# -- property-based round trip -------------------------------------------------------

_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    _json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)
_ids = st.text(min_size=1, max_size=10)
text_blocks = st.builds(lambda text: {"type": "text", "text": text}, st.text(max_size=20))
image_blocks = st.builds(
    lambda media_type, data: {
        "type": "image",
        "source": {"type": "base64", "media_type": media_type, "data": data},
    },
    st.sampled_from(["image/png", "image/jpeg", "image/gif", "image/webp"]),
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", max_size=40),
)
tool_use_blocks = st.builds(
    lambda tool_id, name, tool_input: {
        "type": "tool_use",
        "id": tool_id,
        "name": name,
        "input": tool_input,
    },
    _ids,
    _ids,
    json_values,
)
tool_result_blocks = st.builds(
    lambda tool_id, content, is_error: {
        "type": "tool_result",
        "tool_use_id": tool_id,
        "content": content,
        **({} if is_error is None else {"is_error": is_error}),
    },
    _ids,
    st.text(max_size=20),
    st.none() | st.booleans(),
)
blocks = st.one_of(text_blocks, image_blocks, tool_use_blocks, tool_result_blocks)


@st.composite
def message_dicts(draw: st.DrawFn) -> dict[str, Any]:
    """Any valid message in its JSON form, absent optional fields left out."""
    message: dict[str, Any] = {
        "role": draw(st.sampled_from([role.value for role in Role])),
        "content": draw(st.text(max_size=30) | st.lists(blocks, max_size=4)),
    }
    name = draw(st.none() | st.text(max_size=8))
    if name is not None:
        message["name"] = name
    metadata = draw(json_values)
    if metadata is not None:
        message["metadata"] = metadata
    return message


@given(message_dicts())
def test_dict_form_round_trips(data: dict[str, Any]) -> None:
    message = Message.from_dict(data)
    assert message.to_dict() == data
    assert Message.from_json(message.to_json()) == message
    assert Message.from_dict(json.loads(message.to_json())) == message
    assert msgspec.json.decode(message.to_json()) == data


@given(st.lists(message_dicts(), max_size=5), st.integers(0, 5))
def test_encoded_segments_round_trip(data: list[dict[str, Any]], split: int) -> None:
    messages = [Message.from_dict(item) for item in data]
    head, tail = encode_messages(data[:split]), encode_messages(messages[split:])
    assert head.count + tail.count == len(data)
    assert decode_segments("s", [head.payload, tail.payload]) == messages


def test_a_message_that_refers_to_itself_is_refused_not_stored() -> None:
    looped = Message.user("x", metadata={})
    looped.metadata["self"] = looped
    with pytest.raises(InvalidMessageError) as caught:
        encode_messages([Message.user("fine"), looped])
    assert caught.value.index == 1
