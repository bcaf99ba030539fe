"""A hypothesis state machine: random operations against a store and a pure-Python model.

The model is written here, independently of any backend (the in-memory store
included), from the contract alone: an ordered mapping of id to transcript
and version, where every write moves its session to the end.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from sessionstore._errors import ConflictError
from sessionstore._messages import Message, Role, TextBlock, ToolUseBlock
from sessionstore._records import ListOptions, SessionRecord, utc_now
from sessionstore._store import SessionStore
from sessionstore.testing._support import StoreFactory

__all__ = [
    "EXAMPLES_ENV_VAR",
    "STEPS_ENV_VAR",
    "SessionStoreMachine",
    "run_stateful_test",
    "stateful_settings",
]

EXAMPLES_ENV_VAR = "SESSIONSTORE_CONFORMANCE_EXAMPLES"
STEPS_ENV_VAR = "SESSIONSTORE_CONFORMANCE_STEPS"

# A small pool so operations collide on the same sessions, with a few hostile ids.
_SESSION_IDS = ("a", "b", "c", "user-42", "../../etc/passwd", "émoji 🎉", " a ")

_messages = st.lists(
    st.one_of(
        st.builds(
            Message,
            st.sampled_from(list(Role)),
            st.text(st.characters(codec="utf-8"), max_size=8),
        ),
        st.builds(
            lambda text, n: Message(
                Role.ASSISTANT, [TextBlock(text), ToolUseBlock(f"t{n}", "tool", {"n": n})]
            ),
            st.text(max_size=5),
            st.integers(-5, 5),
        ),
    ),
    max_size=3,
)

#: The rule ``save`` and ``append`` share: a session, messages, and whether to
#: pass no expected version, the right one, or one off by ``miss_by``.
_write_rule = rule(
    session_id=st.sampled_from(_SESSION_IDS),
    messages=_messages,
    choice=st.sampled_from(["none", "none", "hit", "miss"]),
    miss_by=st.integers(1, 3),
)


def stateful_settings() -> settings:
    """Conservative defaults, raised with $SESSIONSTORE_CONFORMANCE_EXAMPLES / _STEPS."""
    return settings(
        max_examples=int(os.environ.get(EXAMPLES_ENV_VAR, "20")),
        stateful_step_count=int(os.environ.get(STEPS_ENV_VAR, "30")),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


@dataclass
class _ModelSession:
    messages: list[Message]
    version: int
    created_at: datetime | None = None  # as first reported by the store
    last_updated_at: datetime | None = None


@dataclass
class _Model:
    """The contract in a few lines: insertion order of ``sessions`` is the listing order."""

    sessions: dict[str, _ModelSession] = field(default_factory=dict)
    #: The newest created_at the store reported: sessions created later never predate it.
    newest_created_at: datetime | None = None

    def version(self, session_id: str) -> int:
        session = self.sessions.get(session_id)
        return 0 if session is None else session.version

    def write(self, session_id: str, messages: list[Message], *, replace: bool) -> _ModelSession:
        session = self.sessions.pop(session_id, None)
        if session is None:
            session = _ModelSession(list(messages), 1)
        else:
            session.messages = list(messages) if replace else session.messages + messages
            session.version += 1
        self.sessions[session_id] = session  # moved to the end: newest-last
        return session

    def ordered_ids(self) -> list[str]:
        return list(self.sessions)

    def keep_newest(self, keep: int) -> int:
        doomed = self.ordered_ids()[: max(0, len(self.sessions) - keep)]
        for session_id in doomed:
            del self.sessions[session_id]
        return len(doomed)


class SessionStoreMachine(RuleBasedStateMachine):
    """Drives one fresh store per example through one event loop owned by the machine."""

    factory: StoreFactory

    def __init__(self) -> None:
        super().__init__()
        self.model = _Model()
        self._runner = asyncio.Runner()
        self._context = self.factory()
        try:
            self.store: SessionStore = self._runner.run(self._context.__aenter__())
        except BaseException:
            self._runner.close()
            raise

    def teardown(self) -> None:
        try:
            self._runner.run(self._context.__aexit__(None, None, None))
        finally:
            self._runner.close()

    def _run(self, coroutine: Any) -> Any:
        return self._runner.run(coroutine)

    # -- checks ----------------------------------------------------------------------

    def _check_record(self, record: SessionRecord | None, session_id: str) -> None:
        session = self.model.sessions.get(session_id)
        if session is None:
            assert record is None, f"{session_id!r} should not exist, got {record}"
            return
        assert record is not None, f"{session_id!r} is missing"
        assert record.id == session_id
        assert record.version == session.version, (record, session.version)
        assert record.message_count == len(session.messages), (record, session.messages)
        assert record.created_at.utcoffset() == timedelta(0)
        assert record.updated_at >= record.created_at
        if session.created_at is None:
            # First sight of this session (writes are sequential here, on one clock).
            newest = self.model.newest_created_at
            assert newest is None or record.created_at >= newest, "created_at went back"
            self.model.newest_created_at = record.created_at
            session.created_at = record.created_at
        assert record.created_at == session.created_at, "created_at changed"
        if session.last_updated_at is not None:
            assert record.updated_at >= session.last_updated_at, "updated_at went back"
        session.last_updated_at = record.updated_at

    def _check_listing(
        self, records: list[SessionRecord], expected_ids: list[str], newest_first: bool = False
    ) -> None:
        assert [str(record.id) for record in records] == expected_ids
        # One writer, one clock, sequential writes: the write order agrees with updated_at.
        stamps = [record.updated_at for record in records]
        assert stamps == sorted(stamps, reverse=newest_first), stamps
        for record in records:
            self._check_record(record, str(record.id))

    def _expected_version(self, session_id: str, choice: str, miss_by: int) -> int | None:
        actual = self.model.version(session_id)
        if choice == "none":
            return None
        if choice == "hit":
            return actual
        return actual + miss_by if actual == 0 or miss_by % 2 else 0

    def _write(
        self, session_id: str, messages: list[Message], choice: str, miss_by: int, replace: bool
    ) -> None:
        expected = self._expected_version(session_id, choice, miss_by)
        write = self.store.save if replace else self.store.append
        try:
            record = self._run(write(session_id, messages, expected_version=expected))
        except ConflictError:
            assert choice == "miss", f"unexpected ConflictError for {session_id!r}"
        else:
            assert choice != "miss", f"expected_version={expected} did not conflict"
            self.model.write(session_id, messages, replace=replace)
            self._check_record(record, session_id)

    # -- rules -----------------------------------------------------------------------

    @initialize()
    def starts_empty(self) -> None:
        assert self._run(self.store.count()) == 0, "the factory must yield an empty store"
        assert self._run(self.store.list()) == []

    @_write_rule
    def save(self, session_id: str, messages: list[Message], choice: str, miss_by: int) -> None:
        self._write(session_id, messages, choice, miss_by, replace=True)

    @_write_rule
    def append(self, session_id: str, messages: list[Message], choice: str, miss_by: int) -> None:
        self._write(session_id, messages, choice, miss_by, replace=False)

    @rule(session_id=st.sampled_from(_SESSION_IDS))
    def delete(self, session_id: str) -> None:
        self._run(self.store.delete(session_id))
        self.model.sessions.pop(session_id, None)

    @rule(session_id=st.sampled_from(_SESSION_IDS))
    def load(self, session_id: str) -> None:
        loaded = self._run(self.store.load(session_id))
        session = self.model.sessions.get(session_id)
        assert loaded == (None if session is None else session.messages)

    @rule(session_id=st.sampled_from(_SESSION_IDS))
    def get(self, session_id: str) -> None:
        self._check_record(self._run(self.store.get(session_id)), session_id)

    @rule()
    def list_all(self) -> None:
        self._check_listing(self._run(self.store.list()), self.model.ordered_ids())

    @rule(
        offset=st.integers(0, 8),
        limit=st.none() | st.integers(0, 8),
        newest_first=st.booleans(),
    )
    def list_paginated(self, offset: int, limit: int | None, newest_first: bool) -> None:
        options = ListOptions(offset=offset, limit=limit, newest_first=newest_first)
        ordered = self.model.ordered_ids()
        if newest_first:
            ordered.reverse()
        stop = None if limit is None else offset + limit
        records = self._run(self.store.list_paginated(options))
        self._check_listing(records, ordered[offset:stop], newest_first)

    @rule(page_size=st.integers(1, 4))
    def scan(self, page_size: int) -> None:
        async def collect() -> list[SessionRecord]:
            return [record async for record in self.store.scan(page_size=page_size)]

        self._check_listing(self._run(collect()), self.model.ordered_ids())

    @rule()
    def count(self) -> None:
        assert self._run(self.store.count()) == len(self.model.sessions)

    @precondition(lambda self: len(self.model.sessions) > 0)
    @rule(keep=st.integers(0, 5), with_future_cutoff=st.booleans())
    def prune_keep_newest(self, keep: int, with_future_cutoff: bool) -> None:
        # Every session is older than a cutoff in the future, so both forms mean the same.
        cutoff = utc_now() + timedelta(days=1) if with_future_cutoff else None
        deleted = self._run(self.store.prune(updated_before=cutoff, keep_newest=keep))
        assert deleted == self.model.keep_newest(keep)

    @rule()
    def prune_nothing_old(self) -> None:
        long_ago = datetime(2001, 1, 1).astimezone()
        assert self._run(self.store.prune(updated_before=long_ago)) == 0


def run_stateful_test(factory: StoreFactory) -> None:
    """Run the state machine against stores from ``factory``."""
    machine = type(
        "SessionStoreMachineForFactory", (SessionStoreMachine,), {"factory": staticmethod(factory)}
    )
    run_state_machine_as_test(machine, settings=stateful_settings())
