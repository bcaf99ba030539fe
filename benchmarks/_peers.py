"""Adapters giving our store and each peer the same five operations, through its public API.

Every adapter converts the benchmark's agent messages to its own native form
*before* timing (users hold native objects), and opens its SQLite file in WAL
mode with ``synchronous=FULL``. Where a peer has no way to list sessions the
adapter runs the SQL a user would have to write against the peer's tables.
"""

from __future__ import annotations

import json
import os
import sqlite3
from abc import ABC, abstractmethod
from typing import Any, Literal

from _harness import WorkerThread

os.environ.setdefault("OPENAI_API_KEY", "sk-benchmark-dummy")  # agents checks it on import


class Adapter(ABC):
    """One store under test; ``path`` is its own SQLite file."""

    name: str = ""
    package: str = ""
    layout: str = ""
    list_how: str = ""
    #: A yardstick rather than a store users would pick: shown, but not a "peer" in targets.
    reference: bool = False

    def __init__(self, path: str) -> None:
        self.path = path

    @abstractmethod
    def convert(self, message: dict[str, Any]) -> Any:
        """The message in this store's native form."""

    async def open(self) -> None:  # noqa: B027 - optional hook
        """Create or connect."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    @abstractmethod
    async def append(self, session_id: str, message: Any) -> None:
        """Append one native message."""

    @abstractmethod
    async def load(self, session_id: str) -> Any:
        """The whole transcript, decoded."""

    @abstractmethod
    async def overwrite(self, session_id: str, messages: list[Any]) -> None:
        """Replace the transcript, the store's own way."""

    @abstractmethod
    async def list_newest(self, limit: int) -> Any:
        """The ``limit`` most recently written sessions."""


class _RawSQLLister:
    """A read connection on one worker thread, for peers without a listing API."""

    def __init__(self, path: str, sql: str) -> None:
        self._path, self._sql = path, sql
        self._worker = WorkerThread("lister")
        self._connection: sqlite3.Connection | None = None

    async def run(self, limit: int) -> list[Any]:
        def work() -> list[Any]:
            if self._connection is None:
                self._connection = sqlite3.connect(self._path, check_same_thread=False)
            return self._connection.execute(self._sql, (limit,)).fetchall()

        return await self._worker.run(work)

    async def close(self) -> None:
        if self._connection is not None:
            await self._worker.run(self._connection.close)
        self._worker.shutdown()


class OursAdapter(Adapter):
    name = "sessionstore SQLiteSessionStore"
    package = "sessionstore"
    layout = "our schema; Message structs (msgspec)"
    list_how = "list_paginated(ListOptions(limit=50, newest_first=True))"
    #: "full" everywhere but in append_floor's informational row.
    durability: Literal["full", "normal"] = "full"

    async def open(self) -> None:
        from sessionstore import SQLiteSessionStore

        self.store = SQLiteSessionStore(self.path, durability=self.durability)
        await self.store.open()

    async def close(self) -> None:
        await self.store.close()

    def convert(self, message: dict[str, Any]) -> Any:
        from sessionstore import Message

        return Message.from_dict(message)

    async def append(self, session_id: str, message: Any) -> None:
        await self.store.append(session_id, [message])

    async def load(self, session_id: str) -> Any:
        return await self.store.load(session_id)

    async def overwrite(self, session_id: str, messages: list[Any]) -> None:
        await self.store.save(session_id, messages)

    async def list_newest(self, limit: int) -> Any:
        from sessionstore import ListOptions

        return await self.store.list_paginated(ListOptions(limit=limit, newest_first=True))


