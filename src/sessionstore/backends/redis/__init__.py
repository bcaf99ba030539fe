"""The Redis backend: ``RedisSessionStore``."""

from __future__ import annotations

from sessionstore.backends.redis.store import RedisSessionStore

__all__ = ["RedisSessionStore"]
