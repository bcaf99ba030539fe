"""Worker for the crash test: write large transcripts forever until SIGKILLed.

Usage: redis_crasher.py URL KEY_PREFIX START_GENERATION SAVE_SIZE APPEND_SIZE
Every generation saves ``saved`` as SAVE_SIZE messages tagged with the generation and
appends one batch of APPEND_SIZE tagged messages to ``appended``. Prints ``ready``
after its first generation so the parent kills it while it is busy writing.
"""

from __future__ import annotations

import asyncio
import sys

from sessionstore import Message, RedisSessionStore

FILLER = "x" * 20_000


async def main(url: str, prefix: str, generation: int, save_size: int, append_size: int) -> None:
    async with RedisSessionStore(url, key_prefix=prefix) as store:
        first = True
        while True:
            saved = [Message.user(f"g{generation} {i} {FILLER}") for i in range(save_size)]
            await store.save("saved", saved)
            batch = [Message.user(f"g{generation} {i} {FILLER}") for i in range(append_size)]
            await store.append("appended", batch)
            if first:
                print("ready", flush=True)
                first = False
            generation += 1


if __name__ == "__main__":
    url, prefix, generation, save_size, append_size = sys.argv[1:6]
    asyncio.run(main(url, prefix, int(generation), int(save_size), int(append_size)))
