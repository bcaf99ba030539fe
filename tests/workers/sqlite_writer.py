"""Worker for test_sqlite_processes: appends to a shared session and writes its own one.

Usage: sqlite_writer.py DB_PATH WORKER_NUMBER OPERATIONS GO_FILE

Waits for GO_FILE to appear, then runs two tasks at once: one appends
``"<worker>:<call>:<part>"`` messages (1 to 3 per call) to ``shared`` in call
order, the other saves and appends to ``own-<worker>``. Prints the texts its
own session must hold at the end, as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from sessionstore import Message
from sessionstore.backends.sqlite import SQLiteSessionStore


async def main(path: str, me: int, operations: int) -> None:
    expected: list[str] = []
    async with SQLiteSessionStore(path) as store:

        async def shared() -> None:
            for call in range(operations):
                parts = 1 + call % 3
                texts = [f"{me}:{call}:{part}" for part in range(parts)]
                await store.append("shared", [Message.user(text) for text in texts])

        async def own() -> None:
            for call in range(operations):
                text = f"own {me} {call}"
                if call % 10 == 0:
                    await store.save(f"own-{me}", [Message.user(text)])
                    expected[:] = [text]
                else:
                    await store.append(f"own-{me}", [Message.user(text)])
                    expected.append(text)

        await asyncio.gather(shared(), own())
    print(json.dumps(expected))


def wait_for(go: Path) -> None:
    """Block until the parent creates ``go``, so that all workers start together."""
    while not go.exists():
        time.sleep(0.005)


if __name__ == "__main__":
    wait_for(Path(sys.argv[-1]))
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
