"""Our LangChain chat history against LangChain's ``SQLChatMessageHistory``, in one run.

Both sides are ``BaseChatMessageHistory`` objects used through LangChain's own
interface, each on its own SQLite file in WAL mode with ``synchronous=FULL``:
``SessionStoreChatMessageHistory`` on a ``SQLiteSessionStore``, and
``langchain-community``'s ``SQLChatMessageHistory`` (a sync SQLAlchemy engine
for the sync methods, an ``sqlite+aiosqlite`` one for the async methods, the
pragmas set on every connection). Messages are what a chat model returns: AI
messages carry an id, response metadata and token usage, and every tenth pair
is a tool call and its ``ToolMessage``. Operations on a session of N messages:
one chat turn as ``RunnableWithMessageHistory.invoke`` does it (read the history,
add the human message and the answer), and the sync and async reads and adds
alone. Sides are interleaved (order shuffled each round); the table gives medians,
min-max and the median of paired ratios ours/theirs (lower is better). The
storage section gives bytes on disk per message after the WAL is checkpointed,
and what keeping LangChain's own serialisation costs in our payloads.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import tempfile
from collections.abc import Awaitable, Callable
from typing import Any

from _harness import (
    Stats,
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
from _peers import _langchain_message, _set_pragmas

OURS = "SessionStoreChatMessageHistory (SQLiteSessionStore)"
THEIRS = "SQLChatMessageHistory (langchain-community)"
TABLE = "message_store"


def chat_model_messages(count: int) -> list[Any]:
    """Agent traffic as LangChain messages, AI messages as a chat model returns them."""
    from langchain_core.messages import AIMessage

    messages = [_langchain_message(message) for message in agent_messages(count)]
    for index, message in enumerate(messages):
        if isinstance(message, AIMessage):
            message.id = f"lc_run--{index:08d}-5f0e-4c4b-9d1e-3a2b1c0d9e8f"
            message.response_metadata = {
                "model_name": "gpt-4o-mini-2024-07-18",
                "finish_reason": "tool_calls" if message.tool_calls else "stop",
                "system_fingerprint": "fp_0123456789",
            }
            message.usage_metadata = {
                "input_tokens": 900 + index,
                "output_tokens": 60,
                "total_tokens": 960 + index,
            }
    return messages


class Sides:
    """The two histories' factories, each side on its own file."""

    def __init__(self, directory: str) -> None:
        from sqlalchemy import create_engine, event
        from sqlalchemy.ext.asyncio import create_async_engine

        from sessionstore import SQLiteSessionStore

        self.ours_path = os.path.join(directory, "ours.db")
        self.theirs_path = os.path.join(directory, "theirs.db")
        self.store = SQLiteSessionStore(self.ours_path, durability="full")
        self.engine = create_engine(f"sqlite:///{self.theirs_path}")
        self.async_engine = create_async_engine(f"sqlite+aiosqlite:///{self.theirs_path}")
        for engine in (self.engine, self.async_engine.sync_engine):
            event.listen(engine, "connect", _set_pragmas)

    def ours(self, session_id: str) -> Any:
        from sessionstore.integrations.langchain import SessionStoreChatMessageHistory

        return SessionStoreChatMessageHistory(session_id, self.store)

    def theirs(self, session_id: str, *, sync: bool = True) -> Any:
        from langchain_community.chat_message_histories import SQLChatMessageHistory

        engine = self.engine if sync else self.async_engine
        return SQLChatMessageHistory(session_id, connection=engine, table_name=TABLE)

    async def close(self) -> None:
        await self.store.close()
        self.engine.dispose()
        await self.async_engine.dispose()


def _operations(history: Any, turn: list[Any]) -> dict[str, Callable[[], Awaitable[Any]]]:
    async def chat_turn() -> None:
        history.messages  # noqa: B018 - the read a turn makes
        history.add_messages(turn)

    async def read() -> None:
        history.messages  # noqa: B018

    async def add() -> None:
        history.add_messages(turn)

    async def aread() -> None:
        await history.aget_messages()

    async def aadd() -> None:
        await history.aadd_messages(turn)

    return {
        "chat turn (sync)": chat_turn,
        "read (sync)": read,
        "add 2 (sync)": add,
        "read (async)": aread,
        "add 2 (async)": aadd,
    }


