"""A separate process writing to the store at a URL, for the multi-process tests of every backend.

Usage: ``worker.py URL ACTION ARGS...``, the store opened with ``open_store(URL)``:

- ``open ME GO_FILE``: once GO_FILE exists, open the store, save ``p<ME>`` and
  append to it; print ``ok``.
- ``append ME CALLS GO_FILE``: once GO_FILE exists, run two tasks at once: one
  appends CALLS calls of ``<ME>:<call>:<part>`` messages (1 to 3 per call) to
  ``shared``, the other writes ``own-<ME>`` (a save every 10th call, appends
  between; see ``own_texts``).
- ``crash FIRST_GENERATION``: write until killed (see ``crash``).
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from pathlib import Path

from sessionstore import Message, SessionStore, open_store

#: Writers in one crash worker, each on sessions of its own.
CRASH_TASKS = 4
#: The id ending of the crash worker's sessions that only ever get appends.
APPEND_ONLY = "-appended"
#: Message sizes of the crash worker's writes: big ones make a kill likely to land mid-write.
BODY_SIZES = [10, 1_000, 20_000, 50_000]


def own_texts(me: int, calls: int) -> list[str]:
    """What ``own-<me>`` holds after ``append``: the texts since its last save."""
    last_save = (calls - 1) // 10 * 10
    return [f"own {me} {call}" for call in range(last_save, calls)]


async def open_once(store: SessionStore, me: int) -> None:
    """Save and append to ``p<me>``: the first open of a new store, raced by many processes."""
    await store.save(f"p{me}", [Message.user(f"saved by {me}")])
    await store.append(f"p{me}", [Message.user(f"appended by {me}")])
    print("ok")


async def append(store: SessionStore, me: int, calls: int) -> None:
    """Append to ``shared`` and write ``own-<me>`` at the same time."""

    async def shared() -> None:
        for call in range(calls):
            texts = [f"{me}:{call}:{part}" for part in range(1 + call % 3)]
            await store.append("shared", [Message.user(text) for text in texts])

    async def own() -> None:
        for call in range(calls):
            message = Message.user(f"own {me} {call}")
            if call % 10 == 0:
                await store.save(f"own-{me}", [message])
            else:
                await store.append(f"own-{me}", [message])

    await asyncio.gather(shared(), own())


def tagged(generation: int, kind: str, count: int, body: str) -> list[Message]:
    """One write's messages, each tagged so a reader can tell a whole write from a torn one."""
    return [
        Message.user(body, metadata={"gen": generation, "kind": kind, "count": count, "i": i})
        for i in range(count)
    ]


async def crash(store: SessionStore, first_generation: int) -> None:
    """Write until killed: ``CRASH_TASKS`` tasks, each saving and appending to its own sessions.

    Every write gets a new generation number, larger than any of the previous
    worker's. A session's first write is a save, except for the sessions whose
    id ends in ``APPEND_ONLY``, which only get appends (small ones: they only
    grow). After each write returns, the worker prints ``<session> <generation>``:
    an acknowledged write.
    """
    generations = iter(range(first_generation, first_generation + 10**9))
    rng = random.Random(first_generation)
    known: set[str] = {record.id for record in await store.list()}

    async def writer(task: int) -> None:
        sessions = [f"t{task}-s0", f"t{task}-s1", f"t{task}-s2", f"t{task}{APPEND_ONLY}"]
        while True:
            generation, session = next(generations), rng.choice(sessions)
            if session.endswith(APPEND_ONLY):
                kind, count, body = "append", rng.randint(1, 20), rng.choice([10, 1_000])
            elif session not in known or rng.random() < 0.4:
                kind, count, body = "save", rng.randint(1, 60), rng.choice(BODY_SIZES)
            else:
                kind, count, body = "append", rng.randint(1, 20), rng.choice(BODY_SIZES)
            write = store.save if kind == "save" else store.append
            await write(session, tagged(generation, kind, count, "x" * body))
            known.add(session)
            sys.stdout.write(f"{session} {generation}\n")
            sys.stdout.flush()

    await asyncio.gather(*(writer(task) for task in range(CRASH_TASKS)))


def wait_for(go: Path) -> None:
    """Block until the parent creates ``go``, so that all workers start together."""
    while not go.exists():
        time.sleep(0.001)


async def main(url: str, action: str, numbers: list[int]) -> None:
    """Run ``action`` on the store at ``url``."""
    async with open_store(url) as store:
        if action == "open":
            await open_once(store, *numbers)
        elif action == "append":
            await append(store, *numbers)
        else:
            await crash(store, *numbers)


if __name__ == "__main__":
    url, action, *arguments = sys.argv[1:]
    if action not in ("open", "append", "crash"):
        raise SystemExit(f"unknown action {action!r}")
    if action != "crash":
        wait_for(Path(arguments.pop()))
    asyncio.run(main(url, action, [int(argument) for argument in arguments]))
