"""What a backend's plugin hands the tests that reach its stores by URL, from other processes too.

A plugin whose stores another process can open provides a ``<name>_urls``
fixture returning a ``StoreUrls``; ``conftest.store_urls`` runs the
multi-process and CLI tests once per such backend. The backend's own
differences (how to tell that a killed writer has gone quiet, a consistency
check of its own) are data here, so those tests never name a backend.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["StoreUrls"]


def _nothing_pending(url: str) -> None:
    """A backend whose writes end with the writer's process has nothing to wait for."""


def _nothing_to_check(url: str) -> None:
    """A backend without a consistency check of its own: the store's reads are the check."""


@dataclass(frozen=True)
class StoreUrls:
    """Fresh stores of one backend by URL, and that backend's checks of them."""

    #: A URL of a fresh, empty store; the fixture removes the store when the test ends.
    new: Callable[[], str]
    #: Return once no write that a killed process had sent to the store at the URL can land.
    settle: Callable[[str], None] = _nothing_pending
    #: Assert the backend's own consistency check of the store at the URL passes.
    check: Callable[[str], None] = _nothing_to_check
