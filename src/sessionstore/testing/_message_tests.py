"""The data contract: what is saved is what loads; bad ids and messages write nothing."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from sessionstore._errors import (
    InvalidMessageError,
    InvalidSessionIdError,
    SessionStoreError,
)
from sessionstore._messages import (
    Base64ImageSource,
    ImageBlock,
    Message,
    Role,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
)
from sessionstore._store import SessionStore
from sessionstore.testing._support import (
    HOSTILE_IDS,
    INVALID_IDS,
    contract_examples,
    nested,
    rich_transcript,
    store_test,
)

__all__ = ["MessageContractTests"]

_GOOD: dict[str, Any] = {"role": "user", "content": "fine"}

#: (what is wrong, the messages of one call, the index of the first bad one)
INVALID_MESSAGES: tuple[tuple[str, list[Any], int], ...] = (
    ("bad role", [_GOOD, {"role": "robot", "content": "x"}], 1),
    ("missing role", [{"content": "x"}], 0),
    ("missing content", [_GOOD, _GOOD, {"role": "user"}], 2),
    ("content is a number", [_GOOD, {"role": "user", "content": 42}], 1),
    ("content is a dict", [{"role": "user", "content": {"text": "x"}}], 0),
    ("bad block type", [_GOOD, {"role": "user", "content": [{"type": "video"}]}], 1),
    ("block without type", [{"role": "user", "content": [{"text": "x"}]}], 0),
    ("block missing a field", [{"role": "assistant", "content": [{"type": "tool_use"}]}], 0),
    (
        "is_error not a bool",
        [
            _GOOD,
            {
                "role": "tool",
                "content": [
                    {"type": "tool_result", "tool_use_id": "t", "content": "x", "is_error": "no"}
                ],
            },
        ],
        1,
    ),
    ("name not a str", [_GOOD, {"role": "user", "content": "x", "name": 5}], 1),
    ("unknown field", [_GOOD, {"role": "user", "content": "x", "colour": "red"}], 1),
    ("a str item", [_GOOD, "just text"], 1),
    ("an int item", [_GOOD, _GOOD, 7], 2),
    ("a None item", [None], 0),
    ("a list item", [_GOOD, [_GOOD]], 1),
    ("non-JSON metadata", [_GOOD, {"role": "user", "content": "x", "metadata": object()}], 1),
    ("NaN metadata", [_GOOD, {"role": "user", "content": "x", "metadata": math.nan}], 1),
    (
        "non-JSON tool input",
        [
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t", "name": "n", "input": {"f": print}}],
            }
        ],
        0,
    ),
    ("bad Message object", [Message.user("ok"), Message("robot", "x")], 1),  # type: ignore[arg-type]
    ("bad value after the bad index", [_GOOD, {"role": "x$[7]", "content": "x"}], 1),
)


class MessageContractTests:
    """Round trips of every message shape, and refusal of bad ids and messages."""

    # -- round trips -----------------------------------------------------------------

    @store_test
    async def test_rich_transcript_round_trips(self, store: SessionStore) -> None:
        transcript = rich_transcript()
        record = await store.save("rich", transcript)
        assert record.message_count == len(transcript)
        loaded = await store.load("rich")
        assert loaded == transcript
        assert loaded is not None
        assert [m.to_dict() for m in loaded] == [m.to_dict() for m in transcript]
        assert all(isinstance(m, Message) for m in loaded)

    @store_test
    async def test_every_message_appended_alone_round_trips(self, store: SessionStore) -> None:
        transcript = rich_transcript()
        for message in transcript:
            await store.append("one-by-one", [message])
        assert await store.load("one-by-one") == transcript

    @store_test
    async def test_every_role(self, store: SessionStore) -> None:
        messages = [Message(role, f"from {role.value}") for role in Role]
        await store.save("roles", messages)
        loaded = await store.load("roles")
        assert loaded is not None
        assert [m.role for m in loaded] == list(Role)

    @store_test
    async def test_plain_dicts_are_accepted(self, store: SessionStore) -> None:
        dicts = contract_examples()
        await store.save("dicts", dicts[:2])
        await store.append("dicts", [dicts[2], Message.from_dict(dicts[3])])
        loaded = await store.load("dicts")
        assert loaded == [Message.from_dict(d) for d in dicts]
        assert loaded is not None
        assert [m.to_dict() for m in loaded] == dicts

    @store_test
    async def test_metadata_null_is_absent(self, store: SessionStore) -> None:
        await store.save("s", [{"role": "user", "content": "x", "metadata": None}])
        await store.append("s", [{"role": "user", "content": "y", "name": None}])
        loaded = await store.load("s")
        assert loaded == [Message.user("x"), Message.user("y")]
        assert loaded is not None
        assert loaded[0].to_dict() == {"role": "user", "content": "x"}
        assert loaded[0].metadata is None

    @store_test
    async def test_tool_results_with_and_without_is_error(self, store: SessionStore) -> None:
        results = [
            Message(Role.TOOL, [ToolResultBlock("a", "ok", is_error=False)]),
            Message(Role.TOOL, [ToolResultBlock("b", "boom", is_error=True)]),
            Message(Role.TOOL, [ToolResultBlock("c", "unsaid")]),
        ]
        await store.save("tools", results)
        loaded = await store.load("tools")
        assert loaded == results
        assert loaded is not None
        flags = [m.to_dict()["content"][0].get("is_error", "absent") for m in loaded]
        assert flags == [False, True, "absent"]

    @store_test
    async def test_unicode_and_empty_strings(self, store: SessionStore) -> None:
        texts = [
            "",
            " ",
            "émoji 🎉",
            "東京",
            "\u202eright-to-left",
            "tab\tnew\nline",
            'quote" back\\slash',
            "\U0001f9d1\u200d\U0001f4bb",
            "nul-free \x01\x1f",
        ]
        messages = [Message.user(t, name=t, metadata={t: [t]}) for t in texts]
        messages.append(Message(Role.ASSISTANT, [TextBlock(t) for t in texts]))
        await store.save("unicode", messages)
        assert await store.load("unicode") == messages

    @store_test
    async def test_large_message(self, store: SessionStore) -> None:
        big = ("x🎉é" * (3 * 1024 * 1024))[: 8 * 1024 * 1024 + 17]
        assert len(big.encode()) > 8 * 1024 * 1024
        image = ImageBlock(Base64ImageSource("image/png", "A" * (8 * 1024 * 1024)))
        messages = [Message.user("before"), Message.assistant(big), Message(Role.USER, [image])]
        await store.save("big", messages[:2])
        record = await store.append("big", messages[2:])
        assert record.message_count == 3
        assert await store.load("big") == messages

    @store_test
    async def test_deeply_nested_metadata_and_input(self, store: SessionStore) -> None:
        deep = nested(200)
        messages = [
            Message.user("deep", metadata=deep),
            Message(Role.ASSISTANT, [ToolUseBlock("t1", "deep_tool", {"arg": deep})]),
        ]
        await store.save("deep", messages)
        assert await store.load("deep") == messages

    @store_test
    async def test_json_values_in_metadata(self, store: SessionStore) -> None:
        values: list[Any] = [
            0,
            -1,
            2**53 + 1,
            -(2**63),
            2**63 - 1,
            0.5,
            -1e300,
            1e-300,
            True,
            False,
            "",
            [],
            {},
            [None, [None]],
            {"": {"": ""}},
            {"k" * 1000: "long key"},
        ]
        messages = [Message.user(str(i), metadata=v) for i, v in enumerate(values)]
        await store.save("values", messages)
        loaded = await store.load("values")
        assert loaded == messages
        assert loaded is not None
        for original, back in zip(messages, loaded, strict=True):
            assert type(back.metadata) is type(original.metadata), original.metadata

    # -- ids -------------------------------------------------------------------------

    @store_test
    async def test_hostile_ids_round_trip_and_stay_distinct(self, store: SessionStore) -> None:
        for session_id in HOSTILE_IDS:
            await store.save(session_id, [Message.user(session_id)])
        assert await store.count() == len(HOSTILE_IDS)
        listed = await store.list()
        assert [record.id for record in listed] == list(HOSTILE_IDS)
        for session_id in HOSTILE_IDS:
            assert await store.load(session_id) == [Message.user(session_id)], session_id
            record = await store.get(session_id)
            assert record is not None and record.id == session_id
        for session_id in HOSTILE_IDS[::2]:
            await store.delete(session_id)
        assert [record.id for record in await store.list()] == list(HOSTILE_IDS[1::2])
        for session_id in HOSTILE_IDS[1::2]:
            assert await store.load(session_id) == [Message.user(session_id)], session_id

    @store_test
    async def test_invalid_ids_are_refused_by_every_method(self, store: SessionStore) -> None:
        seeded = await store.save("seed", [Message.user("kept")])
        calls: dict[str, Callable[[Any], Awaitable[object]]] = {
            "load": lambda sid: store.load(sid),
            "get": lambda sid: store.get(sid),
            "save": lambda sid: store.save(sid, [Message.user("x")]),
            "append": lambda sid: store.append(sid, [Message.user("x")]),
            "save(expected_version=0)": lambda sid: store.save(
                sid, [Message.user("x")], expected_version=0
            ),
            "delete": lambda sid: store.delete(sid),
            "snapshot": lambda sid: store.snapshot(sid),
            "pop": lambda sid: store.pop(sid),
            "replace_tail": lambda sid: store.replace_tail(sid, 0, []),
            "fork (source)": lambda sid: store.fork(sid, "seed"),
            "fork (target)": lambda sid: store.fork("seed", sid),
            "update_attributes": lambda sid: store.update_attributes(sid, {}),
        }
        for why, bad_id in INVALID_IDS:
            for name, call in calls.items():
                with pytest.raises(InvalidSessionIdError) as info:
                    await call(bad_id)
                    pytest.fail(f"{name} accepted an id that is {why}")
                assert isinstance(info.value, ValueError)
                assert isinstance(info.value, SessionStoreError)
                assert str(info.value), f"{name}: error for an id that is {why} says nothing"
        assert await store.list() == [seeded]
        assert await store.load("seed") == [Message.user("kept")]

    # -- invalid messages ------------------------------------------------------------

    @store_test
    async def test_invalid_messages_are_refused_and_write_nothing(
        self, store: SessionStore
    ) -> None:
        seeded = await store.save("seed", [Message.user("kept")])
        for why, messages, bad_index in INVALID_MESSAGES:
            for name in ("save", "append"):
                for target in ("seed", "fresh"):
                    write = store.save if name == "save" else store.append
                    with pytest.raises(InvalidMessageError) as info:
                        await write(target, messages)
                        pytest.fail(f"{name} accepted messages with {why}")
                    error = info.value
                    assert isinstance(error, ValueError) and isinstance(error, SessionStoreError)
                    assert error.index == bad_index, f"{name}, {why}: index {error.index}"
                    assert str(bad_index) in str(error), f"{name}, {why}: {error}"
            assert await store.get("fresh") is None, why
            assert await store.get("seed") == seeded, why
            assert await store.load("seed") == [Message.user("kept")], why
        assert await store.list() == [seeded]

    @store_test
    async def test_messages_must_be_a_list(self, store: SessionStore) -> None:
        for not_a_list in (Message.user("x"), {"role": "user", "content": "x"}, "text", None, 5):
            for write in (store.save, store.append):
                with pytest.raises(InvalidMessageError):
                    await write("s", not_a_list)  # type: ignore[arg-type]
        assert await store.count() == 0

    @store_test
    async def test_messages_may_be_any_iterable(self, store: SessionStore) -> None:
        await store.save("s", (Message.user(str(i)) for i in range(3)))
        await store.append("s", (Message.user("t"),))
        assert await store.load("s") == [Message.user(t) for t in ("0", "1", "2", "t")]
