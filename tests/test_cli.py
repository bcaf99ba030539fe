"""The ``sessionstore`` command, in process through typer's CliRunner, on real SQLite files.

End-to-end runs of the installed console script live in ``test_cli_roundtrip.py``.
"""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from plugins.writers import busy_writers
from sessionstore import InMemorySessionStore, InvalidArgumentError, Message, open_store
from sessionstore._records import SessionRecord, utc_now
from sessionstore.cli._seen import SeenIds
from sessionstore.cli._util import scan_once
from sessionstore.cli.app import app
from sessionstore.cli.demo import DEMO_SESSIONS
from sessionstore.cli.maintenance import parse_duration
from sessionstore.cli.transfer import (
    copy_sessions,
    export_line,
    iter_sessions,
    validate_import,
)

RUNNER = CliRunner()


def invoke(*args: str, input: str | bytes | None = None) -> Result:
    """Run the command in process; unexpected exceptions propagate to the test."""
    result = RUNNER.invoke(app, list(args), input=input, catch_exceptions=False)
    return result


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


def seed(url: str, sessions: dict[str, list[Any]]) -> None:
    async def work() -> None:
        async with open_store(url) as store:
            for session_id, messages in sessions.items():
                await store.save(session_id, messages)

    asyncio.run(work())


def contents(url: str) -> dict[str, list[Message]]:
    """Every session of the store at ``url``, in listing order."""

    async def work() -> dict[str, list[Message]]:
        async with open_store(url) as store:
            result: dict[str, list[Message]] = {}
            for record in await store.list():
                messages = await store.load(record.id)
                assert messages is not None
                result[record.id] = messages
            return result

    return asyncio.run(work())


def records(url: str) -> list[SessionRecord]:
    """Every record of the store at ``url``, in listing order."""

    async def work() -> list[SessionRecord]:
        async with open_store(url) as store:
            return await store.list()

    return asyncio.run(work())


def stamps(url: str) -> list[tuple[str, int, datetime, datetime]]:
    """(id, message_count, created_at, updated_at) of every session, in listing order."""
    return [(r.id, r.message_count, r.created_at, r.updated_at) for r in records(url)]


def jsonl(rows: Sequence[Any]) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


def session_line(session_id: str, text: str = "hi") -> dict[str, Any]:
    return {"id": session_id, "messages": [{"role": "user", "content": text}]}


# -- the command without its extra ---------------------------------------------------


def test_missing_cli_extra_names_the_pip_install() -> None:
    code = (
        "import sys; sys.modules['typer'] = None; sys.modules['rich'] = None\n"
        "import sessionstore.cli\n"
        "sessionstore.cli.main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1
    assert "pip install 'sessionstore[cli]'" in result.stderr
    assert "Traceback" not in result.stderr


# -- list, show, count, delete, demo -------------------------------------------------


def test_demo_then_list_shows_the_sessions(url: str) -> None:
    result = invoke("demo", "--url", url)
    assert result.exit_code == 0, result.output
    assert "sessionstore show demo-weather --url" in result.stdout
    listed = invoke("list", "--url", url)
    assert listed.exit_code == 0
    for session_id, messages in DEMO_SESSIONS.items():
        assert session_id in listed.stdout
        assert f"{len(messages)}" in listed.stdout
    assert list(contents(url)) == list(DEMO_SESSIONS)


def test_list_json_pages_through_the_listing(url: str) -> None:
    seed(url, {f"s{i}": [{"role": "user", "content": str(i)}] for i in range(5)})
    result = invoke("list", "--url", url, "--json", "--limit", "2", "--offset", "1")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["id"] for row in rows] == ["s1", "s2"]
    assert set(rows[0]) == {"id", "message_count", "created_at", "updated_at", "version"}
    assert rows[0]["message_count"] == 1 and rows[0]["version"] == 1
    assert rows[0]["created_at"].endswith("Z")
    newest = invoke("list", "--url", url, "--json", "--newest-first", "--limit", "1")
    assert [json.loads(line)["id"] for line in newest.stdout.splitlines()] == ["s4"]
    everything = invoke("list", "--url", url, "--json", "--limit", "0")
    assert len(everything.stdout.splitlines()) == 5


