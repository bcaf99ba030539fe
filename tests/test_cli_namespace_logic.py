"""The CLI's typer-free logic over namespaces and attributes, on the in-memory reference store.

Export lines carry namespace and attributes, import puts them back (or into one
chosen namespace), copy keeps them, and the editing helpers behind ``attributes``,
``pop``, ``fork`` and ``namespaces`` behave as their commands promise. The
commands themselves are tested on SQLite files in ``test_cli_namespaces`` and
``test_cli_editing``.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest

from sessionstore import InMemorySessionStore, Message
from sessionstore._errors import InvalidArgumentError
from sessionstore.cli.editing import (
    TargetExistsError,
    attribute_changes,
    fork_session,
    namespace_counts,
    pop_messages,
)
from sessionstore.cli.import_writing import import_sessions
from sessionstore.cli.importing import parse_line, validate_import
from sessionstore.cli.reading import UnknownSessionError, iter_sessions
from sessionstore.cli.transfer import copy_namespaces, export_line, write_session

HELLO = [Message.user("hello"), Message.assistant("hi there")]


async def _exported(store: InMemorySessionStore, namespace: str) -> list[dict[str, object]]:
    view = store.namespace(namespace) if namespace else store
    return [
        json.loads(export_line(record, messages, namespace))
        async for record, messages in iter_sessions(view)
    ]


async def test_export_lines_carry_namespace_and_attributes() -> None:
    async with InMemorySessionStore() as store:
        await store.namespace("acme").save("s1", HELLO, attributes={"title": "Hi", "n": 2})
        await store.save("s1", HELLO[:1])
        [line] = await _exported(store, "acme")
        assert line["namespace"] == "acme"
        assert line["attributes"] == {"title": "Hi", "n": 2}
        assert len(line["messages"]) == 2  # type: ignore[arg-type]
        [default] = await _exported(store, "")
        assert default["namespace"] == ""
        assert default["attributes"] == {}


async def test_import_puts_each_line_in_its_namespace_with_its_attributes() -> None:
    lines = [
        {"id": "a", "namespace": "t1", "attributes": {"title": "one"}, "messages": []},
        {"id": "a", "namespace": "t2", "messages": [{"role": "user", "content": "x"}]},
        {"id": "a", "messages": []},
    ]
    stream = io.BytesIO("".join(json.dumps(line) + "\n" for line in lines).encode())
    async with InMemorySessionStore() as store:
        summary = await import_sessions(store, stream)
        assert (summary.created, summary.problem_count) == (3, 0)
        assert await store.namespaces() == ["", "t1", "t2"]
        one = await store.namespace("t1").get("a")
        assert one is not None and dict(one.attributes) == {"title": "one"}
        assert await store.namespace("t2").load("a") == [Message.user("x")]
        plain = await store.get("a")
        assert plain is not None and dict(plain.attributes) == {}


async def test_import_into_a_chosen_namespace_overrides_the_lines() -> None:
    lines = [
        {"id": "a", "namespace": "t1", "messages": []},
        {"id": "b", "messages": []},
    ]
    stream = io.BytesIO("".join(json.dumps(line) + "\n" for line in lines).encode())
    async with InMemorySessionStore() as store:
        await import_sessions(store, stream, namespace="moved")
        assert await store.namespaces() == ["moved"]
        assert [r.id for r in await store.namespace("moved").list()] == ["a", "b"]


def test_the_same_id_in_two_namespaces_is_no_duplicate_but_twice_in_one_is() -> None:
    rows = [
        {"id": "a", "namespace": "t1", "messages": []},
        {"id": "a", "namespace": "t2", "messages": []},
        {"id": "a", "namespace": "t2", "messages": []},
    ]
    data = "".join(json.dumps(row) + "\n" for row in rows).encode()
    problems, count, sessions = validate_import(io.BytesIO(data))
    assert count == 1 and sessions == 2
    assert str(problems[0]) == "line 3: duplicate id 'a' in namespace 't2' (first on line 2)"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("namespace", 7, '"namespace" must be a string, got number'),
        ("namespace", "x" * 257, '"namespace": namespace must be 1 to 256'),
        ("attributes", [1], "attributes must be a mapping"),
        ("attributes", {"big": "x" * 70_000}, "more than the 65536 allowed"),
    ],
)
def test_bad_namespace_or_attributes_fields_are_rejected(
    field: str, value: object, message: str
) -> None:
    line = json.dumps({"id": "a", "messages": [], field: value}).encode()
    with pytest.raises(InvalidArgumentError, match=message.replace("(", r"\(")):
        parse_line(line)


async def test_write_session_replaces_attributes_exactly_even_without_restore() -> None:
    async with InMemorySessionStore() as store:
        await store.save("a", HELLO, attributes={"old": 1, "kept": "x"})
        stamps = (datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 2, tzinfo=UTC))
        restored = await write_session(store, "a", HELLO, stamps, attributes={"kept": "y"})
        assert dict(restored.attributes) == {"kept": "y"}
        saved = await write_session(store, "a", HELLO, None, attributes={"new": True})
        assert dict(saved.attributes) == {"new": True}


async def test_copy_between_namespaces_keeps_attributes_and_timestamps() -> None:
    async with InMemorySessionStore() as source, InMemorySessionStore() as target:
        src = await source.namespace("t1").save("a", HELLO, attributes={"title": "T"})
        copied = await copy_namespaces(source, target, [("t1", "t9")])
        assert copied == 1
        record = await target.namespace("t9").get("a")
        assert record is not None
        assert dict(record.attributes) == {"title": "T"}
        assert (record.created_at, record.updated_at) == (src.created_at, src.updated_at)
        assert await target.namespaces() == ["t9"]


def test_attribute_changes_parse_strings_json_and_unsets() -> None:
    changes = attribute_changes(["title=Hello = world", "n:=3", 'tags:=["a"]'], ["old"])
    assert changes == {"title": "Hello = world", "n": 3, "tags": ["a"], "old": None}
    assert attribute_changes(["empty="], []) == {"empty": ""}


@pytest.mark.parametrize(
    ("assignments", "unset", "message"),
    [
        (["novalue"], [], "is not KEY=VALUE"),
        (["=x"], [], "has an empty key"),
        (["n:={bad"], [], "is not JSON"),
        (["n:=null"], [], "use --unset n"),
        (["a=1", "a:=2"], [], "set twice"),
        (["a=1"], ["a"], "both set and unset"),
        ([], [""], "--unset needs a key"),
    ],
)
def test_attribute_changes_reject_ambiguous_input(
    assignments: list[str], unset: list[str], message: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        attribute_changes(assignments, unset)


async def test_pop_messages_returns_the_tail_and_rejects_unknown_ids() -> None:
    async with InMemorySessionStore() as store:
        await store.save("a", [*HELLO, Message.user("bye")])
        assert await pop_messages(store, "a", 2) == [HELLO[1], Message.user("bye")]
        assert await store.load("a") == HELLO[:1]
        await store.save("empty", [])
        assert await pop_messages(store, "empty", 1) == []
        with pytest.raises(UnknownSessionError, match="no session with id 'nope'"):
            await pop_messages(store, "nope", 1)


async def test_fork_session_refuses_an_existing_target_unless_replacing() -> None:
    async with InMemorySessionStore() as store:
        await store.save("src", HELLO, attributes={"title": "T"})
        record = await fork_session(store, "src", "dst", stop=1, replace=False)
        assert record.message_count == 1 and dict(record.attributes) == {"title": "T"}
        with pytest.raises(TargetExistsError, match="use --replace"):
            await fork_session(store, "src", "dst", stop=None, replace=False)
        assert await store.load("dst") == HELLO[:1]
        replaced = await fork_session(store, "src", "dst", stop=None, replace=True)
        assert replaced.message_count == 2
        with pytest.raises(UnknownSessionError, match="'ghost'"):
            await fork_session(store, "ghost", "x", stop=None, replace=False)
        assert await store.get("x") is None


async def test_namespace_counts() -> None:
    async with InMemorySessionStore() as store:
        assert await namespace_counts(store) == {}
        await store.save("a", HELLO)
        await store.namespace("t").save("a", HELLO)
        await store.namespace("t").save("b", HELLO)
        assert await namespace_counts(store) == {"": 1, "t": 2}


async def test_import_keeps_any_json_attribute_value() -> None:
    """Integers past 64 bits, floats, nesting and nulls inside values survive the import spool."""
    attributes = {"big": 10**24, "f": 1.5, "nested": {"x": [1, "2", None]}, "s": "ü"}
    line = json.dumps({"id": "a", "attributes": attributes, "messages": []})
    async with InMemorySessionStore() as store:
        summary = await import_sessions(store, io.BytesIO(line.encode()))
        assert summary.created == 1
        record = await store.get("a")
        assert record is not None and dict(record.attributes) == attributes
