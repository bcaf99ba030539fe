"""The import surface: every name the contract promises, and a sorted, complete ``__all__``."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
import types

import pytest

import sessionstore

# The contract's import surface, verbatim.
CONTRACT_NAMES = [
    "SessionStore",
    "SessionId",
    "SessionRecord",
    "ListOptions",
    "Message",
    "Role",
    "TextBlock",
    "ImageBlock",
    "Base64ImageSource",
    "ToolUseBlock",
    "ToolResultBlock",
    "InMemorySessionStore",
    "SQLiteSessionStore",
    "PostgresSessionStore",
    "RedisSessionStore",
    "open_store",
    "SessionStoreError",
    "InvalidSessionIdError",
    "InvalidMessageError",
    "ConflictError",
    "CorruptSessionError",
    "StoreClosedError",
]


@pytest.mark.parametrize("name", CONTRACT_NAMES)
def test_contract_names_are_importable(name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from sessionstore import {name}", namespace)
    assert namespace[name] is getattr(sessionstore, name)
    assert name in sessionstore.__all__


def test_all_is_sorted() -> None:
    assert sessionstore.__all__ == sorted(sessionstore.__all__)
    assert len(set(sessionstore.__all__)) == len(sessionstore.__all__)


def test_every_name_in_all_is_importable() -> None:
    for name in sessionstore.__all__:
        assert getattr(sessionstore, name) is not None, name


def test_all_is_complete() -> None:
    # Resolve the lazy backends first so they show up in the namespace.
    for name in sessionstore.__all__:
        getattr(sessionstore, name)
    public = {
        name
        for name, value in vars(sessionstore).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and getattr(value, "__module__", "").startswith("sessionstore")
    }
    assert public <= set(sessionstore.__all__), public - set(sessionstore.__all__)


def test_errors_form_one_tree() -> None:
    for name in sessionstore.__all__:
        value = getattr(sessionstore, name)
        if isinstance(value, type) and issubclass(value, BaseException):
            assert issubclass(value, sessionstore.SessionStoreError), name
    for name in ("InvalidSessionIdError", "InvalidMessageError"):
        assert issubclass(getattr(sessionstore, name), ValueError), name


def test_backends_subclass_the_abstract_store() -> None:
    # Every store class in the contract: the four backends (and the base itself).
    for name in (name for name in CONTRACT_NAMES if name.endswith("SessionStore")):
        assert issubclass(getattr(sessionstore, name), sessionstore.SessionStore), name


def test_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError):
        sessionstore.NoSuchThing  # noqa: B018
    assert importlib.import_module("sessionstore") is sessionstore


def test_importing_server_backends_without_their_driver() -> None:
    # Block the drivers as if the extras were not installed.
    script = textwrap.dedent(
        """
        import asyncio, sys
        for driver in ("psycopg", "psycopg_pool", "redis", "hiredis"):
            sys.modules[driver] = None
        from sessionstore import (
            MissingDependencyError, PostgresSessionStore, RedisSessionStore, open_store,
        )

        async def use(url):
            try:
                async with open_store(url) as store:
                    await store.count()
            except MissingDependencyError as exc:
                return str(exc)
            return "no error"

        print(asyncio.run(use("postgresql://u:p@127.0.0.1:9/db")))
        print(asyncio.run(use("redis://127.0.0.1:9/0")))
        """
    )
    env = {key: value for key, value in os.environ.items() if key != "SESSIONSTORE_URL"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    postgres_error, redis_error = result.stdout.strip().splitlines()
    assert "sessionstore[postgres]" in postgres_error
    assert "sessionstore[redis]" in redis_error


def test_version_is_the_installed_distributions() -> None:
    from importlib.metadata import version

    assert sessionstore.__version__ == version("sessionstore")