def test_list_escapes_control_characters_and_markup_in_ids(url: str) -> None:
    seed(url, {"evil\x1b[31mred": [], "[bold]x[/bold]": []})
    result = invoke("list", "--url", url)
    assert "\x1b" not in result.stdout
    assert "evil\\x1b[31mred" in result.stdout
    assert "[bold]x[/bold]" in result.stdout


def test_show_renders_a_transcript_for_people(url: str) -> None:
    seed(url, DEMO_SESSIONS)
    weather = invoke("show", "demo-weather", "--url", url)
    assert weather.exit_code == 0
    out = weather.stdout
    for expected in ("system", "user", "assistant", "tool", "get_forecast", '"city": "Oslo"'):
        assert expected in out
    assert "(alice)" in out  # the message's name
    support = invoke("show", "demo-support", "--url", url).stdout
    assert "[image image/png, 70 bytes]" in support
    assert "ERROR" in support  # is_error tool result is marked
    assert '"channel": "discord"' in support  # metadata


def test_show_json_prints_the_stored_messages(url: str) -> None:
    seed(url, DEMO_SESSIONS)
    result = invoke("show", "demo-support", "--url", url, "--json")
    assert result.exit_code == 0
    messages = [Message.from_dict(item) for item in json.loads(result.stdout)]
    assert messages == [Message.from_dict(item) for item in DEMO_SESSIONS["demo-support"]]


def test_show_unknown_id_is_a_clear_error(url: str) -> None:
    result = invoke("show", "nope", "--url", url)
    assert result.exit_code == 1
    assert result.stderr.strip() == "sessionstore: error: no session with id 'nope'"
    assert result.stdout == ""


def test_count_and_delete(url: str) -> None:
    seed(url, {"a": [], "b": [], "c": []})
    assert invoke("count", "--url", url).stdout.strip() == "3"
    result = invoke("delete", "a", "missing", "c", "--url", url)
    assert result.exit_code == 0
    assert "deleted 2 sessions" in result.stdout
    assert "'missing'" in result.stderr
    assert list(contents(url)) == ["b"]


def test_invalid_id_is_one_line_and_deletes_nothing(url: str) -> None:
    seed(url, {"a": []})
    result = invoke("delete", "a", "x" * 2000, "--url", url)
    assert result.exit_code == 1
    assert "1024" in result.stderr and "Traceback" not in result.output
    assert list(contents(url)) == ["a"]


def test_passwords_in_urls_are_never_echoed() -> None:
    for store_url in ("bogus://user:hunter2pw@host/db", "redis://:hunter2pw@127.0.0.1:1/0"):
        result = invoke("count", "--url", store_url)
        assert result.exit_code == 1
        assert result.stderr.startswith("sessionstore: error: ")
        assert "hunter2pw" not in result.output


