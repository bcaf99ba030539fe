"""Strategies and checks the converter tests share (tests/test_formats*.py)."""

from __future__ import annotations

import base64
import json
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from integrations_support import error_without
from sessionstore import Message

#: No per-example deadline and no speed health check: the machine running the suite is shared,
#: and a slow example is not a wrong one.
shared_machine = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

texts = st.text(max_size=12)
ids = st.text("abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=10)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
json_objects = st.dictionaries(st.text(max_size=5), json_values, max_size=3)
base64_data = st.binary(min_size=1, max_size=12).map(lambda raw: base64.b64encode(raw).decode())


def same_json(left: Any, right: Any) -> bool:
    """Equal as the OpenAI Agents SDK compares items: ``json.dumps(..., sort_keys=True)``."""
    return json.dumps(left, sort_keys=True) == json.dumps(right, sort_keys=True)


def stored(messages: list[Message]) -> list[Message]:
    """What a store hands back: each message through its JSON form."""
    return [Message.from_json(message.to_json()) for message in messages]


def views(messages: list[Message]) -> list[Message]:
    """The readable views alone, as a transcript written by another framework looks."""
    return [Message(m.role, m.content, m.name) for m in messages]


def error_without_langchain_core(setup: str, failing: str) -> str:
    """``error_without`` for langchain-core: ``setup``, then ``failing`` must raise
    MissingDependencyError; return that error's message."""
    return error_without("langchain_core", failing, setup)
