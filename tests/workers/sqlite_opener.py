"""Worker for test_sqlite_processes: opens a (brand-new) database once GO_FILE appears.

Usage: sqlite_opener.py DB_PATH WORKER_NUMBER GO_FILE

Writes ``p<worker>`` and prints ``ok`` when every step succeeded.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from sessionstore import Message
from sessionstore.backends.sqlite import SQLiteSessionStore


async def main(path: str, me: int) -> None:
    async with SQLiteSessionStore(path) as store:
        await store.save(f"p{me}", [Message.user(f"saved by {me}")])
        await store.append(f"p{me}", [Message.user(f"appended by {me}")])
    print("ok")


def wait_for(go: Path) -> None:
    """Block until the parent creates ``go``, so that all workers start together."""
    while not go.exists():
        time.sleep(0.001)


if __name__ == "__main__":
    wait_for(Path(sys.argv[-1]))
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
