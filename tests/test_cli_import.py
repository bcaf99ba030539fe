"""``sessionstore import``: every line checked before anything is written; conflicts; timestamps."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import pytest

from cli_support import contents, invoke, jsonl, records, seed, session_line
from sessionstore import Message, open_store
from sessionstore._records import utc_now
from sessionstore.cli import importing
from sessionstore.cli.demo import DEMO_SESSIONS
from sessionstore.cli.import_writing import ImportSummary, import_sessions
from sessionstore.cli.importing import ImportLine


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


def test_import_then_export_round_trips(url: str, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(jsonl([{"id": sid, "messages": m} for sid, m in DEMO_SESSIONS.items()]))
    result = invoke("import", str(source), "--url", url)
    assert result.exit_code == 0, result.output
    assert "2 created" in result.stderr
    assert contents(url) == {
        sid: [Message.from_dict(m) for m in messages] for sid, messages in DEMO_SESSIONS.items()
    }


def test_import_skips_blank_lines_and_counts_them(url: str, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("\n" + jsonl([session_line("a")]) + "  \n" + "{broken\n")
    result = invoke("import", str(source), "--url", url)
    assert result.exit_code == 1
    assert "line 4: not valid JSON" in result.stderr


def test_import_reads_stdin(url: str) -> None:
    result = invoke("import", "-", "--url", url, input=jsonl([session_line("x")]))
    assert result.exit_code == 0, result.output
    assert contents(url) == {"x": [Message.user("hi")]}


def test_import_parses_each_line_once(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checking the file, looking for ids the store has, and writing share one parse per line."""
    parsed: list[bytes] = []
    parse_line = importing.parse_line

    def counting_parse_line(line: bytes, namespace: str | None = None) -> ImportLine:
        parsed.append(line)
        return parse_line(line, namespace)

    monkeypatch.setattr(importing, "parse_line", counting_parse_line)
    source = tmp_path / "in.jsonl"
    source.write_text(jsonl([session_line("a"), session_line("b"), session_line("c")]))
    result = invoke("import", str(source), "--url", url)  # --on-conflict fail: every step
    assert result.exit_code == 0, result.output
    assert [line.decode() for line in parsed] == source.read_text().splitlines()
    assert list(contents(url)) == ["a", "b", "c"]


def test_import_reads_a_pipe_once(url: str) -> None:
    """A pipe cannot be read twice or rewound: the import must need one pass over it."""
    read_end, write_end = os.pipe()
    with open(write_end, "wb") as writer:
        writer.write(jsonl([session_line("a", "one"), session_line("b", "two")]).encode())

    async def work(pipe: BinaryIO) -> ImportSummary:
        async with open_store(url) as store:
            return await import_sessions(store, pipe)

    with open(read_end, "rb") as pipe:
        assert not pipe.seekable()
        summary = asyncio.run(work(pipe))
    assert (summary.created, summary.problem_count) == (2, 0)
    assert contents(url) == {"a": [Message.user("one")], "b": [Message.user("two")]}


BAD_LINES = [
    ("{not json", "not valid JSON"),
    ('["an", "array"]', "expected a JSON object, got array"),
    ('{"messages": []}', 'missing field "id"'),
    ('{"id": "x"}', 'missing field "messages"'),
    ('{"id": "", "messages": []}', "must not be empty"),
    ('{"id": 7, "messages": []}', "must be a str"),
    ('{"id": "x", "messages": {}}', '"messages" must be an array, got object'),
    ('{"id": "x", "messages": [{"role": "bot", "content": "?"}]}', "message 0"),
    ('{"id": "x", "messages": [], "extra": 1}', "unknown field 'extra'"),
    ('{"id": "x", "messages": [], "created_at": "yesterday"}', "ISO-8601"),
]


