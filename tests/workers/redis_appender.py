"""Worker for the multi-process test: append to one shared session and to its own.

Usage: redis_appender.py URL KEY_PREFIX SHARED_ID WORKER CALLS
Each call appends two messages, ``w<worker> c<call> p0`` and ``... p1``, so the
parent can check that every call's messages landed, contiguous and in order.
"""

from __future__ import annotations

import asyncio
import sys

from sessionstore import Message, RedisSessionStore


async def main(url: str, prefix: str, shared_id: str, worker: int, calls: int) -> None:
    async with RedisSessionStore(url, key_prefix=prefix) as store:
        for call in range(calls):
            batch = [Message.user(f"w{worker} c{call} p{part}") for part in range(2)]
            await store.append(shared_id, batch)
            await store.append(f"own-{worker}", batch)


if __name__ == "__main__":
    url, prefix, shared_id, worker, calls = sys.argv[1:6]
    asyncio.run(main(url, prefix, shared_id, int(worker), int(calls)))
