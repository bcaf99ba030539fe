"""Worker for test_sqlite_processes: writes self-describing transcripts until it is killed.

Usage: sqlite_crasher.py DB_PATH FIRST_GENERATION

Four tasks write concurrently, each to its own sessions. Every write gets a
new generation number; each of its messages carries ``{"gen", "kind",
"count", "i"}`` so a reader can tell a complete write from a torn one. A
session's first write is always a save. After each write returns, the worker
prints ``<session> <generation>`` (a durable acknowledgement).
"""

from __future__ import annotations

import asyncio
import random
import sys

from sessionstore import Message
from sessionstore.backends.sqlite import SQLiteSessionStore

TASKS = 4
SESSIONS_PER_TASK = 3


async def main(path: str, first_generation: int) -> None:
    generation = first_generation
    rng = random.Random(first_generation)
    async with SQLiteSessionStore(path) as store:
        known: set[str] = {record.id for record in await store.list()}

        async def writer(task: int) -> None:
            nonlocal generation
            while True:
                generation += 1
                gen = generation
                session_id = f"t{task}-s{rng.randrange(SESSIONS_PER_TASK)}"
                kind = "save" if session_id not in known or rng.random() < 0.4 else "append"
                count = rng.randint(1, 60) if kind == "save" else rng.randint(1, 5)
                body = "x" * rng.choice([10, 1_000, 20_000])
                messages = [
                    Message.user(body, metadata={"gen": gen, "kind": kind, "count": count, "i": i})
                    for i in range(count)
                ]
                if kind == "save":
                    await store.save(session_id, messages)
                else:
                    await store.append(session_id, messages)
                known.add(session_id)
                sys.stdout.write(f"{session_id} {gen}\n")
                sys.stdout.flush()

        await asyncio.gather(*(writer(task) for task in range(TASKS)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