class AgentsAdapter(Adapter):
    name = "openai-agents SQLiteSession"
    package = "openai-agents"
    layout = "Responses-API item dicts (tool_use -> function_call item, its text dropped)"
    list_how = (
        "no listing API: raw SQL `SELECT ... FROM agent_sessions ORDER BY updated_at DESC "
        "LIMIT 50` (no index on updated_at)"
    )

    async def open(self) -> None:
        from agents import SQLiteSession  # not installed: the peer is skipped, not a crash

        self._session_class = SQLiteSession
        self._sessions: dict[str, Any] = {}
        self._lister = _RawSQLLister(
            self.path,
            "SELECT session_id, created_at, updated_at FROM agent_sessions "
            "ORDER BY updated_at DESC LIMIT ?",
        )

    def session(self, session_id: str) -> Any:
        found = self._sessions.get(session_id)
        if found is None:
            found = self._sessions[session_id] = self._session_class(session_id, self.path)
        return found

    def release(self, session_id: str) -> None:
        """Close one session object (used while populating thousands of sessions)."""
        session = self._sessions.pop(session_id, None)
        if session is not None:
            session.close()

    async def close(self) -> None:
        for session_id in list(self._sessions):
            self.release(session_id)
        await self._lister.close()

    def convert(self, message: dict[str, Any]) -> Any:
        content = message["content"]
        if isinstance(content, str):
            return {"role": message["role"], "content": content}
        block = content[-1]
        if block["type"] == "tool_use":
            return {
                "type": "function_call",
                "call_id": block["id"],
                "name": block["name"],
                "arguments": json.dumps(block["input"]),
            }
        return {
            "type": "function_call_output",
            "call_id": block["tool_use_id"],
            "output": block["content"],
        }

    async def append(self, session_id: str, message: Any) -> None:
        await self.session(session_id).add_items([message])

    async def load(self, session_id: str) -> Any:
        return await self.session(session_id).get_items()

    async def overwrite(self, session_id: str, messages: list[Any]) -> None:
        session = self.session(session_id)
        await session.clear_session()
        await session.add_items(messages)

    async def list_newest(self, limit: int) -> Any:
        return await self._lister.run(limit)


def _langchain_message(message: dict[str, Any]) -> Any:
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

    content = message["content"]
    if isinstance(content, str):
        kind = HumanMessage if message["role"] == "user" else AIMessage
        return kind(content=content)
    if message["role"] == "tool":
        block = content[0]
        return ToolMessage(content=block["content"], tool_call_id=block["tool_use_id"])
    text = " ".join(b["text"] for b in content if b["type"] == "text")
    calls = [
        {"name": b["name"], "args": b["input"], "id": b["id"]}
        for b in content
        if b["type"] == "tool_use"
    ]
    return AIMessage(content=text, tool_calls=calls)


def _set_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


class LangChainAdapter(Adapter):
    name = "langchain-community SQLChatMessageHistory"
    package = "langchain-community"
    layout = "LangChain messages; async engine sqlite+aiosqlite (SQLAlchemy)"
    list_how = (
        "no listing API: raw SQL `SELECT session_id, MAX(id) FROM message_store GROUP BY "
        "session_id ORDER BY 2 DESC LIMIT 50`"
    )

    async def open(self) -> None:
        from langchain_community.chat_message_histories.sql import DefaultMessageConverter
        from sqlalchemy import event
        from sqlalchemy.ext.asyncio import create_async_engine

        self._engine = create_async_engine(f"sqlite+aiosqlite:///{self.path}")
        event.listen(self._engine.sync_engine, "connect", _set_pragmas)
        self._converter = DefaultMessageConverter("message_store")
        self._histories: dict[str, Any] = {}
        self._lister = _RawSQLLister(
            self.path,
            "SELECT session_id, MAX(id) FROM message_store GROUP BY session_id "
            "ORDER BY 2 DESC LIMIT ?",
        )

    def history(self, session_id: str) -> Any:
        from langchain_community.chat_message_histories import SQLChatMessageHistory

        found = self._histories.get(session_id)
        if found is None:
            found = self._histories[session_id] = SQLChatMessageHistory(
                session_id,
                connection=self._engine,
                table_name="message_store",
                custom_message_converter=self._converter,
            )
        return found

    def release(self, session_id: str) -> None:
        self._histories.pop(session_id, None)

    async def close(self) -> None:
        await self._engine.dispose()
        await self._lister.close()

    def convert(self, message: dict[str, Any]) -> Any:
        return _langchain_message(message)

    async def append(self, session_id: str, message: Any) -> None:
        await self.history(session_id).aadd_messages([message])

    async def load(self, session_id: str) -> Any:
        return await self.history(session_id).aget_messages()

    async def overwrite(self, session_id: str, messages: list[Any]) -> None:
        history = self.history(session_id)
        await history.aclear()
        await history.aadd_messages(messages)

    async def list_newest(self, limit: int) -> Any:
        return await self._lister.run(limit)


