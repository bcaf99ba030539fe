"""``SessionStoreConversationStore``: PydanticAI's ``ConversationStore`` on every backend.

The standard is PydanticAI's own documented use: ``load`` (or a new
``Conversation``), ``agent.run(..., conversation=...)`` on its ``TestModel``,
``save(result)``; and what its ``ConversationStore`` promises: revisions that
refuse a lost update, windows read as the tail, branches kept and reachable,
forks that outlive their source, scopes, listing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from pydantic_ai import Agent
from pydantic_ai.conversation import Conversation
from pydantic_ai.conversation_store import ConversationConflict, ConversationStore
from pydantic_ai.messages import ModelMessagesTypeAdapter, ModelRequest
from pydantic_ai.models.test import TestModel

from pydantic_ai_support import EVERY_KIND, dump
from sessionstore import SessionStore, open_store
from sessionstore.integrations._shared import close_shared_stores
from sessionstore.integrations.pydantic_ai import (
    PYDANTIC_AI_KEY,
    SessionStoreConversationStore,
)


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[SessionStore]:
    async with open_store(store_url) as opened:
        yield opened


def _id() -> str:
    return f"c-{uuid.uuid4().hex[:12]}"


def _prompts(conversation: Conversation | None) -> list[str]:
    assert conversation is not None
    return [
        str(part.content)
        for message in conversation.messages
        if isinstance(message, ModelRequest)
        for part in message.parts
        if part.part_kind == "user-prompt"
    ]


async def _turn(conversations: ConversationStore, cid: str, prompt: str) -> Conversation:
    conversation = await conversations.load(cid) or Conversation(conversation_id=cid)
    result = await Agent(TestModel()).run(prompt, conversation=conversation)
    await conversations.save(result)
    return result.conversation


async def test_agent_turns_continue_a_stored_conversation(store: SessionStore) -> None:
    cid = _id()
    for prompt in ["one", "two", "three"]:
        # A store object per turn, as a server builds one per request: nothing is cached.
        await _turn(SessionStoreConversationStore(store), cid, prompt)
    loaded = await SessionStoreConversationStore(store).load(cid)
    assert _prompts(loaded) == ["one", "two", "three"]
    assert loaded is not None and loaded.usage.requests == 3
    window = await SessionStoreConversationStore(store).load(cid, limit=2)
    assert window is not None and dump(window.messages) == dump(loaded.messages[-2:])
    # The session is a readable transcript; each message keeps its PydanticAI dump.
    plain = await store.load(cid) or []
    assert [m.role for m in plain] == ["user", "assistant"] * 3
    assert all(PYDANTIC_AI_KEY in m.metadata for m in plain)


async def test_every_part_kind_is_saved_and_loaded_losslessly(store: SessionStore) -> None:
    conversations, cid = SessionStoreConversationStore(store), _id()
    await conversations.save(Conversation(messages=list(EVERY_KIND), conversation_id=cid))
    loaded = await SessionStoreConversationStore(store).load(cid)
    assert loaded is not None
    expected = ModelMessagesTypeAdapter.validate_python(dump(EVERY_KIND))
    assert dump(loaded.messages) == dump(expected)


async def test_a_stale_revision_is_refused(store: SessionStore) -> None:
    conversations, cid = SessionStoreConversationStore(store), _id()
    await _turn(conversations, cid, "one")
    first = await conversations.load(cid)
    second = await conversations.load(cid)
    assert first is not None and second is not None
    await conversations.save(await Agent(TestModel()).run("a", conversation=first))
    with pytest.raises(ConversationConflict):
        await conversations.save(await Agent(TestModel()).run("b", conversation=second))
    with pytest.raises(ConversationConflict):  # a new conversation under a taken id
        await conversations.save(Conversation(conversation_id=cid))
    assert _prompts(await conversations.load(cid)) == ["one", "a"]


async def test_concurrent_saves_of_one_revision_land_once(store: SessionStore) -> None:
    conversations, cid = SessionStoreConversationStore(store), _id()
    await _turn(conversations, cid, "start")
    loaded = [await conversations.load(cid) for _ in range(4)]
    results = [await Agent(TestModel()).run(f"r{n}", conversation=c) for n, c in enumerate(loaded)]
    outcomes = await asyncio.gather(
        *(conversations.save(result) for result in results), return_exceptions=True
    )
    assert sum(not isinstance(outcome, BaseException) for outcome in outcomes) == 1
    assert all(isinstance(o, (list, ConversationConflict)) for o in outcomes)
    assert len(_prompts(await conversations.load(cid))) == 2


async def test_branches_are_kept_and_forks_outlive_their_source(store: SessionStore) -> None:
    conversations, cid = SessionStoreConversationStore(store), _id()
    for prompt in ["one", "two"]:
        await _turn(conversations, cid, prompt)
    before = await conversations.load(cid)
    assert before is not None
    branched = await conversations.branch(cid, at=2, expected_revision=before.revision)
    await conversations.save(await Agent(TestModel()).run("edited", conversation=branched))
    assert _prompts(await conversations.load(cid)) == ["one", "edited"]
    record = await SessionStoreConversationStore(store).read_record(cid)
    assert record is not None and len(record.branches) == 1
    fresh = SessionStoreConversationStore(store)  # knows nothing but what it reads
    current = await fresh.load(cid)
    assert current is not None
    back = await fresh.branch(
        cid, from_entry=record.branches[0], expected_revision=current.revision
    )
    assert _prompts(back) == ["one", "two"]

    fork = await fresh.fork(cid, at=2, new_conversation_id=_id(), scope="tenant-b")
    await fresh.save(await Agent(TestModel()).run("forked", conversation=fork))
    await fresh.delete(cid)
    assert await fresh.load(cid) is None and await store.get(cid) is None
    assert fork.conversation_id is not None
    assert _prompts(await fresh.load(fork.conversation_id)) == ["one", "forked"]


async def test_scopes_and_listing(store: SessionStore) -> None:
    conversations = SessionStoreConversationStore(store)
    ids = [_id() for _ in range(3)]
    for cid, scope in zip(ids, ["alice", "bob", "alice"], strict=True):
        await conversations.save(Conversation(conversation_id=cid), scope=scope)
    await store.save("not-a-conversation", [])  # other sessions of the store are not listed
    listed = await conversations.list_conversations()
    assert [r.conversation_id for r in listed] == ids[::-1]
    assert [r.conversation_id for r in await conversations.list_conversations(scope="alice")] == [
        ids[2],
        ids[0],
    ]
    assert len(await conversations.list_conversations(limit=1)) == 1
    assert await conversations.load(ids[1], scope="alice") is None
    await conversations.delete(ids[1], scope="alice")
    assert await conversations.load(ids[1]) is not None


async def test_branch_and_fork_at_any_message(store: SessionStore) -> None:
    conversations, cid = SessionStoreConversationStore(store), _id()
    for prompt in ["one", "two", "three"]:
        await _turn(conversations, cid, prompt)
    fresh = SessionStoreConversationStore(store)
    for at in (1, 3, 0):
        current = await fresh.load(cid)
        assert current is not None
        branched = await fresh.branch(cid, at=at, expected_revision=current.revision)
        assert dump(branched.messages) == dump(current.messages[:at])
        fork = await SessionStoreConversationStore(store).fork(
            cid, at=at, new_conversation_id=_id()
        )
        assert fork.conversation_id is not None
        reread = await SessionStoreConversationStore(store).load(fork.conversation_id)
        assert reread is not None and dump(reread.messages) == dump(branched.messages)
        record = await fresh.read_record(cid)
        assert record is not None
        tip = record.branches[-1]  # back to the whole history
        restored = await fresh.branch(cid, from_entry=tip, expected_revision=branched.revision)
        assert dump(restored.messages) == dump(current.messages)


def test_asyncio_run_per_call(store_url: str) -> None:
    cid = _id()
    try:
        conversations = SessionStoreConversationStore(store_url)
        asyncio.run(_turn(conversations, cid, "one"))
        asyncio.run(_turn(SessionStoreConversationStore(store_url), cid, "two"))
        assert _prompts(asyncio.run(conversations.load(cid))) == ["one", "two"]
    finally:
        asyncio.run(close_shared_stores())
