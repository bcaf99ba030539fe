"""Every backend in the repository against the whole contract (``store_factory`` from conftest)."""

from __future__ import annotations

from sessionstore.testing import ConformanceSuite


class TestConformance(ConformanceSuite):
    """The conformance suite, once per backend in ``conftest.BACKENDS``."""
