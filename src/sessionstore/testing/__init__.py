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

Every test that takes a store runs twice: ``[store]`` on the store itself and
``[namespace]`` on ``store.namespace("tenant:β")``, while the namespaces
``""``, ``"tenant:β/"`` and ``"tenant"`` hold sessions under the same ids;
those must stay unseen by the test and exactly as they were after it.

``test_random_operations_match_the_model`` is a hypothesis state machine that
runs random saves and appends (with and without attribute changes),
``expected_version`` that matches or not, pops, tail replacements, forks,
attribute updates, deletes, clears, prunes, sliced loads, snapshots,
listings, scans, counts and ``namespaces()`` in three namespaces against the
store and an independent pure-Python model. It runs 20 examples of 30 steps
by default so server backends stay quick; raise them with the environment
variables ``SESSIONSTORE_CONFORMANCE_EXAMPLES`` and
``SESSIONSTORE_CONFORMANCE_STEPS``.

Every part of the contract is required but these optional parts, each
detected from the store or a fixture (the suite never looks at which backend
it is testing):

- ``restore`` (``save`` with given ``created_at``/``updated_at``, used to
  move sessions between stores): a store with ``supports_restore = True``
  must pass the restore tests; one without must raise
  ``UnsupportedOperationError`` from ``restore``.
- ``scan`` by cursor: every store's ``scan`` must yield the listing; one with
  ``supports_cursor_scan = True`` (it implements ``_scan_page``) must also
  skip no session while others are written during the scan. Without it,
  ``scan`` pages by offset and those tests are skipped.
- ``namespaces()``: a store whose ``_namespaces`` hook is not implemented
  raises ``UnsupportedOperationError`` from it, and those checks are skipped.
- Two stores on one storage: override the ``store_pair_factory`` fixture to
  return a ``StorePairFactory`` (an async context manager yielding two open
  stores on one fresh, empty storage) and the suite checks that each sees the
  other's namespaces and sessions; by default it returns None and that test
  is skipped.
"""

from __future__ import annotations

from sessionstore.testing._stateful import (
    EXAMPLES_ENV_VAR,
    STEPS_ENV_VAR,
    SessionStoreMachine,
    run_stateful_test,
)
from sessionstore.testing._support import (
    HOSTILE_IDS,
    INVALID_IDS,
    StoreFactory,
    StorePairFactory,
)
from sessionstore.testing.suite import ConformanceSuite

__all__ = [
    "EXAMPLES_ENV_VAR",
    "HOSTILE_IDS",
    "INVALID_IDS",
    "STEPS_ENV_VAR",
    "ConformanceSuite",
    "SessionStoreMachine",
    "StoreFactory",
    "StorePairFactory",
    "run_stateful_test",
]
