"""Redis under several processes: concurrent appends, and writers killed mid-write."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from plugins.redis import RedisServer, delete_prefix, unique_prefix
from sessionstore import Message, RedisSessionStore

WORKERS = Path(__file__).parent / "workers"
SAVE_SIZE = 40
APPEND_SIZE = 20


@pytest.fixture
async def shared_prefix(redis_server: RedisServer) -> AsyncIterator[str]:
    value = unique_prefix()
    yield value
    await delete_prefix(redis_server.url, value)


def _texts(messages: list[Message] | None) -> list[str]:
    assert messages is not None
    return [message.text or "" for message in messages]


async def test_concurrent_appends_from_processes_all_land_in_order(
    redis_server: RedisServer, shared_prefix: str
) -> None:
    workers, calls = 6, 50
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            str(WORKERS / "redis_appender.py"),
            redis_server.url,
            shared_prefix,
            "shared",
            str(worker),
            str(calls),
            stderr=subprocess.PIPE,
        )
        for worker in range(workers)
    ]
    for process in processes:
        _, stderr = await process.communicate()
        assert process.returncode == 0, stderr.decode()

    async with RedisSessionStore(redis_server.url, key_prefix=shared_prefix) as store:
        shared = _texts(await store.load("shared"))
        assert len(shared) == workers * calls * 2
        record = await store.get("shared")
        assert record is not None
        assert record.version == workers * calls
        assert record.message_count == len(shared)
        # Each call's two messages are adjacent; each worker's calls keep their order.
        for position in range(0, len(shared), 2):
            assert shared[position].endswith(" p0")
            assert shared[position + 1] == shared[position][:-1] + "1"
        for worker in range(workers):
            mine = [text for text in shared if text.startswith(f"w{worker} ")]
            expected = [f"w{worker} c{call} p{part}" for call in range(calls) for part in (0, 1)]
            assert mine == expected
            assert _texts(await store.load(f"own-{worker}")) == expected
        assert await store.count() == workers + 1


async def _wait_until_quiet(store: RedisSessionStore) -> None:
    """Return once two listings 50 ms apart agree: no write from the dead client is pending."""
    previous = await store.list()
    for _ in range(100):
        await asyncio.sleep(0.05)
        current = await store.list()
        if current == previous:
            return
        previous = current
    raise AssertionError("the store kept changing after the writer was killed")


async def _check_untorn(store: RedisSessionStore) -> None:
    saved = _texts(await store.load("saved"))
    generations = {text.split(" ")[0] for text in saved}
    assert len(generations) == 1, "a saved transcript mixes generations"
    assert [text.split(" ")[1] for text in saved] == [str(i) for i in range(SAVE_SIZE)]
    record = await store.get("saved")
    assert record is not None and record.message_count == len(saved)

    appended = _texts(await store.load("appended"))
    size = APPEND_SIZE
    assert len(appended) % size == 0, "an append landed partially"
    for start in range(0, len(appended), size):
        batch = appended[start : start + size]
        assert len({text.split(" ")[0] for text in batch}) == 1
        assert [text.split(" ")[1] for text in batch] == [str(i) for i in range(size)]
    record = await store.get("appended")
    assert record is not None
    assert record.message_count == len(appended)
    assert record.version == len(appended) // size


async def test_writer_killed_mid_write_never_leaves_a_torn_transcript(
    redis_server: RedisServer, shared_prefix: str
) -> None:
    rng = random.Random(1234)
    async with RedisSessionStore(redis_server.url, key_prefix=shared_prefix) as store:
        for round_number in range(15):
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                str(WORKERS / "redis_crasher.py"),
                redis_server.url,
                shared_prefix,
                str(round_number * 1_000_000),
                str(SAVE_SIZE),
                str(APPEND_SIZE),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            assert process.stdout is not None
            line = await process.stdout.readline()
            if line.strip() != b"ready":
                _, stderr = await process.communicate()
                pytest.fail(f"crasher did not start: {stderr.decode()}")
            await asyncio.sleep(rng.uniform(0.0, 0.15))
            os.kill(process.pid, signal.SIGKILL)
            await process.wait()
            # A script the crasher sent just before it died may still be waiting in
            # the server's socket buffer; let the server drain it before reading.
            await _wait_until_quiet(store)
            await _check_untorn(store)
