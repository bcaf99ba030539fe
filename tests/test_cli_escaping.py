"""Stored text never reaches the terminal raw (issue 17, item 9).

Ids, namespaces, titles, attributes, metadata, tool calls and text are written
by anyone; a bidi control (U+202E) in a tool call's arguments can make a
displayed command read differently, an ESC can rewrite the terminal. Every
command that prints stored data, as a table, a transcript, JSON, or an error,
escapes every control, format, surrogate, private-use, unassigned and
line/paragraph separator character; only newlines stay raw, where a text is
shown over several lines.
"""

from __future__ import annotations

import json
import unicodedata
import uuid
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cli_support import invoke, seed
from sessionstore.cli.text import encode_json, safe_text

UNSAFE_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
BIDI = [chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x61C]]
OTHERS = ["\x1b", "\x07", "\r", "\x85", "\u2028", "\u2029", "\u200b", "\ufeff", "\U000e0001"]

_any_char = st.characters(exclude_categories=["Cs"])
_unsafe_char = st.sampled_from(BIDI + OTHERS)
#: Strings that mix ordinary and unsafe characters, never a lone surrogate (not storable).
text = st.lists(st.one_of(_any_char, _unsafe_char), min_size=1, max_size=12).map("".join)
names = text.filter(lambda value: "\x00" not in value and len(value.encode()) <= 200)


def raw_unsafe(output: str) -> list[str]:
    """The unsafe characters ``output`` holds raw (newlines excepted)."""
    return [
        char for char in output if char != "\n" and unicodedata.category(char) in UNSAFE_CATEGORIES
    ]


def _session(value: str) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": value, "name": value, "metadata": {value: [value]}},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": value},
                {"type": "tool_use", "id": value, "name": value, "input": {value: value}},
            ],
        },
        {
            "role": "tool",
            "content": [{"type": "tool_result", "tool_use_id": value, "content": value}],
        },
    ]


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(session_id=names, namespace=names, value=text)
@example(session_id="rm -rf \u202e/ txt.exe", namespace="ns\u2066", value="ls \u202e-la\x1b[2J")
def test_no_command_prints_a_stored_unsafe_character_raw(
    tmp_path: Path, session_id: str, namespace: str, value: str
) -> None:
    url = f"sqlite:///{tmp_path / uuid.uuid4().hex}.db"
    attributes = {"title": value, value: value}
    seed(url, {session_id: _session(value)}, attributes=attributes)
    seed(url, {session_id: _session(value)}, namespace=namespace, attributes=attributes)
    outputs = [
        invoke("list", "--url", url),
        invoke("list", "--url", url, "--all-namespaces"),
        invoke("list", "--url", url, "--json", "--namespace", namespace),
        invoke("show", "--url", url, "--", session_id),
        invoke("show", "--url", url, "--namespace", namespace, "--json", "--", session_id),
        invoke("attributes", "--url", url, "--", session_id),
        invoke("namespaces", "--url", url),
        invoke("namespaces", "--url", url, "--json"),
        invoke("export", "--url", url, "--all-namespaces"),
        invoke("doctor", "--url", url, "--all-namespaces"),
        invoke("show", "--url", url, "--", session_id + value),  # an unknown id: an error
        invoke("delete", "--url", url, "--", session_id + value),  # reported as not found
    ]
    for result in outputs:
        assert raw_unsafe(result.stdout) == [], (result.stdout, result.stderr)
        assert raw_unsafe(result.stderr) == [], result.stderr
    shown = json.loads(outputs[4].stdout)
    assert shown[1]["content"][1]["input"] == {value: value}  # JSON escapes decode back
    exported = json.loads(outputs[8].stdout.splitlines()[0])
    assert exported["id"] == session_id and exported["attributes"] == attributes


@given(value=st.text(st.characters(exclude_categories=["Cs"])))
def test_safe_text_and_encode_json_leave_no_unsafe_character(value: str) -> None:
    assert raw_unsafe(safe_text(value)) == []
    assert raw_unsafe(safe_text(value, keep_newlines=True).replace("\t", "")) == []
    assert safe_text(safe_text(value)) == safe_text(value)
    encoded = encode_json({value: [value]}).decode()
    assert raw_unsafe(encoded) == []
    assert json.loads(encoded) == {value: [value]}


def test_rich_markup_in_stored_text_prints_as_itself(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    markup = "[bold red]alert[/bold red] [link=https://example.invalid]click[/link]"
    seed(url, {markup: _session(markup)}, attributes={"title": markup})
    listed = invoke("list", "--url", url)
    assert listed.stdout.count("[bold red]alert") == 2  # id and title
    shown = invoke("show", "--url", url, "--", markup)
    assert shown.exit_code == 0
    assert shown.stdout.count("[link=https://example.invalid]click[/link]") >= 6