async def run_sizes(sides: Sides, sizes: list[int], repeats: int) -> list[list[str]]:
    """Each operation on a session of N per side; rows of the timing table."""
    rows: list[list[str]] = []
    messages = chat_model_messages(max(sizes) + 2)
    turn = messages[-2:]
    for n in sizes:
        ours_history, theirs_sync = sides.ours(f"s-{n}"), sides.theirs(f"s-{n}")
        theirs_async = sides.theirs(f"s-{n}", sync=False)
        ours_history.add_messages(messages[:n])
        theirs_sync.add_messages(messages[:n])
        assert len(ours_history.messages) == len(theirs_sync.messages) == n
        ours_ops = _operations(ours_history, turn)
        theirs_ops = _operations(theirs_sync, turn)
        theirs_ops.update(
            {k: v for k, v in _operations(theirs_async, turn).items() if "async" in k}
        )
        for operation in ours_ops:
            results = await measure_interleaved(
                [(OURS, ours_ops[operation]), (THEIRS, theirs_ops[operation])], repeats
            )
            rows.extend(_rows(operation, n, results))
    return rows


def _rows(operation: str, n: int, results: dict[str, Stats]) -> list[list[str]]:
    ours = results[OURS]
    return [
        [
            operation,
            f"{n:,}",
            name,
            format_seconds(stats.median),
            format_range(stats),
            f"{paired_ratio(stats, ours):.2f}x",
        ]
        for name, stats in results.items()
    ]


def _file_bytes(path: str) -> int:
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    return sum(os.path.getsize(p) for p in (path, f"{path}-wal") if os.path.exists(p))


async def storage(count: int) -> list[str]:
    """Bytes per message on disk for ``count`` messages, and our payload with and without copies."""
    from sessionstore import Message
    from sessionstore.formats import from_langchain

    messages = chat_model_messages(count)
    with tempfile.TemporaryDirectory(prefix="bench-langchain-size-") as directory:
        sides = Sides(directory)
        sides.ours("size").add_messages(messages)
        sides.theirs("size").add_messages(messages)
        await sides.close()
        ours, theirs = _file_bytes(sides.ours_path), _file_bytes(sides.theirs_path)
    converted = from_langchain(messages)
    kept = sum(len(m.to_json()) for m in converted)
    views = sum(len(Message(m.role, m.content, m.name).to_json()) for m in converted)
    copies = sum(1 for m in converted if m.metadata is not None)
    return [
        f"- on disk, {count:,} messages: ours {ours / count:,.0f} B/message, "
        f"theirs {theirs / count:,.0f} B/message (ours/theirs = {ours / theirs:.2f}x)",
        f"- our payload: {kept / count:,.0f} B/message with LangChain's serialisation kept for "
        f"{copies:,} of {count:,} messages (every AI message: id, metadata, usage), "
        f"{views / count:,.0f} B/message for the readable view alone ({kept / views:.2f}x)",
    ]


async def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
    sizes = args.sizes or ([10, 100] if args.quick else [10, 100, 1000])
    repeats = args.repeats or (8 if args.quick else 30)
    with tempfile.TemporaryDirectory(prefix="bench-langchain-") as directory:
        sides = Sides(directory)
        try:
            rows = await run_sizes(sides, sizes, repeats)
        finally:
            await sides.close()
    size_lines = await storage(1000 if args.quick else 5000)
    header = ["operation", "N", "history", "median", "min-max", "vs ours"]
    versions = ", ".join(
        f"{name} {package_version(name)}"
        for name in ("sessionstore", "langchain-core", "langchain-community", "SQLAlchemy")
    )
    report = "\n".join(
        [
            "# LangChain chat history: ours vs SQLChatMessageHistory",
            "",
            f"{machine_description()}; {versions}; {repeats} interleaved repeats.",
            "",
            markdown_table(header, rows),
            "",
            "## Storage",
            "",
            *size_lines,
        ]
    )
    emit(report, args.output)


if __name__ == "__main__":
    asyncio.run(main())
