"""Storage backends: ``memory`` (one module, the reference semantics) and one package each for
``sqlite``, ``postgres`` and ``redis``, whose ``__init__`` tells that backend's design.

``base`` is the public extension API a backend is written with. No backend imports another,
the CLI or the test suite, and nothing here imports an optional driver until it is used.
"""
