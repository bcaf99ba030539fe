"""Sessions the store cannot read, and nesting depth, through the command (issue 17, item 2).

A damaged transcript (written past the library by the backend's own driver,
as damage on disk or an older release's data would be) must not stop
``export`` from saving the rest, must be reported by ``doctor``, and must be a
one-line error in ``show``. Whatever the library accepts at its depth limit,
every command reads and prints; an import line nested deeper is refused with
its line number, whatever the depth.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli_support import contents, corrupt, invoke, seed
from plugins._urls import StoreUrls
from sessionstore import MAX_MESSAGE_DEPTH

_DEEP = b"[" * 5000 + b"]" * 5000

#: Damage of every kind a read can meet: cut short, not a message, nested past any stack.
DAMAGE = {
    "truncated": b'{"role": "user", "cont',
    "not-a-message": b'{"role": "nobody", "content": 3}',
    "not-json": b"{not json at all",
    "nested-past-any-stack": b'{"role": "user", "content": "x", "metadata": ' + _DEEP + b"}",
}

FINE = [{"role": "user", "content": "fine"}]


def _damaged_store(urls: StoreUrls, damage: bytes) -> str:
    url = urls.new()
    seed(url, {"first": FINE})
    corrupt(url, "broken", damage)
    seed(url, {"last": FINE})
    return url


def _ids(jsonl_text: str) -> list[str]:
    return [json.loads(line)["id"] for line in jsonl_text.splitlines()]


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=list(DAMAGE))
def test_export_leaves_out_what_cannot_be_read_and_exports_the_rest(
    store_urls: StoreUrls, damage: bytes, tmp_path: Path
) -> None:
    url = _damaged_store(store_urls, damage)
    backup = tmp_path / "backup.jsonl"
    to_file = invoke("export", "--url", url, "-o", str(backup))
    assert to_file.exit_code == 1
    assert _ids(backup.read_text()) == ["first", "last"]
    assert "not exported: session 'broken' is corrupt" in to_file.stderr
    last_line = to_file.stderr.splitlines()[-1]
    assert last_line.startswith("sessionstore: error: exported 2 sessions to ")
    assert "1 could not be read and are not in it: 'broken'" in last_line
    to_stdout = invoke("export", "--url", url)
    assert to_stdout.exit_code == 1 and _ids(to_stdout.stdout) == ["first", "last"]
    named = invoke("export", "broken", "last", "--url", url)
    assert named.exit_code == 1 and _ids(named.stdout) == ["last"]


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=list(DAMAGE))
def test_doctor_reports_what_cannot_be_read(store_urls: StoreUrls, damage: bytes) -> None:
    url = _damaged_store(store_urls, damage)
    result = invoke("doctor", "--url", url)
    assert result.exit_code == 1
    assert "'broken': transcript does not decode" in result.stdout
    assert "checked 3 sessions: 1 with problems" in result.stdout
    assert "no problems found" not in result.stdout


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=list(DAMAGE))
@pytest.mark.parametrize("as_json", [False, True])
def test_show_of_what_cannot_be_read_is_one_clear_error(
    store_urls: StoreUrls, damage: bytes, as_json: bool
) -> None:
    url = _damaged_store(store_urls, damage)
    result = invoke("show", "broken", "--url", url, *(["--json"] if as_json else []))
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("sessionstore: error: session 'broken' is corrupt in storage")
    assert result.stderr.count("\n") == 1


def _nested(levels: int) -> Any:
    value: Any = "core"
    for _ in range(levels):
        value = [value]
    return value


def test_a_message_at_the_depth_limit_is_shown_exported_and_checked(store_urls: StoreUrls) -> None:
    url = store_urls.new()
    # The message is level 1: metadata of 255 lists, and a tool input 253 deep under content.
    metadata_message = {"role": "user", "content": "m", "metadata": _nested(MAX_MESSAGE_DEPTH - 1)}
    tool_input = {"deep": _nested(MAX_MESSAGE_DEPTH - 4)}
    tool_message = {
        "role": "assistant",
        "content": [{"type": "tool_use", "id": "t1", "name": "run", "input": tool_input}],
    }
    seed(url, {"deep": [metadata_message, tool_message]})
    shown = invoke("show", "deep", "--url", url)
    assert shown.exit_code == 0 and shown.stdout.count('"core"') == 2
    assert (
        json.loads(invoke("show", "deep", "--url", url, "--json").stdout)[1]["content"][0]["input"]
        == tool_input
    )
    exported = invoke("export", "--url", url)
    assert exported.exit_code == 0
    assert invoke("doctor", "--url", url).exit_code == 0
    again = store_urls.new()
    imported = invoke("import", "-", "--url", again, input=exported.stdout)
    assert imported.exit_code == 0, imported.stderr
    assert contents(again) == contents(url)


_PLACES = ("metadata", "tool-input", "messages", "whole-line")


def _deep_line(place: str, depth: int) -> str:
    """A line nesting ``depth`` levels at ``place`` (for a message: the message is level 1).

    Built as text: the test's own JSON encoder would run out of stack first.
    """
    marker = '"@@DEEP@@"'
    if place == "metadata":
        line: Any = {"id": "deep", "messages": [{"role": "user", "content": "x", "metadata": 0}]}
        lists = depth - 1
    elif place == "tool-input":
        block = {"type": "tool_use", "id": "t", "name": "n", "input": {"k": 0}}
        line = {"id": "deep", "messages": [{"role": "assistant", "content": [block]}]}
        lists = depth - 4
    else:
        line = {"id": "deep", "messages": 0} if place == "messages" else [0]
        lists = depth
    text = json.dumps(line).replace(": 0", f": {marker}").replace("[0]", f"[{marker}]")
    return text.replace(marker, "[" * lists + '"core"' + "]" * lists)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    place=st.sampled_from(_PLACES),
    depth=st.one_of(
        st.integers(MAX_MESSAGE_DEPTH + 1, MAX_MESSAGE_DEPTH + 50),
        st.integers(900, 1100),
        st.integers(MAX_MESSAGE_DEPTH + 1, 200_000),
    ),
)
def test_an_import_line_nested_too_deeply_is_refused_by_line(
    tmp_path: Path, place: str, depth: int
) -> None:
    url = f"sqlite:///{tmp_path / uuid.uuid4().hex}.db"
    good = json.dumps({"id": "good", "messages": FINE})
    result = invoke("import", "-", "--url", url, input=f"{good}\n{_deep_line(place, depth)}\n")
    assert result.exit_code == 1, result.stderr
    assert result.stderr.startswith("sessionstore: stdin: line 2: ")
    assert "nested" in result.stderr or place in ("messages", "whole-line")
    assert result.stderr.endswith("nothing was imported\n")
    assert contents(url) == {}


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(place=st.sampled_from(_PLACES[:2]), depth=st.integers(1, MAX_MESSAGE_DEPTH))
def test_an_import_line_within_the_limit_is_imported(
    tmp_path: Path, place: str, depth: int
) -> None:
    if place == "tool-input" and depth < 5:
        depth = 5
    url = f"sqlite:///{tmp_path / uuid.uuid4().hex}.db"
    result = invoke("import", "-", "--url", url, input=_deep_line(place, depth) + "\n")
    assert result.exit_code == 0, result.stderr
    assert list(contents(url)) == ["deep"]


@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_an_attribute_nested_too_deeply_is_a_usage_error(tmp_path: Path, depth: int) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    seed(url, {"s": FINE})
    result = invoke("attributes", "s", "k:=" + "[" * depth + "]" * depth, "--url", url)
    assert result.exit_code == 2
    assert "nested too deeply" in result.output