class LangGraphAdapter(Adapter):
    name = "langgraph AsyncSqliteSaver"
    package = "langgraph-checkpoint-sqlite"
    layout = (
        "thread_id = session id; transcript = LangChain messages in channel 'messages' of "
        "the latest checkpoint; append/overwrite = read latest + put a new checkpoint"
    )
    list_how = (
        "alist() lists checkpoints, not threads: raw SQL `SELECT thread_id, MAX(checkpoint_id) "
        "FROM checkpoints GROUP BY thread_id ORDER BY 2 DESC LIMIT 50`"
    )

    async def open(self) -> None:
        import aiosqlite
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        self._connection = await aiosqlite.connect(self.path)
        await self._connection.execute("PRAGMA journal_mode=WAL")
        await self._connection.execute("PRAGMA synchronous=FULL")
        self.saver = AsyncSqliteSaver(self._connection)
        await self.saver.setup()
        self._lister = _RawSQLLister(
            self.path,
            "SELECT thread_id, MAX(checkpoint_id) FROM checkpoints GROUP BY thread_id "
            "ORDER BY 2 DESC LIMIT ?",
        )

    async def close(self) -> None:
        await self._connection.close()
        await self._lister.close()

    def convert(self, message: dict[str, Any]) -> Any:
        return _langchain_message(message)

    async def _put(self, session_id: str, update: Any) -> None:
        from langgraph.checkpoint.base import create_checkpoint, empty_checkpoint

        config: Any = {"configurable": {"thread_id": session_id, "checkpoint_ns": ""}}
        latest = await self.saver.aget_tuple(config)
        base: Any
        if latest is None:
            base, step, parent, old = empty_checkpoint(), -1, config, []
        else:
            base, step, parent = latest.checkpoint, latest.metadata.get("step", 0), latest.config
            old = base["channel_values"].get("messages", [])
        version = self.saver.get_next_version(base["channel_versions"].get("messages"), None)
        checkpoint = create_checkpoint(base, None, step + 1)
        checkpoint["channel_values"] = {"messages": update(old)}
        checkpoint["channel_versions"] = {**base["channel_versions"], "messages": version}
        metadata: Any = {"source": "loop", "step": step + 1, "parents": {}}
        await self.saver.aput(parent, checkpoint, metadata, {"messages": version})

    async def append(self, session_id: str, message: Any) -> None:
        await self._put(session_id, lambda old: [*old, message])

    async def load(self, session_id: str) -> Any:
        config: Any = {"configurable": {"thread_id": session_id, "checkpoint_ns": ""}}
        latest = await self.saver.aget_tuple(config)
        return None if latest is None else latest.checkpoint["channel_values"]["messages"]

    async def overwrite(self, session_id: str, messages: list[Any]) -> None:
        await self._put(session_id, lambda _old: list(messages))

    async def list_newest(self, limit: int) -> Any:
        return await self._lister.run(limit)


class RawRowsAdapter(Adapter):
    name = "raw sqlite3 rows (reference, not a peer)"
    package = "sqlite3"
    layout = (
        "hand-written sqlite3 + orjson, a row per message plus a session row, one transaction "
        "per call on one worker thread: the floor for one durable commit per append"
    )
    list_how = "ORDER BY seq DESC LIMIT 50 on an indexed sessions table"
    reference = True

    async def open(self) -> None:
        from _raw_sqlite import RawRows

        self.raw = RawRows(self.path, "full")
        await self.raw.open()

    async def close(self) -> None:
        await self.raw.close()

    def convert(self, message: dict[str, Any]) -> Any:
        return message

    async def append(self, session_id: str, message: Any) -> None:
        await self.raw.append(session_id, [message])

    async def load(self, session_id: str) -> Any:
        return await self.raw.load(session_id)

    async def overwrite(self, session_id: str, messages: list[Any]) -> None:
        await self.raw.save(session_id, messages)

    async def list_newest(self, limit: int) -> Any:
        return await self.raw.list_newest(limit)


PEERS: list[type[Adapter]] = [AgentsAdapter, LangChainAdapter, LangGraphAdapter, RawRowsAdapter]
