"""``sessionstore copy``: store to store, complete, safe to re-run, timestamps and order kept."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cli_support import contents, invoke, records, seed, stamps
from plugins.writers import busy_writers
from sessionstore import InMemorySessionStore, Message, open_store
from sessionstore._records import SessionRecord, utc_now
from sessionstore.cli.transfer import copy_sessions


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


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
