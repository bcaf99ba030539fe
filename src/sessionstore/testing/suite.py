"""``ConformanceSuite``: the whole contract as one pytest class to subclass."""

from __future__ import annotations

import pytest

from sessionstore.testing._attribute_tests import AttributeTests
from sessionstore.testing._edit_tests import PopAndReplaceTailTests
from sessionstore.testing._fork_tests import ForkTests
from sessionstore.testing._lifecycle_tests import LifecycleAndConcurrencyTests
from sessionstore.testing._listing_tests import ListingContractTests
from sessionstore.testing._message_tests import MessageContractTests
from sessionstore.testing._namespace_tests import NamespaceTests
from sessionstore.testing._record_tests import RecordContractTests
from sessionstore.testing._restore_tests import RestoreCapabilityTests
from sessionstore.testing._scan_tests import ScanTests
from sessionstore.testing._slice_tests import SliceAndSnapshotTests
from sessionstore.testing._stateful import run_stateful_test
from sessionstore.testing._support import StoreFactory, StorePairFactory

__all__ = ["ConformanceSuite"]


class ConformanceSuite(
    RecordContractTests,
    ListingContractTests,
    SliceAndSnapshotTests,
    PopAndReplaceTailTests,
    ForkTests,
    AttributeTests,
    NamespaceTests,
    MessageContractTests,
    LifecycleAndConcurrencyTests,
    RestoreCapabilityTests,
    ScanTests,
):
    """Every test of the ``SessionStore`` contract; needs a ``store_factory`` fixture.

    The class name does not start with ``Test``, so pytest collects only the
    subclasses that point it at a backend. Each test is synchronous and runs
    its body in its own event loop, entering the factory inside that loop.

    Each test that takes a store runs twice: ``[store]`` on the store itself,
    ``[namespace]`` on ``store.namespace(...)`` while neighbouring namespaces
    hold sessions under the same ids, which must stay untouched and unseen.

    Optional parts, each read from the store or the fixtures, never from the
    backend's type: the ``restore`` tests run when ``store.supports_restore``
    is True (otherwise only the one checking that ``restore`` is refused); the
    tests of ``scan`` under concurrent writes run when
    ``store.supports_cursor_scan`` is True; the tests of ``namespaces()`` run
    when the store implements it; two stores sharing one storage are tested
    when the ``store_pair_factory`` fixture gives a factory (default: None).
    """

    @pytest.fixture
    def store_pair_factory(self) -> StorePairFactory | None:
        """Override to return a factory of two stores on one storage; None skips those tests."""
        return None

    def test_random_operations_match_the_model(self, store_factory: StoreFactory) -> None:
        """Random operations give the same results on the store as on a pure-Python model."""
        run_stateful_test(store_factory)
