"""Writers that keep a store busy while a test reads it (listing or scanning under load)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from sessionstore import Message, SessionStore

__all__ = ["busy_writers"]


@asynccontextmanager
async def busy_writers(
    store: SessionStore, ids: Sequence[str], tasks: int = 4, step: int = 11
) -> AsyncIterator[None]:
    """While the block runs, ``tasks`` tasks append to sessions of ``ids`` one after another.

    Each write moves its session to the end of the listing. The writers stop,
    and their errors surface, when the block exits.
    """
    stop = asyncio.Event()

    async def writer(offset: int) -> None:
        turn = 0
        while not stop.is_set():
            await store.append(ids[(turn * step + offset) % len(ids)], [Message.user("busy")])
            turn += 1

    running = [asyncio.create_task(writer(offset)) for offset in range(tasks)]
    try:
        yield
    finally:
        stop.set()
        await asyncio.gather(*running)
