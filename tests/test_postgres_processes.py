"""PostgreSQL across processes: concurrent migration, concurrent appends, SIGKILLed writers."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from plugins.postgres import drop_prefix, unique_prefix
from sessionstore import Message
from sessionstore.backends.postgres import PostgresSessionStore
from sessionstore.backends.postgres.schema import MIGRATIONS

WORKER = Path(__file__).parent / "workers" / "postgres_worker.py"
CRASH_IDS = ("crash-0", "crash-1", "crash-2")


def start_worker(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(workers: list[subprocess.Popen[str]]) -> None:
    for worker in workers:
        _, stderr = worker.communicate(timeout=120)
        assert worker.returncode == 0, stderr


@pytest.fixture
async def prefix(postgres_url: str) -> AsyncIterator[str]:
    """A table prefix nobody has opened yet, dropped afterwards."""
    name = unique_prefix()
    yield name
    await drop_prefix(postgres_url, name)


async def test_processes_opening_a_fresh_prefix_at_once_all_succeed(
    postgres_url: str, prefix: str
) -> None:
    finish([start_worker("open", postgres_url, prefix) for _ in range(6)])
    async with PostgresSessionStore(postgres_url, table_prefix=prefix) as store:
        await store.append("a", [Message.user("works")])
        assert await store.count() == 1
    async with PostgresSessionStore(postgres_url, table_prefix=prefix) as store:
        assert await store.load("a") == [Message.user("works")]
    assert len(MIGRATIONS) >= 1


async def test_appends_from_many_processes_all_land_in_order(
    postgres_url: str, prefix: str
) -> None:
    processes, rounds = 6, 50
    finish(
        [
            start_worker("append", postgres_url, prefix, "shared", f"own-{n}", str(rounds), f"w{n}")
            for n in range(processes)
        ]
    )
    async with PostgresSessionStore(postgres_url, table_prefix=prefix) as store:
        shared = await store.load("shared")
        assert shared is not None
        assert len(shared) == processes * rounds * 2
        texts = [message.text or "" for message in shared]
        # Each call's two messages are contiguous ...
        for first, second in zip(texts[::2], texts[1::2], strict=True):
            assert first.endswith(":a") and second == first[:-1] + "b"
        # ... and each process's calls keep their order.
        for n in range(processes):
            mine = [int(t.split(":")[1]) for t in texts[::2] if t.startswith(f"w{n}:")]
            assert mine == list(range(rounds))
            own = await store.load(f"own-{n}")
            assert own is not None
            assert [m.text for m in own[::2]] == [f"w{n}:{r}:a" for r in range(rounds)]
        record = await store.get("shared")
        assert record is not None
        assert record.version == processes * rounds
        assert record.message_count == len(shared)


def check_not_torn(session_id: str, messages: list[Message]) -> None:
    """A crash-writer transcript: at most one leading save group, then whole append groups."""
    groups: list[list[dict[str, Any]]] = []
    for message in messages:
        meta = message.metadata
        assert isinstance(meta, dict), f"{session_id}: untagged message"
        if groups and groups[-1][0]["tag"] == meta["tag"]:
            groups[-1].append(meta)
        else:
            groups.append([meta])
    tags = [group[0]["tag"] for group in groups]
    assert len(set(tags)) == len(tags), f"{session_id}: a write appears twice: {tags}"
    for position, group in enumerate(groups):
        tag = group[0]["tag"]
        assert position == 0 or tag.startswith("append-"), f"{session_id}: save after data"
        assert [meta["i"] for meta in group] == list(range(group[0]["of"])), (
            f"{session_id}: write {tag} is torn"
        )


async def test_a_writer_killed_mid_write_never_leaves_a_torn_transcript(
    postgres_url: str, prefix: str
) -> None:
    rng = random.Random(20261125)
    async with PostgresSessionStore(postgres_url, table_prefix=prefix) as store:
        seen_writes = 0
        application = f"crash_{prefix}"
        separator = "&" if "?" in postgres_url else "?"
        worker_url = f"{postgres_url}{separator}application_name={application}"
        for _ in range(15):
            worker = start_worker("crash", worker_url, prefix)
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == "ready", worker.stderr
            try:
                await asyncio.sleep(rng.uniform(0.05, 0.5))  # let it write for a random while
            finally:
                os.kill(worker.pid, signal.SIGKILL)
                worker.wait(timeout=30)
            assert worker.returncode == -signal.SIGKILL
            # A call the client sent before it died still runs to its end on the
            # server; wait for those server processes to go before reading.
            await wait_for_backends_to_exit(postgres_url, application)
            for session_id in CRASH_IDS:
                messages = await store.load(session_id)
                record = await store.get(session_id)
                if messages is None:
                    assert record is None
                    continue
                assert record is not None
                assert record.message_count == len(messages)
                check_not_torn(session_id, messages)
                seen_writes += record.version
        assert seen_writes > 0, "the writer never got to write"


async def wait_for_backends_to_exit(url: str, application: str) -> None:
    """Poll pg_stat_activity until no server process serves ``application``."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        for _ in range(300):
            cursor = await conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                [application],
            )
            row = await cursor.fetchone()
            if row is not None and row[0] == 0:
                return
            await asyncio.sleep(0.05)
    raise AssertionError(f"server processes of {application} still running after 15 s")


def test_the_torn_check_rejects_a_partial_write() -> None:
    whole = [Message.user("x", metadata={"tag": "append-1", "i": i, "of": 3}) for i in range(3)]
    check_not_torn("ok", whole)
    with pytest.raises(AssertionError, match="torn"):
        check_not_torn("torn", whole[:2])
    with pytest.raises(AssertionError, match="save after data"):
        saved = [Message.user("x", metadata={"tag": "save-2", "i": 0, "of": 1})]
        check_not_torn("late-save", whole + saved)
