"""Many processes on one store, for every backend other processes can reach by URL.

Each test runs ``tests/workers/worker.py`` with this interpreter: writers at
once, first opens of a new store at once, writers killed with SIGKILL in the
middle of their writes. It then reads the store through its public API and
runs the backend's own consistency check (``store_urls.check``).
"""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from plugins._urls import StoreUrls
from sessionstore import Message, SessionRecord, open_store
from workers.worker import APPEND_ONLY, own_texts

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uses SIGKILL")

WORKER = Path(__file__).parent / "workers" / "worker.py"


def spawn(url: str, action: str, *arguments: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), url, action, *map(str, arguments)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> str:
    """Wait for a worker and return its stdout; fail with its stderr if it failed."""
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    return stdout


def read_all(url: str) -> dict[str, tuple[SessionRecord, list[Message]]]:
    """Every session's record and transcript, read through the store; the two must agree."""

    async def read() -> dict[str, tuple[SessionRecord, list[Message]]]:
        async with open_store(url) as store:
            sessions: dict[str, tuple[SessionRecord, list[Message]]] = {}
            for record in await store.list():
                messages = await store.load(record.id)
                assert messages is not None
                assert record.message_count == len(messages)
                assert await store.get(record.id) == record
                sessions[record.id] = (record, messages)
            assert await store.count() == len(sessions)
            return sessions

    return asyncio.run(read())


def texts_of(sessions: dict[str, tuple[SessionRecord, list[Message]]], key: str) -> list[str]:
    return [message.text or "" for message in sessions[key][1]]


def test_processes_appending_at_once_lose_nothing(store_urls: StoreUrls, tmp_path: Path) -> None:
    url, go = store_urls.new(), tmp_path / "go"
    processes, calls = 8, 120
    workers = [spawn(url, "append", me, calls, go) for me in range(processes)]
    go.touch()
    for worker in workers:
        finish(worker)

    sessions = read_all(url)
    assert set(sessions) == {"shared", *(f"own-{me}" for me in range(processes))}
    for me in range(processes):
        assert texts_of(sessions, f"own-{me}") == own_texts(me, calls)

    texts = texts_of(sessions, "shared")
    made: dict[int, list[int]] = defaultdict(list)
    position = 0
    while position < len(texts):
        me, call, part = map(int, texts[position].split(":"))
        assert part == 0
        parts = 1 + call % 3
        # A call's messages are contiguous, and every one of them is there.
        assert texts[position : position + parts] == [f"{me}:{call}:{n}" for n in range(parts)]
        made[me].append(call)
        position += parts
    # Each process's calls appear once each, in the order it made them.
    assert made == {me: list(range(calls)) for me in range(processes)}
    assert sessions["shared"][0].version == processes * calls
    store_urls.check(url)


def test_twenty_processes_open_a_new_store_at_once(store_urls: StoreUrls, tmp_path: Path) -> None:
    url, go = store_urls.new(), tmp_path / "go"
    workers = [spawn(url, "open", me, go) for me in range(20)]
    time.sleep(0.5)  # let the interpreters start so they race on the first open
    go.touch()
    for worker in workers:
        assert finish(worker).strip() == "ok"
    sessions = read_all(url)
    assert {key: messages for key, (_, messages) in sessions.items()} == {
        f"p{me}": [Message.user(f"saved by {me}"), Message.user(f"appended by {me}")]
        for me in range(20)
    }
    store_urls.check(url)


def check_not_torn(session_id: str, messages: list[Message], version: int) -> int:
    """Assert a crash worker's transcript is whole writes in order; return its last generation.

    Whole writes: one save (or, for an append-only session, an append), then
    appends, each with every message it had, generations rising. An
    append-only session's version counts exactly its writes.
    """
    assert messages, f"{session_id} is empty"
    metas: list[dict[str, Any]] = [message.metadata or {} for message in messages]
    first_kind = "append" if session_id.endswith(APPEND_ONLY) else "save"
    position, last_generation, writes = 0, -1, 0
    while position < len(metas):
        head = metas[position]
        kind = first_kind if position == 0 else "append"
        assert head["kind"] == kind, f"{session_id}: {head['kind']} where {kind} belongs"
        assert head["gen"] > last_generation, f"{session_id}: a write appears twice or late"
        block = metas[position : position + head["count"]]
        expected = [{**head, "i": i} for i in range(head["count"])]
        assert block == expected, f"{session_id}: torn write at {position}"
        last_generation, writes = head["gen"], writes + 1
        position += head["count"]
    # Every write adds one to the version; only appends keep all that came before.
    if first_kind == "append":
        assert version == writes, f"{session_id}: version {version} after {writes} appends"
    assert version >= writes, f"{session_id}: version {version} below {writes} writes"
    return last_generation


def test_the_torn_check_rejects_a_partial_or_misplaced_write() -> None:
    def write(generation: int, kind: str, count: int) -> list[Message]:
        tag = {"gen": generation, "kind": kind, "count": count}
        return [Message.user("x", metadata={**tag, "i": i}) for i in range(count)]

    whole = write(1, "save", 2) + write(2, "append", 3)
    assert check_not_torn("s", whole, 2) == 2
    with pytest.raises(AssertionError, match="torn"):
        check_not_torn("s", whole[:4], 2)
    with pytest.raises(AssertionError, match="save where append belongs"):
        check_not_torn("s", whole + write(3, "save", 1), 3)
    with pytest.raises(AssertionError, match="twice"):
        check_not_torn("s", whole + write(2, "append", 3), 3)
    assert check_not_torn(f"s{APPEND_ONLY}", write(4, "append", 1) + write(5, "append", 2), 2) == 5
    with pytest.raises(AssertionError, match="version 2 after 1 appends"):
        check_not_torn(f"s{APPEND_ONLY}", write(4, "append", 1), 2)
    with pytest.raises(AssertionError, match="append where save belongs"):
        check_not_torn("s", write(6, "append", 1), 1)


def read_acknowledged(output: str, acknowledged: dict[str, int]) -> None:
    """Record the newest write of each session the worker saw return (whole lines only)."""
    for line in output.splitlines(keepends=True):
        if line.endswith("\n"):
            session_id, generation = line.split()
            acknowledged[session_id] = max(acknowledged.get(session_id, 0), int(generation))


def test_sigkill_never_tears_a_transcript(store_urls: StoreUrls) -> None:
    url = store_urls.new()
    rng = random.Random(20261125)
    acknowledged: dict[str, int] = {}
    for round_number in range(30):
        worker = spawn(url, "crash", (round_number + 1) * 1_000_000)
        assert worker.stdout is not None
        first = worker.stdout.readline()  # its first write returned: it is writing now
        assert first, worker.stderr.read() if worker.stderr else "the writer never got to write"
        time.sleep(rng.uniform(0.0, 0.5))
        worker.send_signal(signal.SIGKILL)
        rest, _ = worker.communicate(timeout=30)
        assert worker.returncode == -signal.SIGKILL
        read_acknowledged(first + rest, acknowledged)

        store_urls.settle(url)
        store_urls.check(url)
        sessions = read_all(url)
        for session_id, (record, messages) in sessions.items():
            last_generation = check_not_torn(session_id, messages, record.version)
            # Every write that returned before the kill is there (or overwritten later).
            assert last_generation >= acknowledged.get(session_id, 0), session_id
        assert set(acknowledged) <= set(sessions)
