"""A hypothesis state machine: random operations against a store and a pure-Python model.

Every operation of the contract, in three namespaces (the default one, one
beside it and its prefix), with and without a matching ``expected_version``,
runs on the store and on ``_model.Model``; results, records and listings must
agree after each step.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, precondition, rule, run_state_machine_as_test

from sessionstore._errors import UnsupportedOperationError
from sessionstore._messages import Message
from sessionstore._records import ListOptions, SessionRecord, utc_now
from sessionstore.testing._machine import (
    ATTRIBUTE_CHANGES,
    CHOICES,
    MESSAGES,
    NAMESPACES,
    SESSION_IDS,
    MachineBase,
    Outcome,
)
from sessionstore.testing._model import Key
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

_MISS_BY = st.integers(1, 3)
_BOUND = st.integers(-6, 6)

#: The rule ``save`` and ``append`` share: a session, messages, attribute changes or
#: none, and whether to pass no expected version, the right one, or one off by ``miss_by``.
_write_rule = rule(
    namespace=NAMESPACES,
    session_id=SESSION_IDS,
    messages=MESSAGES,
    choice=CHOICES,
    miss_by=_MISS_BY,
    changes=st.none() | ATTRIBUTE_CHANGES,
)


def stateful_settings() -> settings:
    """Conservative defaults, raised with $SESSIONSTORE_CONFORMANCE_EXAMPLES / _STEPS."""
    return settings(
        max_examples=int(os.environ.get(EXAMPLES_ENV_VAR, "20")),
        stateful_step_count=int(os.environ.get(STEPS_ENV_VAR, "30")),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


class SessionStoreMachine(MachineBase):
    """Every operation of the contract, at random, on the store and on the model."""

    def _outcome(self, key: Key, choice: str, *, needs_session: bool) -> Outcome:
        # The version check comes first; a missing session is version 0 (as for save).
        if choice == "miss":
            return "conflict"
        if needs_session and key not in self.model.sessions:
            return "not found"
        return "ok"

    def _write(
        self,
        key: Key,
        messages: list[Message],
        choice: str,
        miss_by: int,
        changes: dict[str, Any] | None,
        replace: bool,
    ) -> None:
        expected = self.expected_version(key, choice, miss_by)
        view = self.view(key[0])
        write = view.save if replace else view.append
        outcome, result = self.attempt(
            lambda: write(key[1], messages, expected_version=expected, attributes=changes)
        )
        assert outcome == self._outcome(key, choice, needs_session=False), (outcome, result)
        if outcome == "ok":
            self.model.write(key, messages, replace=replace, changes=changes)
            self.check_record(result, key)

    # -- writes ----------------------------------------------------------------------

    @initialize(
        seeds=st.lists(st.tuples(NAMESPACES, SESSION_IDS, MESSAGES, ATTRIBUTE_CHANGES), max_size=5)
    )
    def starts_empty(self, seeds: list[tuple[str, str, list[Message], dict[str, Any]]]) -> None:
        """The factory's store is empty; a few sessions to start from make the rules meet."""
        assert self.run(self.store.count()) == 0, "the factory must yield an empty store"
        assert self.run(self.store.list()) == []
        for namespace, session_id, messages, changes in seeds:
            self._write((namespace, session_id), messages, "none", 1, changes, replace=True)

    @_write_rule
    def save(self, namespace: str, session_id: str, messages: list[Message], **how: Any) -> None:
        self._write((namespace, session_id), messages, replace=True, **how)

    @_write_rule
    def append(self, namespace: str, session_id: str, messages: list[Message], **how: Any) -> None:
        self._write((namespace, session_id), messages, replace=False, **how)

    @rule(namespace=NAMESPACES, session_id=SESSION_IDS, count=st.integers(1, 3), choice=CHOICES)
    def pop(self, namespace: str, session_id: str, count: int, choice: str) -> None:
        key = (namespace, session_id)
        expected = self.expected_version(key, choice, 1)
        outcome, popped = self.attempt(
            lambda: self.view(namespace).pop(session_id, count, expected_version=expected)
        )
        assert outcome == self._outcome(key, choice, needs_session=False), (outcome, popped)
        if outcome == "ok":
            assert popped == self.model.pop(key, count)
            self.check_record(self.run(self.view(namespace).get(session_id)), key)

    @rule(
        namespace=NAMESPACES,
        session_id=SESSION_IDS,
        start=_BOUND,
        messages=MESSAGES,
        choice=CHOICES,
    )
    def replace_tail(
        self, namespace: str, session_id: str, start: int, messages: list[Message], choice: str
    ) -> None:
        key = (namespace, session_id)
        expected = self.expected_version(key, choice, 2)
        outcome, record = self.attempt(
            lambda: self.view(namespace).replace_tail(
                session_id, start, messages, expected_version=expected
            )
        )
        assert outcome == self._outcome(key, choice, needs_session=True), (outcome, record)
        if outcome == "ok":
            self.model.replace_tail(key, start, messages)
            self.check_record(record, key)

    @rule(
        namespace=NAMESPACES,
        source_id=SESSION_IDS,
        target_id=SESSION_IDS,
        stop=st.none() | _BOUND,
        choice=CHOICES,
    )
    def fork(
        self, namespace: str, source_id: str, target_id: str, stop: int | None, choice: str
    ) -> None:
        key = (namespace, target_id)
        expected = self.expected_version(key, choice, 1)
        outcome, record = self.attempt(
            lambda: self.view(namespace).fork(
                source_id, target_id, stop=stop, expected_version=expected
            )
        )
        if (namespace, source_id) not in self.model.sessions:
            assert outcome == "not found", (outcome, record)
            return
        assert outcome == self._outcome(key, choice, needs_session=False), (outcome, record)
        if outcome == "ok":
            self.model.fork(namespace, source_id, target_id, stop)
            self.check_record(record, key)

    @rule(namespace=NAMESPACES, session_id=SESSION_IDS, changes=ATTRIBUTE_CHANGES, choice=CHOICES)
    def update_attributes(
        self, namespace: str, session_id: str, changes: dict[str, Any], choice: str
    ) -> None:
        key = (namespace, session_id)
        expected = self.expected_version(key, choice, 3)
        outcome, record = self.attempt(
            lambda: self.view(namespace).update_attributes(
                session_id, changes, expected_version=expected
            )
        )
        assert outcome == self._outcome(key, choice, needs_session=True), (outcome, record)
        if outcome == "ok":
            updated_at = self.model.update_attributes(key, changes).last_updated_at
            assert updated_at is None or record.updated_at == updated_at, "updated_at moved"
            self.check_record(record, key)

    @rule(namespace=NAMESPACES, session_id=SESSION_IDS)
    def delete(self, namespace: str, session_id: str) -> None:
        self.run(self.view(namespace).delete(session_id))
        self.model.delete((namespace, session_id))

    @rule(namespace=NAMESPACES)
    def clear(self, namespace: str) -> None:
        assert self.run(self.view(namespace).clear()) == self.model.clear(namespace)

    @precondition(lambda self: len(self.model.sessions) > 0)
    @rule(namespace=NAMESPACES, keep=st.integers(0, 5), with_future_cutoff=st.booleans())
    def prune_keep_newest(self, namespace: str, keep: int, with_future_cutoff: bool) -> None:
        # Every session is older than a cutoff in the future, so both forms mean the same.
        cutoff = utc_now() + timedelta(days=1) if with_future_cutoff else None
        deleted = self.run(self.view(namespace).prune(updated_before=cutoff, keep_newest=keep))
        assert deleted == self.model.keep_newest(namespace, keep)

    @rule(namespace=NAMESPACES)
    def prune_nothing_old(self, namespace: str) -> None:
        long_ago = datetime(2001, 1, 1).astimezone()
        assert self.run(self.view(namespace).prune(updated_before=long_ago)) == 0

    # -- reads -----------------------------------------------------------------------

    @rule(namespace=NAMESPACES, session_id=SESSION_IDS, start=_BOUND, stop=st.none() | _BOUND)
    def load(self, namespace: str, session_id: str, start: int, stop: int | None) -> None:
        loaded = self.run(self.view(namespace).load(session_id, start=start, stop=stop))
        session = self.model.sessions.get((namespace, session_id))
        assert loaded == (None if session is None else session.messages[start:stop])

    @rule(namespace=NAMESPACES, session_id=SESSION_IDS, start=_BOUND, stop=st.none() | _BOUND)
    def snapshot(self, namespace: str, session_id: str, start: int, stop: int | None) -> None:
        snap = self.run(self.view(namespace).snapshot(session_id, start=start, stop=stop))
        session = self.model.sessions.get((namespace, session_id))
        self.check_record(None if snap is None else snap.record, (namespace, session_id))
        if session is not None:
            assert snap is not None and snap.messages == session.messages[start:stop]

    @rule(namespace=NAMESPACES, session_id=SESSION_IDS)
    def get(self, namespace: str, session_id: str) -> None:
        record = self.run(self.view(namespace).get(session_id))
        self.check_record(record, (namespace, session_id))

    @rule(namespace=NAMESPACES)
    def list_all(self, namespace: str) -> None:
        records = self.run(self.view(namespace).list())
        self.check_listing(namespace, records, self.model.ids(namespace))

    @rule(
        namespace=NAMESPACES,
        offset=st.integers(0, 8),
        limit=st.none() | st.integers(0, 8),
        newest_first=st.booleans(),
    )
    def list_paginated(
        self, namespace: str, offset: int, limit: int | None, newest_first: bool
    ) -> None:
        options = ListOptions(offset=offset, limit=limit, newest_first=newest_first)
        ordered = self.model.ids(namespace)
        if newest_first:
            ordered.reverse()
        stop = None if limit is None else offset + limit
        records = self.run(self.view(namespace).list_paginated(options))
        self.check_listing(namespace, records, ordered[offset:stop], newest_first)

    @rule(namespace=NAMESPACES, page_size=st.integers(1, 4))
    def scan(self, namespace: str, page_size: int) -> None:
        async def collect() -> list[SessionRecord]:
            return [record async for record in self.view(namespace).scan(page_size=page_size)]

        self.check_listing(namespace, self.run(collect()), self.model.ids(namespace))

    @rule(namespace=NAMESPACES)
    def count(self, namespace: str) -> None:
        assert self.run(self.view(namespace).count()) == len(self.model.ids(namespace))

    @precondition(lambda self: self.lists_namespaces)
    @rule(namespace=NAMESPACES)
    def namespaces(self, namespace: str) -> None:
        try:
            names = self.run(self.view(namespace).namespaces())
        except UnsupportedOperationError:
            self.lists_namespaces = False  # optional: this store cannot list them
            return
        assert names == self.model.namespaces()


def run_stateful_test(factory: StoreFactory) -> None:
    """Run the state machine against stores from ``factory``."""
    machine = type(
        "SessionStoreMachineForFactory", (SessionStoreMachine,), {"factory": staticmethod(factory)}
    )
    run_state_machine_as_test(machine, settings=stateful_settings())