@pytest.mark.parametrize(("line", "problem"), BAD_LINES)
def test_a_bad_line_is_reported_with_its_number_and_nothing_is_written(
    url: str, tmp_path: Path, line: str, problem: str
) -> None:
    seed(url, {"existing": [{"role": "user", "content": "keep me"}]})
    source = tmp_path / "in.jsonl"
    good = jsonl([session_line("a"), session_line("b")])
    source.write_text(good + line + "\n" + jsonl([session_line("c")]))
    result = invoke("import", str(source), "--url", url, "--on-conflict", "replace")
    assert result.exit_code == 1
    assert f"{source}: line 3: " in result.stderr
    assert problem in result.stderr
    assert "nothing was imported" in result.stderr
    assert contents(url) == {"existing": [Message.user("keep me")]}


def test_duplicate_ids_in_a_file_are_an_error(url: str, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(jsonl([session_line("a"), session_line("b"), session_line("a")]))
    result = invoke("import", str(source), "--url", url)
    assert result.exit_code == 1
    assert "line 3: duplicate id 'a' (first on line 1)" in result.stderr
    assert contents(url) == {}


def test_import_conflicts_fail_by_default(url: str, tmp_path: Path) -> None:
    seed(url, {"b": [{"role": "user", "content": "old"}]})
    source = tmp_path / "in.jsonl"
    source.write_text(jsonl([session_line("a", "new"), session_line("b", "new")]))
    result = invoke("import", str(source), "--url", url)
    assert result.exit_code == 1
    assert "line 2: session 'b' already exists" in result.stderr
    assert contents(url) == {"b": [Message.user("old")]}  # not even "a" was written


def test_import_conflicts_skip_and_replace(url: str, tmp_path: Path) -> None:
    seed(url, {"b": [{"role": "user", "content": "old"}]})
    source = tmp_path / "in.jsonl"
    source.write_text(jsonl([session_line("a", "new"), session_line("b", "new")]))
    skipped = invoke("import", str(source), "--url", url, "--on-conflict", "skip")
    assert skipped.exit_code == 0
    assert "(1 created, 0 replaced, 1 skipped, 0 already there)" in skipped.stderr
    assert contents(url) == {"b": [Message.user("old")], "a": [Message.user("new")]}
    replaced = invoke("import", str(source), "--url", url, "--on-conflict", "replace")
    assert replaced.exit_code == 0
    assert "(0 created, 2 replaced, 0 skipped, 0 already there)" in replaced.stderr
    assert contents(url) == {"a": [Message.user("new")], "b": [Message.user("new")]}


def test_import_keeps_timestamps_when_a_line_has_both(url: str, tmp_path: Path) -> None:
    rows = [
        {
            **session_line("kept"),
            "created_at": "2001-02-03T04:05:06.123456+02:00",
            "updated_at": "2002-01-01T00:00:00.000001Z",
        },
        {**session_line("half"), "created_at": "2001-02-03T04:05:06Z"},
        # Writers with skewed clocks: created_at is lowered to updated_at.
        {
            **session_line("skewed"),
            "created_at": "2003-01-01T00:00Z",
            "updated_at": "2002-01-01T00:00Z",
        },
    ]
    source = tmp_path / "in.jsonl"
    source.write_text(jsonl(rows))
    started = utc_now()
    result = invoke("import", str(source), "--url", url)
    assert result.exit_code == 0, result.output
    kept, half, skewed = records(url)
    assert kept.created_at == datetime(2001, 2, 3, 2, 5, 6, 123456, tzinfo=UTC)
    assert kept.updated_at == datetime(2002, 1, 1, 0, 0, 0, 1, tzinfo=UTC)
    assert half.created_at >= started and half.updated_at >= started  # stamped by the store
    assert skewed.created_at == skewed.updated_at == datetime(2002, 1, 1, tzinfo=UTC)


def test_import_missing_file_is_one_line(url: str, tmp_path: Path) -> None:
    result = invoke("import", str(tmp_path / "absent.jsonl"), "--url", url)
    assert result.exit_code == 1
    assert result.stderr.startswith("sessionstore: error: ")
    assert "absent.jsonl" in result.stderr