def test_url_defaults_to_the_environment(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(url, {"from-env": []})
    monkeypatch.setenv("SESSIONSTORE_URL", url)
    assert invoke("count").stdout.strip() == "1"


# -- export ---------------------------------------------------------------------------


def test_export_writes_one_session_per_line(url: str, tmp_path: Path) -> None:
    seed(url, DEMO_SESSIONS)
    target = tmp_path / "out.jsonl"
    result = invoke("export", "--url", url, "-o", str(target))
    assert result.exit_code == 0
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert [row["id"] for row in rows] == list(DEMO_SESSIONS)
    assert list(rows[0]) == ["id", "created_at", "updated_at", "messages"]
    assert rows[0]["messages"] == DEMO_SESSIONS["demo-weather"]
    assert len(rows[0]["created_at"]) == len("2026-01-02T03:04:05.000006Z")
    one = invoke("export", "demo-support", "--url", url)
    assert [json.loads(line)["id"] for line in one.stdout.splitlines()] == ["demo-support"]


def test_export_unknown_id_fails_before_writing(url: str, tmp_path: Path) -> None:
    seed(url, {"a": []})
    target = tmp_path / "out.jsonl"
    result = invoke("export", "a", "nope", "--url", url, "-o", str(target))
    assert result.exit_code == 1
    assert "no session with id 'nope'" in result.stderr
    assert not target.exists()
    assert not [path for path in tmp_path.iterdir() if path.name.endswith(".partial")]


def test_export_to_an_unwritable_place_is_one_line(url: str, tmp_path: Path) -> None:
    seed(url, {"a": []})
    target = tmp_path / "missing-dir" / "out.jsonl"
    result = invoke("export", "--url", url, "-o", str(target))
    assert result.exit_code == 1
    assert result.stderr == f"sessionstore: error: [Errno 2] cannot write {target}: " + (
        "No such file or directory\n"
    )


# -- import ---------------------------------------------------------------------------


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
    assert "(1 created, 0 replaced, 1 skipped)" in skipped.stderr
    assert contents(url) == {"b": [Message.user("old")], "a": [Message.user("new")]}
    replaced = invoke("import", str(source), "--url", url, "--on-conflict", "replace")
    assert replaced.exit_code == 0
    assert "(0 created, 2 replaced, 0 skipped)" in replaced.stderr
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


# -- copy -----------------------------------------------------------------------------


def test_export_of_a_store_in_use_has_every_session_once(url: str) -> None:
    """Sessions rewritten ahead of and behind the export's page are neither lost nor repeated."""
    ids = [f"s{i}" for i in range(40)]
    seed(url, {session_id: [{"role": "user", "content": session_id}] for session_id in ids})

    async def work() -> list[bytes]:
        lines: list[bytes] = []
        async with open_store(url) as store:
            async for record, messages in iter_sessions(store, page_size=4):
                lines.append(export_line(record, messages))
                if record.id not in ids:
                    continue  # created during the export
                index = ids.index(record.id)
                # Ahead: moves an unread session behind the end. Behind: brings a read one back.
                await store.append(ids[(index + 5) % len(ids)], [Message.user("ahead")])
                await store.save(ids[index // 2], [Message.assistant("behind")])
                await store.append(f"new-{index}", [Message.user("created meanwhile")])
        return lines

    lines = asyncio.run(work())
    exported = [json.loads(line)["id"] for line in lines]
    assert set(ids) <= set(exported)
    assert len(exported) == len(set(exported))
    problems, count, sessions = validate_import(io.BytesIO(b"".join(lines)))
    assert (problems, count, sessions) == ([], 0, len(exported))


@pytest.mark.parametrize("in_memory", [0, 3, 1000])
def test_seen_ids_remember_the_first_number_in_memory_and_on_disk(in_memory: int) -> None:
    ids = [f"s{i}" for i in range(20)] + ["é", " spaced ", "x" * 1024]
    with SeenIds(in_memory) as seen:
        for number, session_id in enumerate(ids):
            assert seen.setdefault(session_id, number) == number
        assert seen.on_disk == (in_memory < len(ids))
        for number, session_id in enumerate(ids):
            assert seen.setdefault(session_id, 100 + number) == number  # the first one stays
        assert len(seen) == len(ids)
    assert not seen.on_disk  # closed: the temporary database is gone


def test_export_and_import_check_keep_working_past_the_in_memory_ids(url: str) -> None:
    """With 2 ids in memory, the rest on disk: each session once, duplicates still found."""
    ids = [f"s{i}" for i in range(12)]
    seed(url, {session_id: [] for session_id in ids})

    async def work() -> list[str]:
        found: list[str] = []
        async with open_store(url) as store:
            async for record in scan_once(store, 3, in_memory=2):
                found.append(record.id)
                if len(found) == 4:  # read ones come around again, at the end
                    for session_id in found:
                        await store.append(session_id, [Message.user("again")])
        return found

    assert sorted(asyncio.run(work())) == sorted(ids)
    lines = jsonl([session_line(session_id) for session_id in [*ids, "s3", "s11"]])
    problems, count, sessions = validate_import(io.BytesIO(lines.encode()), in_memory=2)
    assert (count, sessions) == (2, 12)
    assert [str(p) for p in problems] == [
        "line 13: duplicate id 's3' (first on line 4)",
        "line 14: duplicate id 's11' (first on line 12)",
    ]


def test_copy_of_a_store_in_use_copies_every_session(url: str, tmp_path: Path) -> None:
    ids = [f"s{i}" for i in range(60)]
    seed(url, {session_id: [{"role": "user", "content": session_id}] for session_id in ids})
    target = f"sqlite:///{tmp_path / 'copy.db'}"

    async def work() -> int:
        async with (
            open_store(url) as source,
            open_store(target) as into,
            busy_writers(source, ids, tasks=1, step=7),  # writing all through the copy
        ):
            return await copy_sessions(source, into, page_size=5)

    copied = asyncio.run(work())
    assert copied == len(ids)
    assert set(contents(target)) == set(ids)


def test_copy_is_complete_and_safe_to_rerun(url: str, tmp_path: Path) -> None:
    seed(url, {f"s{i}": [{"role": "user", "content": f"m{i}"}] for i in range(7)})
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    seed(target, {"s3": [{"role": "user", "content": "stale"}], "other": []})
    first = invoke("copy", "--url", url, "--to", target)
    assert first.exit_code == 0, first.output
    assert "copied 7 sessions" in first.stderr
    assert "\x1b" not in first.stderr  # no progress bar when not on a terminal
    copied = contents(target)
    assert {k: v for k, v in copied.items() if k != "other"} == contents(url)
    again = invoke("copy", "--url", url, "--to", target)
    assert again.exit_code == 0
    assert contents(target) == copied  # same sessions, same transcripts, no duplicates


def test_copy_keeps_timestamps_and_order(url: str, tmp_path: Path) -> None:
    seed(url, {"a": [{"role": "user", "content": "one"}], "b": []})
    seed(url, {"a": [{"role": "user", "content": "two"}]})  # a: updated after created
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    assert invoke("copy", "--url", url, "--to", target).exit_code == 0
    assert stamps(target) == stamps(url)
    assert [r.version for r in records(target)] == [1, 1]  # versions are the target's own


def test_copy_to_a_store_without_restore_stamps_its_clock() -> None:
    class WithoutRestore(InMemorySessionStore):
        supports_restore = False

    old = datetime(2001, 2, 3, tzinfo=UTC)

    async def work() -> tuple[SessionRecord | None, list[Message] | None]:
        async with InMemorySessionStore() as source, WithoutRestore() as target:
            await source.restore("s", [Message.user("hi")], created_at=old, updated_at=old)
            assert await copy_sessions(source, target) == 1
            return await target.get("s"), await target.load("s")

    started = utc_now()
    record, messages = asyncio.run(work())
    assert record is not None and record.created_at >= started
    assert messages == [Message.user("hi")]


def test_copy_selected_ids(url: str, tmp_path: Path) -> None:
    seed(url, {"a": [], "b,c": [], "d": []})
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    result = invoke("copy", "--url", url, "--to", target, "--ids", "a,d", "--id", "b,c")
    assert result.exit_code == 0
    assert sorted(contents(target)) == ["a", "b,c", "d"]
    unknown = invoke("copy", "--url", url, "--to", target, "--id", "zzz")
    assert unknown.exit_code == 1 and "no session with id 'zzz'" in unknown.stderr
    same = invoke("copy", "--url", url, "--to", url)
    assert same.exit_code == 2


# -- doctor ---------------------------------------------------------------------------


def _sqlite_path(url: str) -> str:
    return url.removeprefix("sqlite:///")


def test_doctor_on_a_clean_store_exits_0(url: str) -> None:
    seed(url, DEMO_SESSIONS)
    result = invoke("doctor", "--url", url)
    assert result.exit_code == 0
    assert "checked 2 sessions: no problems found" in result.stdout


def test_doctor_finds_a_corrupt_transcript_and_changes_nothing(url: str) -> None:
    seed(url, DEMO_SESSIONS | {"fine": [{"role": "user", "content": "ok"}]})
    with sqlite3.connect(_sqlite_path(url)) as conn:
        conn.execute(
            "UPDATE segments SET payload = ? WHERE session_key = "
            "(SELECT key FROM sessions WHERE id = 'demo-support')",
            (b"[{not json",),
        )
    with open(_sqlite_path(url), "rb") as handle:
        before = handle.read()
    result = invoke("doctor", "--url", url)
    assert result.exit_code == 1
    assert "'demo-support': transcript does not decode" in result.stdout
    assert "'fine'" not in result.stdout and "'demo-weather'" not in result.stdout
    assert "checked 3 sessions: 1 with problems" in result.stdout
    with open(_sqlite_path(url), "rb") as handle:
        assert handle.read() == before


def test_doctor_finds_a_record_that_disagrees_with_its_transcript(url: str) -> None:
    seed(url, {"a": [{"role": "user", "content": "x"}], "b": []})
    with sqlite3.connect(_sqlite_path(url)) as conn:
        conn.execute("UPDATE sessions SET message_count = 5 WHERE id = 'a'")
    result = invoke("doctor", "--url", url)
    assert result.exit_code == 1
    assert "'a': record says 5 messages, transcript has 1" in result.stdout


# -- prune ----------------------------------------------------------------------------


def _age(url: str, session_id: str, days: int) -> None:
    """Make ``session_id`` look last written ``days`` ago (prune works on updated_at)."""
    with sqlite3.connect(_sqlite_path(url)) as conn:
        conn.execute(
            "UPDATE sessions SET updated_us = updated_us - ? WHERE id = ?",
            (days * 86_400 * 1_000_000, session_id),
        )


def test_prune_dry_run_deletes_nothing_then_prune_deletes(url: str) -> None:
    seed(url, {"old1": [], "old2": [], "new": []})
    _age(url, "old1", 40)
    _age(url, "old2", 40)
    dry = invoke("prune", "--url", url, "--older-than", "30d", "--dry-run")
    assert dry.exit_code == 0
    assert "would delete 2 sessions" in dry.stdout
    assert list(contents(url)) == ["old1", "old2", "new"]
    both = invoke("prune", "--url", url, "--older-than", "30d", "--keep-newest", "2", "--dry-run")
    assert "would delete 1 session " in both.stdout
    real = invoke("prune", "--url", url, "--older-than", "30d", "--keep-newest", "2")
    assert real.exit_code == 0 and "deleted 1 session " in real.stdout
    assert list(contents(url)) == ["old2", "new"]
    keep = invoke("prune", "--url", url, "--keep-newest", "1")
    assert "deleted 1 session" in keep.stdout
    assert list(contents(url)) == ["new"]


@pytest.mark.parametrize("bad", ["30", "d", "1.5h", "-1d", "30D", " 30d", "1d12h", "0d", "3y"])
def test_prune_rejects_bad_durations(url: str, bad: str) -> None:
    result = invoke("prune", "--url", url, "--older-than", bad)
    assert result.exit_code == 2
    assert "invalid duration" in result.output


def test_prune_needs_an_option(url: str) -> None:
    result = invoke("prune", "--url", url)
    assert result.exit_code == 2
    assert "--older-than, --keep-newest or both" in result.output


def test_parse_duration_units() -> None:
    assert parse_duration("45s") == timedelta(seconds=45)
    assert parse_duration("90m") == timedelta(minutes=90)
    assert parse_duration("12h") == timedelta(hours=12)
    assert parse_duration("30d") == timedelta(days=30)
    assert parse_duration("2w") == timedelta(weeks=2)
    with pytest.raises(InvalidArgumentError, match="too large"):
        parse_duration("99999999999999w")
