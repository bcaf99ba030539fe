"""``ConformanceSuite``: the whole contract as one pytest class to subclass."""

from __future__ import annotations

from sessionstore.testing._lifecycle_tests import LifecycleAndConcurrencyTests
from sessionstore.testing._message_tests import MessageContractTests
from sessionstore.testing._restore_tests import RestoreCapabilityTests
from sessionstore.testing._scan_tests import ScanTests
from sessionstore.testing._stateful import run_stateful_test
from sessionstore.testing._store_tests import StoreContractTests
from sessionstore.testing._support import StoreFactory

__all__ = ["ConformanceSuite"]


class ConformanceSuite(
    StoreContractTests,
    MessageContractTests,
    LifecycleAndConcurrencyTests,
    RestoreCapabilityTests,
    ScanTests,
):
    """Every test of the ``SessionStore`` contract; needs a ``store_factory`` fixture.

    The class name does not start with ``Test``, so pytest collects only the
    subclasses that point it at a backend. Each test is synchronous and runs
    its body in its own event loop, entering the factory inside that loop.
    The ``restore`` tests run when ``store.supports_restore`` is True; otherwise
    only the one checking that ``restore`` is refused runs. The tests of ``scan``
    under concurrent writes run when ``store.supports_cursor_scan`` is True.
    """

    def test_random_operations_match_the_model(self, store_factory: StoreFactory) -> None:
        """Random operations give the same results on the store as on a pure-Python model."""
        run_stateful_test(store_factory)
