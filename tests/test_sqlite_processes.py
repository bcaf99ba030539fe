"""Many processes on one SQLite file: concurrent writers, concurrent first opens, SIGKILL.

Each test runs small worker scripts (``tests/workers/sqlite_*.py``) with this
interpreter and checks the file afterwards, through the store and with raw
``sqlite3`` (``PRAGMA integrity_check``).
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from sessionstore import Message
from sessionstore.backends.sqlite import SQLiteSessionStore

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uses SIGKILL")

WORKERS = Path(__file__).parent / "workers"


def spawn(script: str, *arguments: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKERS / script), *map(str, arguments)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> str:
    """Wait for a worker and return its stdout; fail with its stderr if it failed."""
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    return stdout


def integrity(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        result: str = conn.execute("PRAGMA integrity_check").fetchone()[0]
    return result


def read_all(path: Path) -> dict[str, list[Message]]:
    """Every transcript in the file, read through the store."""

    async def read() -> dict[str, list[Message]]:
        async with SQLiteSessionStore(path) as store:
            transcripts: dict[str, list[Message]] = {}
            for record in await store.list():
                messages = await store.load(record.id)
                assert messages is not None
                assert record.message_count == len(messages)
                transcripts[record.id] = messages
            return transcripts

    return asyncio.run(read())


def test_eight_writer_processes_lose_nothing(tmp_path: Path) -> None:
    path, go = tmp_path / "shared.db", tmp_path / "go"
    processes, operations = 8, 120
    workers = [spawn("sqlite_writer.py", path, me, operations, go) for me in range(processes)]
    go.touch()
    expected_own = [json.loads(finish(worker)) for worker in workers]

    transcripts = read_all(path)
    assert set(transcripts) == {"shared", *(f"own-{me}" for me in range(processes))}
    for me in range(processes):
        assert [m.text for m in transcripts[f"own-{me}"]] == expected_own[me]

    texts = [m.text or "" for m in transcripts["shared"]]
    calls: dict[int, list[int]] = defaultdict(list)
    position = 0
    while position < len(texts):
        me, call, part = map(int, texts[position].split(":"))
        assert part == 0
        parts = 1 + call % 3
        # A call's messages are contiguous, and every one of them is there.
        assert texts[position : position + parts] == [f"{me}:{call}:{n}" for n in range(parts)]
        calls[me].append(call)
        position += parts
    # Each process's calls appear once each, in the order it made them.
    assert calls == {me: list(range(operations)) for me in range(processes)}
    assert integrity(path) == "ok"


def test_twenty_processes_open_a_new_file_at_once(tmp_path: Path) -> None:
    path, go = tmp_path / "fresh.db", tmp_path / "go"
    workers = [spawn("sqlite_opener.py", path, me, go) for me in range(20)]
    time.sleep(0.5)  # let the interpreters start so they race on the open
    go.touch()
    for worker in workers:
        assert finish(worker).strip() == "ok"
    transcripts = read_all(path)
    assert transcripts == {
        f"p{me}": [Message.user(f"saved by {me}"), Message.user(f"appended by {me}")]
        for me in range(20)
    }
    assert integrity(path) == "ok"


def check_transcript(session_id: str, messages: list[Message]) -> int:
    """Assert the transcript is one complete save plus complete appends; return its last gen."""
    assert messages, f"{session_id} is empty"
    metas: list[dict[str, Any]] = [m.metadata for m in messages]
    position, last_gen = 0, -1
    while position < len(metas):
        head = metas[position]
        assert head["kind"] == ("save" if position == 0 else "append"), (session_id, head)
        assert head["gen"] > last_gen, (session_id, head)
        block = metas[position : position + head["count"]]
        expected = [{**head, "i": i} for i in range(head["count"])]
        assert block == expected, f"{session_id}: torn write at {position}"
        last_gen = head["gen"]
        position += head["count"]
    return last_gen


def test_sigkill_never_tears_a_transcript(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    rng = random.Random(20261125)
    acknowledged: dict[str, int] = {}
    for round_number in range(30):
        worker = spawn("sqlite_crasher.py", path, (round_number + 1) * 1_000_000)
        assert worker.stdout is not None
        first = worker.stdout.readline()  # it is writing now
        assert first, worker.stderr.read() if worker.stderr else ""
        time.sleep(rng.uniform(0.0, 0.25))
        worker.send_signal(signal.SIGKILL)
        rest, _ = worker.communicate(timeout=30)
        assert worker.returncode == -signal.SIGKILL
        for line in (first + rest).splitlines(keepends=True):
            if line.endswith("\n"):
                session_id, generation = line.split()
                acknowledged[session_id] = max(acknowledged.get(session_id, 0), int(generation))

        assert integrity(path) == "ok"
        transcripts = read_all(path)
        for session_id, messages in transcripts.items():
            last_gen = check_transcript(session_id, messages)
            # Every write that returned before the kill is there (or overwritten later).
            assert last_gen >= acknowledged.get(session_id, 0), session_id
        assert set(acknowledged) <= set(transcripts)
