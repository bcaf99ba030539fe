"""Adapters for the server stores users would otherwise pick, on PostgreSQL and Redis.

Each side gets its own database (PostgreSQL: a database per side; Redis: a
logical database per side) on the same server, so one side's vacuum, cache or
keyspace never lands on another's timings. ``path`` is the side's URL.
"""

from __future__ import annotations

from typing import Any

from _peers import Adapter, AgentsAdapter, OursAdapter, _langchain_message


class OursServerAdapter(OursAdapter):
    """Our store on a server URL: the SQLite adapter's operations, opened by ``open_store``."""

    list_how = "-"

    def __init__(self, path: str, name: str) -> None:
        super().__init__(path)
        self.name = name

    async def open(self) -> None:
        from sessionstore import open_store

        self.store = open_store(self.path)  # type: ignore[assignment]
        await self.store.open()


class _AgentsSessions(AgentsAdapter):
    """An OpenAI Agents SDK session class on a server: one session object per id."""

    def make(self, session_id: str) -> Any:
        raise NotImplementedError

    def session(self, session_id: str) -> Any:
        found = self._sessions.get(session_id)
        if found is None:
            found = self._sessions[session_id] = self.make(session_id)
        return found

    async def close(self) -> None:
        self._sessions.clear()

    async def list_newest(self, limit: int) -> Any:
        raise NotImplementedError


class SQLAlchemySessionAdapter(_AgentsSessions):
    name = "openai-agents SQLAlchemySession (postgresql+asyncpg)"
    package = "openai-agents"
    layout = "Responses-API item dicts, one row per item; its tables, created by it"

    async def open(self) -> None:
        from agents.extensions.memory.sqlalchemy_session import SQLAlchemySession
        from sqlalchemy.ext.asyncio import create_async_engine

        url = self.path.replace("postgresql://", "postgresql+asyncpg://", 1)
        self._engine = create_async_engine(url)
        self._class = SQLAlchemySession
        self._sessions: dict[str, Any] = {}

    def make(self, session_id: str) -> Any:
        return self._class(session_id, engine=self._engine, create_tables=True)

    async def close(self) -> None:
        await super().close()
        await self._engine.dispose()


class RedisSessionAdapter(_AgentsSessions):
    name = "openai-agents RedisSession"
    package = "openai-agents"
    layout = "Responses-API item dicts, a Redis list per session"

    async def open(self) -> None:
        import redis.asyncio
        from agents.extensions.memory.redis_session import RedisSession

        self._client = redis.asyncio.from_url(self.path)
        self._class = RedisSession
        self._sessions: dict[str, Any] = {}

    def make(self, session_id: str) -> Any:
        return self._class(session_id, redis_client=self._client)

    async def close(self) -> None:
        await super().close()
        await self._client.aclose()


class PostgresHistoryAdapter(Adapter):
    name = "langchain-postgres PostgresChatMessageHistory"
    package = "langchain-postgres"
    layout = "LangChain messages, one JSONB row each (psycopg 3, one async connection)"
    list_how = "-"

    async def open(self) -> None:
        import psycopg
        from langchain_postgres import PostgresChatMessageHistory

        self._connection = await psycopg.AsyncConnection.connect(self.path, autocommit=True)
        self._class = PostgresChatMessageHistory
        await PostgresChatMessageHistory.acreate_tables(self._connection, "chat_history")

    async def close(self) -> None:
        await self._connection.close()

    def history(self, session_id: str) -> Any:
        import uuid

        key = str(uuid.uuid5(uuid.NAMESPACE_URL, session_id))  # it takes UUID session ids
        return self._class("chat_history", key, async_connection=self._connection)

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
        raise NotImplementedError


class RedisHistoryAdapter(Adapter):
    name = "langchain-redis RedisChatMessageHistory"
    package = "langchain-redis"
    layout = "LangChain messages as JSON documents (needs the RediSearch module)"
    list_how = "-"

    async def open(self) -> None:
        from langchain_redis import RedisChatMessageHistory

        self._class = RedisChatMessageHistory
        self.history("probe")  # creates its search index: fails without RediSearch

    def history(self, session_id: str) -> Any:
        return self._class(session_id, redis_url=self.path)

    def convert(self, message: dict[str, Any]) -> Any:
        return _langchain_message(message)

    async def append(self, session_id: str, message: Any) -> None:
        self.history(session_id).add_messages([message])

    async def load(self, session_id: str) -> Any:
        return self.history(session_id).messages

    async def overwrite(self, session_id: str, messages: list[Any]) -> None:
        history = self.history(session_id)
        history.clear()
        history.add_messages(messages)

    async def list_newest(self, limit: int) -> Any:
        raise NotImplementedError


POSTGRES_PEERS: list[type[Adapter]] = [SQLAlchemySessionAdapter, PostgresHistoryAdapter]
REDIS_PEERS: list[type[Adapter]] = [RedisSessionAdapter, RedisHistoryAdapter]
