"""The state machine's frame: its store, its event loop, its model, and the checks it shares.

The rules live in ``_stateful``; this module holds what they have in common:
the random values they draw, and how a record or a listing is compared with
the model.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine

from sessionstore._errors import ConflictError, SessionNotFoundError
from sessionstore._messages import Message, Role, TextBlock, ToolUseBlock
from sessionstore._records import SessionRecord
from sessionstore._store import SessionStore
from sessionstore.testing._model import Key, Model
from sessionstore.testing._support import StoreFactory

__all__ = [
    "ATTRIBUTE_CHANGES",
    "CHOICES",
    "MESSAGES",
    "NAMESPACES",
    "SESSION_IDS",
    "MachineBase",
    "Outcome",
]

# A small pool so operations collide on the same sessions, with a few hostile ids.
SESSION_IDS = st.sampled_from(("a", "b", "../../etc/passwd", "émoji 🎉"))
#: The default namespace, one beside it, and one that is its prefix.
NAMESPACES = st.sampled_from(("", "tenant:β", "tenant"))
#: Whether a write passes no expected version, the right one, or a wrong one.
CHOICES = st.sampled_from(["none", "none", "hit", "miss"])

MESSAGES = st.lists(
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

ATTRIBUTE_CHANGES = st.dictionaries(
    st.sampled_from(["title", "owner", "n"]),
    st.none() | st.text(max_size=5) | st.integers(-3, 3) | st.lists(st.booleans(), max_size=2),
    max_size=2,
)

#: How an operation ended: "ok", "conflict" (ConflictError) or "not found" (SessionNotFoundError).
Outcome = str


class MachineBase(RuleBasedStateMachine):
    """Drives one fresh store per example through one event loop owned by the machine."""

    factory: StoreFactory

    def __init__(self) -> None:
        super().__init__()
        self.model = Model()
        self._runner = asyncio.Runner()
        self._context = self.factory()
        try:
            self.store: SessionStore = self._runner.run(self._context.__aenter__())
        except BaseException:
            self._runner.close()
            raise
        self.lists_namespaces = True

    def teardown(self) -> None:
        try:
            self._runner.run(self._context.__aexit__(None, None, None))
        finally:
            self._runner.close()

    def run(self, coroutine: Any) -> Any:
        """Run ``coroutine`` on the machine's event loop."""
        return self._runner.run(coroutine)

    def view(self, namespace: str) -> SessionStore:
        """The store for ``namespace``: the store itself for ``""``."""
        return self.store.namespace(namespace) if namespace else self.store

    def attempt(self, call: Callable[[], Any]) -> tuple[Outcome, Any]:
        """Run the coroutine ``call()`` makes: ("ok", result), or ("conflict" | "not found", error).

        Any other error propagates: the machine only makes valid calls.
        """
        try:
            return "ok", self.run(call())
        except ConflictError as exc:
            return "conflict", exc
        except SessionNotFoundError as exc:
            return "not found", exc

    def expected_version(self, key: Key, choice: str, miss_by: int) -> int | None:
        """None, the session's version, or a wrong one (``choice`` "none", "hit", "miss")."""
        actual = self.model.version(key)
        if choice == "none":
            return None
        if choice == "hit":
            return actual
        return actual + miss_by if actual == 0 or miss_by % 2 else 0

    # -- checks ----------------------------------------------------------------------

    def check_record(self, record: SessionRecord | None, key: Key) -> None:
        """``record`` is what the model holds for ``key`` (None when it holds nothing)."""
        session = self.model.sessions.get(key)
        if session is None:
            assert record is None, f"{key!r} should not exist, got {record}"
            return
        assert record is not None, f"{key!r} is missing"
        assert record.id == key[1]
        assert record.version == session.version, (record, session.version)
        assert record.message_count == len(session.messages), (record, session.messages)
        assert record.attributes == session.attributes, (record, session.attributes)
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

    def check_listing(
        self,
        namespace: str,
        records: list[SessionRecord],
        expected_ids: list[str],
        newest_first: bool = False,
    ) -> None:
        """``records`` are the model's sessions ``expected_ids`` of ``namespace``, in order."""
        assert [str(record.id) for record in records] == expected_ids
        # One writer, one clock, sequential writes: the write order agrees with updated_at.
        stamps = [record.updated_at for record in records]
        assert stamps == sorted(stamps, reverse=newest_first), stamps
        for record in records:
            self.check_record(record, (namespace, str(record.id)))
