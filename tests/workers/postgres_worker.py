"""A separate process driving a PostgresSessionStore, for the multi-process tests.

Usage: ``postgres_worker.py MODE URL PREFIX [ARGS...]`` where MODE is

- ``open``: open the store (running migrations) and exit;
- ``append SHARED_ID OWN_ID ROUNDS WORKER``: append ROUNDS two-message batches
  to SHARED_ID and to OWN_ID, each message tagged with WORKER and its round;
- ``crash``: print ``ready``, then save and append tagged transcripts forever
  until killed (the crash test SIGKILLs it mid-write).
"""

from __future__ import annotations

import asyncio
import itertools
import random
import sys
from typing import Any

from sessionstore.backends.postgres import PostgresSessionStore

#: Session ids the crash writer uses.
CRASH_IDS = ("crash-0", "crash-1", "crash-2")


async def _append(store: PostgresSessionStore, args: list[str]) -> None:
    shared, own, rounds, worker = args[0], args[1], int(args[2]), args[3]
    for round_number in range(rounds):
        batch = [
            {"role": "user", "content": f"{worker}:{round_number}:a"},
            {"role": "assistant", "content": f"{worker}:{round_number}:b"},
        ]
        await store.append(shared, batch)
        await store.append(own, batch)


def _tagged(tag: str, size: int, filler: int) -> list[dict[str, Any]]:
    pad = "x" * filler
    return [
        {"role": "user", "content": pad, "metadata": {"tag": tag, "i": index, "of": size}}
        for index in range(size)
    ]


async def _crash(store: PostgresSessionStore) -> None:
    rng = random.Random()
    print("ready", flush=True)
    for generation in itertools.count():
        session_id = rng.choice(CRASH_IDS)
        size = rng.randint(1, 40)
        filler = rng.choice((10, 1_000, 50_000))
        if rng.random() < 0.3:
            await store.save(session_id, _tagged(f"save-{generation}", size, filler))
        else:
            await store.append(session_id, _tagged(f"append-{generation}", size, filler))


async def main(argv: list[str]) -> None:
    """Run the MODE named in ``argv``."""
    mode, url, prefix, *rest = argv
    async with PostgresSessionStore(
        url, table_prefix=prefix, min_connections=1, max_connections=2
    ) as store:
        if mode == "append":
            await _append(store, rest)
        elif mode == "crash":
            await _crash(store)
        elif mode != "open":
            raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
