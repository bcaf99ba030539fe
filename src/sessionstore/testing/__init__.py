"""The conformance suite: run the whole ``SessionStore`` contract against any backend.

Every backend in this repository runs it, and so can yours. Install the
``sessionstore[testing]`` extra (pytest and hypothesis; pytest-asyncio is not
needed), then give the suite a *factory*: a zero-argument callable returning
an async context manager that yields a fresh, **empty**, open store and
closes it on exit::

    from contextlib import asynccontextmanager

    import pytest
    from sessionstore.testing import ConformanceSuite

    @asynccontextmanager
    async def my_store():
        async with MyStore(dsn=..., namespace=unique_name()) as store:
            yield store          # drop the namespace afterwards if storage persists

    class TestMyStore(ConformanceSuite):
        @pytest.fixture
        def store_factory(self):
            return my_store

Each test is a plain synchronous pytest test that runs its body in an event
loop of its own and enters the factory inside it, so the factory must not
hold on to objects bound to another loop. A test may enter the factory more
than once; each entry must yield an empty store.

``test_random_operations_match_the_model`` is a hypothesis state machine that
runs random saves, appends (with matching and mismatching
``expected_version``), deletes, loads, listings, scans, counts and prunes against
the store and an independent pure-Python model. It runs 20 examples of 30
steps by default so server backends stay quick; raise them with the
environment variables ``SESSIONSTORE_CONFORMANCE_EXAMPLES`` and
``SESSIONSTORE_CONFORMANCE_STEPS``.

Every part of the contract is required but two optional capabilities, each
declared by a flag that the suite reads (it never looks at which backend it
is testing):

- ``restore`` (``save`` with given ``created_at``/``updated_at``, used to
  move sessions between stores): a store with ``supports_restore = True``
  must pass the restore tests; one without must raise
  ``UnsupportedOperationError`` from ``restore``.
- ``scan`` by cursor: every store's ``scan`` must yield the listing; one with
  ``supports_cursor_scan = True`` (it implements ``_scan_page``) must also
  skip no session while others are written during the scan. Without it,
  ``scan`` pages by offset and those tests are skipped.
"""

from __future__ import annotations

from sessionstore.testing._stateful import (
    EXAMPLES_ENV_VAR,
    STEPS_ENV_VAR,
    SessionStoreMachine,
    run_stateful_test,
)
from sessionstore.testing._support import HOSTILE_IDS, INVALID_IDS, StoreFactory
from sessionstore.testing.suite import ConformanceSuite

__all__ = [
    "EXAMPLES_ENV_VAR",
    "HOSTILE_IDS",
    "INVALID_IDS",
    "STEPS_ENV_VAR",
    "ConformanceSuite",
    "SessionStoreMachine",
    "StoreFactory",
    "run_stateful_test",
]
