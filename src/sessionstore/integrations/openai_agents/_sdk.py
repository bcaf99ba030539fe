"""The SDK's private helpers the session relies on, with fallbacks for releases without them.

``_CompactionSnapshot`` (the compaction snapshot hook's return type) and
``_await_mutation`` (a write that settles even when its caller is cancelled)
are private to the SDK (0.24). A release that lacks them still gets a working
session: plain awaits, and no snapshot hook (the compaction wrapper then
falls back to ``_atomic_replace_items``).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

__all__ = ["CompactionSnapshot", "await_mutation"]

_T = TypeVar("_T")

try:
    from agents.memory.session import _CompactionSnapshot as CompactionSnapshot
except ImportError:  # pragma: no cover - depends on the installed SDK
    CompactionSnapshot = None  # type: ignore[assignment,misc]

try:
    from agents.memory.session import _await_mutation as await_mutation
except ImportError:  # pragma: no cover - depends on the installed SDK

    async def await_mutation(awaitable: Awaitable[_T]) -> _T:
        """Await ``awaitable`` (the SDK's version also outlasts the caller's cancellation)."""
        return await awaitable
