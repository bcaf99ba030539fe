"""Where does ``SQLiteSessionStore`` spend its time? Profiles one operation, both threads.

The event-loop side (validation, encoding, the hand-off) is profiled with
pyinstrument; the store's worker threads (the group-commit writer, the
reader) with cProfile, attached through ``threading.setprofile`` so nothing
inside the store is patched. Usage::

    python benchmarks/profile_sqlite.py save --n 10000
    python benchmarks/profile_sqlite.py concurrent
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from types import FrameType
from typing import Any

from pyinstrument import Profiler

from _harness import text_messages
from sessionstore import ListOptions, Message, SQLiteSessionStore

_thread_profiles: dict[str, cProfile.Profile] = {}


def _attach(frame: FrameType, event: str, arg: Any) -> None:
    """First profile event in a new thread: hand that thread over to its own cProfile."""
    sys.setprofile(None)
    profile = cProfile.Profile()
    _thread_profiles[threading.current_thread().name] = profile
    profile.enable()


async def _prepare(store: SQLiteSessionStore, case: str, n: int, sessions: int) -> Any:
    typed = [Message.from_dict(d) for d in text_messages(n + 1000)]
    if case == "list":
        for start in range(0, sessions, 1000):
            batch = range(start, min(sessions, start + 1000))
            await asyncio.gather(*(store.append(f"list-{i}", [typed[0]]) for i in batch))
    else:
        await store.save("s", typed[:n])
    return typed


def _workload(
    store: SQLiteSessionStore, case: str, n: int, typed: list[Message]
) -> Callable[[], Awaitable[object]]:
    counter = iter(range(10**9))

    async def concurrent() -> None:
        async def task(t: int) -> None:
            for _ in range(100):
                await store.append(f"c{next(counter)}-{t}", [typed[1]])

        await asyncio.gather(*(task(t) for t in range(64)))

    cases: dict[str, Callable[[], Awaitable[object]]] = {
        "save": lambda: store.save("s", typed[:n]),
        "load": lambda: store.load("s"),
        "append": lambda: store.append("s", [typed[next(counter) % len(typed)]]),
        "list": lambda: store.list_paginated(ListOptions(limit=50, newest_first=True)),
        "concurrent": concurrent,
    }
    return cases[case]


async def profile(case: str, n: int, sessions: int, repeats: int) -> None:
    with tempfile.TemporaryDirectory(prefix="profile-sqlite-") as directory:
        threading.setprofile(_attach)  # only threads started from now on: the store's workers
        store = SQLiteSessionStore(os.path.join(directory, "s.db"))
        await store.open()
        threading.setprofile(None)
        typed = await _prepare(store, case, n, sessions)
        operation = _workload(store, case, n, typed)
        await operation()
        for profile_ in _thread_profiles.values():
            profile_.clear()
        profiler = Profiler(interval=0.0001)
        started = time.perf_counter()
        profiler.start()
        for _ in range(repeats):
            await operation()
        profiler.stop()
        elapsed = time.perf_counter() - started
        await store.close()
    print(f"{case}: {repeats} runs, {elapsed / repeats * 1e3:.3f} ms each (profiled)\n")
    print("== event-loop thread (pyinstrument) ==")
    print(profiler.output_text(unicode=False, color=False))
    for name, profile_ in _thread_profiles.items():
        buffer = io.StringIO()
        pstats.Stats(profile_, stream=buffer).sort_stats("tottime").print_stats(15)
        print(f"== worker thread {name} (cProfile, by own time) ==")
        print(buffer.getvalue())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("case", choices=["save", "load", "append", "list", "concurrent"])
    parser.add_argument("--n", type=int, default=10_000, help="transcript length")
    parser.add_argument("--sessions", type=int, default=100_000, help="sessions for 'list'")
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args(argv)
    repeats = 5 if args.case == "concurrent" else args.repeats
    asyncio.run(profile(args.case, args.n, args.sessions, repeats))


if __name__ == "__main__":
    main(sys.argv[1:])
