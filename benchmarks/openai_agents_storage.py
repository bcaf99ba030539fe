"""An OpenAI Agents SDK turn on SessionStoreSession against the SDK's own SQLiteSession.

A turn is what the Runner asks of its session: read the history (``get_items()``,
or the last 20 with ``session_settings.limit``), then store the turn's new items
(``add_items`` of a user message and the assistant's reply). Each side has its
own SQLite file (ours: ``sqlite:///…/ours.db`` by default, or ``--url``), both
in WAL mode with ``synchronous=FULL``; sessions hold N items of agent traffic
(every tenth pair a function call and its output), written two items per
``add_items`` as a Runner writes them, and grow by two per turn.
The sides are interleaved in a fresh random order every round; the ratio is
the median of per-round ``SQLiteSession / ours`` (higher is better for us).

It also prints what each side stores per item (JSON payload bytes), for plain
items and for items as the Runner writes them (ids, statuses, annotations),
which we keep verbatim next to the readable view.

    python benchmarks/openai_agents_storage.py --quick
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from _harness import (
    agent_messages,
    argument_parser,
    emit,
    format_range,
    format_seconds,
    machine_description,
    markdown_table,
    measure_interleaved,
    package_version,
    paired_ratio,
)
from _peers import AgentsAdapter

os.environ.setdefault("OPENAI_API_KEY", "sk-benchmark-dummy")

#: The SDK's SessionSettings.limit of the "last 20" rows.
TAIL = 20


def sdk_items(count: int) -> list[Any]:
    """``count`` items of agent traffic in the SDK's input-item form."""
    convert = AgentsAdapter("").convert
    return [convert(message) for message in agent_messages(count)]


def runner_items(count: int) -> list[Any]:
    """Items shaped as the Runner stores model output: ids, statuses, annotations."""
    result: list[Any] = []
    for index, item in enumerate(sdk_items(count)):
        if item.get("role") == "assistant":
            part = {"type": "output_text", "text": item["content"], "annotations": []}
            item = {"id": f"msg_{index:024d}", "type": "message", "role": "assistant"}
            item |= {"status": "completed", "content": [part]}
        elif item.get("type") == "function_call":
            item = {"id": f"fc_{index:024d}", **item, "status": "completed"}
        result.append(item)
    return result


async def populate(session: Any, history: list[Any]) -> None:
    """Write ``history`` as the Runner would have: a turn (two items) at a time."""
    await session.clear_session()
    for start in range(0, len(history), 2):
        await session.add_items(history[start : start + 2])


async def measure(sizes: list[int], repeats: int, url: str | None, folder: Path) -> list[list[str]]:
    from agents import SessionSettings, SQLiteSession

    from sessionstore.integrations import close_shared_stores
    from sessionstore.integrations.openai_agents import SessionStoreSession

    ours_url = url or f"sqlite:///{folder / 'ours.db'}"
    rows: list[list[str]] = []
    turn = sdk_items(2)
    for size in sizes:
        history = sdk_items(size)
        sid = f"bench-{size}"
        for limit in (None, TAIL):
            settings = SessionSettings(limit=limit)
            ours = SessionStoreSession(sid, ours_url, session_settings=settings)
            theirs = SQLiteSession(sid, folder / "sdk.db", session_settings=settings)
            if limit is None:
                await populate(ours, history)
                await populate(theirs, history)

            async def our_turn(session: Any = ours) -> None:
                await session.get_items()
                await session.add_items(turn)

            async def their_turn(session: Any = theirs) -> None:
                await session.get_items()
                await session.add_items(turn)

            stats = await measure_interleaved(
                [("ours", our_turn), ("sdk", their_turn)], repeats=repeats
            )
            theirs.close()
            what = "get_items()" if limit is None else f"get_items() with limit {limit}"
            rows.append(
                [
                    f"{what} + add_items(2), N = {size:,}",
                    f"{format_seconds(stats['ours'].median)} ({format_range(stats['ours'])})",
                    f"{format_seconds(stats['sdk'].median)} ({format_range(stats['sdk'])})",
                    f"{paired_ratio(stats['sdk'], stats['ours']):.2f}x",
                ]
            )
    await close_shared_stores()
    return rows


def storage_rows() -> list[list[str]]:
    from sessionstore.integrations.openai_agents import item_to_message

    rows: list[list[str]] = []
    for label, items in (("plain items", sdk_items(1000)), ("Runner items", runner_items(1000))):
        theirs = sum(len(json.dumps(item)) for item in items)
        ours = sum(len(item_to_message(item).to_json()) for item in items)
        verbatim = sum(1 for item in items if item_to_message(item).metadata is not None)
        rows.append(
            [
                label,
                f"{ours / len(items):.0f} B",
                f"{theirs / len(items):.0f} B",
                f"{ours / theirs:.2f}x",
                f"{verbatim / len(items):.0%}",
            ]
        )
    return rows


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--url", default=None, help="our store's URL (default: a SQLite file)")
    parser.add_argument("--repeats", type=int, default=None)
    options = parser.parse_args()
    sizes = options.sizes or ([10, 1000] if options.quick else [10, 1000, 10000])
    repeats = options.repeats or (20 if options.quick else 100)
    with tempfile.TemporaryDirectory(prefix="bench-agents-") as folder:
        rows = asyncio.run(measure(sizes, repeats, options.url, Path(folder)))
    report = "\n\n".join(
        [
            "# OpenAI Agents SDK session storage: SessionStoreSession vs SQLiteSession",
            machine_description()
            + f"; openai-agents {package_version('openai-agents')}; {repeats} rounds; medians",
            markdown_table(
                ["one turn", "SessionStoreSession", "SQLiteSession", "SQLiteSession / ours"], rows
            ),
            "Stored per item (JSON payload; ours: the message with its view and, where the "
            "view does not reproduce the item, the item verbatim):",
            markdown_table(
                ["items", "ours", "SQLiteSession", "ours / theirs", "kept verbatim"],
                storage_rows(),
            ),
        ]
    )
    emit(report, options.output)


if __name__ == "__main__":
    main()
