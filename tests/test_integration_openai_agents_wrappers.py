"""``SessionStoreSession`` under the SDK's own wrappers: ``EncryptedSession`` and
``OpenAIResponsesCompactionSession``, whose compaction replaces history through our hooks."""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any, cast

import pytest
from agents import Agent, Runner, set_tracing_disabled
from agents.extensions.memory import EncryptedSession
from agents.memory import OpenAIResponsesCompactionSession
from agents.testing import ScriptedModel, assistant_message
from cryptography.fernet import Fernet

from sessionstore import SessionStore, open_store
from sessionstore.integrations.openai_agents import SessionStoreSession

set_tracing_disabled(True)  # offline: no trace export

SUMMARY: Any = {"type": "compaction", "encrypted_content": "summary-of-earlier-turns"}
KEY = Fernet.generate_key().decode("ascii")


class CompactClient:
    """Stands in for the OpenAI API's ``responses.compact`` (the only call compaction makes)."""

    def __init__(self, output: list[Any]) -> None:
        self.requests: list[dict[str, Any]] = []
        self.responses = SimpleNamespace(compact=self._compact)
        self._output = output

    async def _compact(self, **request: Any) -> Any:
        self.requests.append(request)
        return SimpleNamespace(output=self._output, usage=None)


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[SessionStore]:
    async with open_store(store_url) as opened:
        yield opened


def _items(*texts: str) -> list[Any]:
    return [{"role": "user", "content": text} for text in texts]


def _compacting(session: Any, client: CompactClient, **options: Any) -> Any:
    return OpenAIResponsesCompactionSession(
        "s", session, client=cast(Any, client), model="gpt-4.1", **options
    )


# -- EncryptedSession ----------------------------------------------------------------------------


async def test_encrypted_session_round_trips_and_stores_no_plaintext(store: SessionStore) -> None:
    session = EncryptedSession("s", SessionStoreSession("s", store), encryption_key=KEY)
    await session.add_items(_items("secret plan", "second"))
    assert await session.get_items() == _items("secret plan", "second")
    assert await session.get_items(limit=1) == _items("second")
    assert await session.pop_item() == _items("second")[0]
    stored = await store.load("s") or []
    assert len(stored) == 1 and "secret plan" not in stored[0].to_json().decode()
    assert stored[0].text_or_summary() == "[encrypted item]"
    await session.clear_session()
    assert await store.get("s") is None


# -- compaction ------------------------------------------------------------------------------------


async def test_manual_compaction_replaces_history_in_one_write(store: SessionStore) -> None:
    client = CompactClient([SUMMARY])
    session = _compacting(SessionStoreSession("s", store), client)
    await session.add_items(_items(*"abcd"))
    before = await store.get("s")
    await session.run_compaction({"force": True, "compaction_mode": "input"})
    assert await session.get_items() == [SUMMARY]
    after = await store.get("s")
    assert before is not None and after is not None
    assert after.version == before.version + 1  # one atomic save, not a clear then an add
    assert client.requests[0]["input"] == _items(*"abcd")


async def test_snapshot_replaces_its_suffix_atomically(store: SessionStore) -> None:
    session = SessionStoreSession("s", store)
    await session.add_items(_items(*"abcde"))
    snapshot = await session._get_compaction_snapshot(3)
    assert snapshot is not None and snapshot.items == _items("c", "d", "e")
    assert not snapshot.complete
    before = await store.get("s")
    assert await snapshot.replace_suffix(1, [SUMMARY])
    assert await session.get_items() == [*_items("a", "b", "c"), SUMMARY]
    after = await store.get("s")
    assert before is not None and after is not None and after.version == before.version + 1


async def test_snapshot_of_a_short_history_is_complete(store: SessionStore) -> None:
    session = SessionStoreSession("s", store)
    empty = await session._get_compaction_snapshot(3)
    assert empty is not None and empty.items == [] and empty.complete
    assert not await empty.replace_suffix(0, [SUMMARY])
    await session.add_items(_items("a", "b"))
    snapshot = await session._get_compaction_snapshot(3)
    assert snapshot is not None and snapshot.complete
    assert await snapshot.replace_suffix(0, [SUMMARY])
    assert await session.get_items() == [SUMMARY]


async def test_a_write_after_the_snapshot_makes_the_replacement_back_off(
    store: SessionStore,
) -> None:
    session = SessionStoreSession("s", store)
    await session.add_items(_items(*"abc"))
    snapshot = await session._get_compaction_snapshot(2)
    assert snapshot is not None
    await session.add_items(_items("late"))
    assert not await snapshot.replace_suffix(0, [SUMMARY])
    assert await session.get_items() == _items("a", "b", "c", "late")


async def test_automatic_compaction_after_a_runner_turn(store: SessionStore) -> None:
    client = CompactClient([SUMMARY])
    underlying = SessionStoreSession("s", store)
    session = _compacting(underlying, client, should_trigger_compaction=lambda context: True)
    agent = Agent(name="assistant", model=ScriptedModel([[assistant_message("Hi!")]]))
    result = await Runner.run(agent, "Hello", session=session)
    assert result.final_output == "Hi!"
    assert client.requests, "the runner did not compact"
    assert await underlying.get_items() == [SUMMARY]


async def test_encrypted_compaction_drops_expired_items_in_the_same_write(
    store: SessionStore,
) -> None:
    client = CompactClient([SUMMARY])
    underlying = SessionStoreSession("s", store)
    session = EncryptedSession("s", _compacting(underlying, client), encryption_key=KEY, ttl=60)
    expired = [_envelope_at(session, item, time.time() - 3600) for item in _items("old1", "old2")]
    await underlying.add_items(expired)
    await session.add_items(_items("kept", "recent"))
    snapshot = await session._get_compaction_snapshot(1)
    assert snapshot is not None and snapshot.items == _items("recent")
    assert await snapshot.replace_suffix(0, [SUMMARY])
    assert await session.get_items() == [*_items("kept"), SUMMARY]
    stored = await store.load("s") or []
    assert len(stored) == 2  # the expired envelopes went with the replacement


def _envelope_at(session: EncryptedSession, item: Any, moment: float) -> Any:
    token = session.cipher.encrypt_at_time(json.dumps(item).encode(), int(moment))
    return {"__enc__": 1, "v": 1, "kid": "hkdf-v1", "payload": token.decode()}


def test_an_sdk_release_without_the_private_helpers_still_works(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import agents.memory.session as sdk_session

    from sessionstore.integrations.openai_agents import _sdk

    monkeypatch.delattr(sdk_session, "_CompactionSnapshot")
    monkeypatch.delattr(sdk_session, "_await_mutation")
    try:
        fallback = importlib.reload(_sdk)
        assert fallback.CompactionSnapshot is None
        assert asyncio.run(fallback.await_mutation(asyncio.sleep(0, "done"))) == "done"
    finally:
        monkeypatch.undo()
        importlib.reload(_sdk)
    assert _sdk.CompactionSnapshot is sdk_session._CompactionSnapshot
