"""``open_store``: URL schemes, the environment default and lazy backend imports."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import sessionstore
from sessionstore import (
    InMemorySessionStore,
    InvalidArgumentError,
    Message,
    SessionStore,
    SessionStoreError,
    SQLiteSessionStore,
    open_store,
)
from sessionstore._options import ConnectionOptions

KNOWN_SCHEMES = ["memory", "sqlite", "postgresql", "postgres", "redis", "rediss", "unix"]


@pytest.fixture
def no_store_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SESSIONSTORE_URL", raising=False)


async def _round_trip(store: SessionStore, session_id: str = "s") -> None:
    async with store:
        await store.save(session_id, [Message.user("hello")])
        assert await store.load(session_id) == [Message.user("hello")]


async def test_memory_url() -> None:
    store = open_store("memory://")
    assert isinstance(store, InMemorySessionStore)
    assert not store.closed
    await _round_trip(store)
    assert store.closed


async def test_sqlite_absolute_url_persists_between_stores(tmp_path: Path) -> None:
    path = tmp_path / "nested dir" / "store.db"
    path.parent.mkdir()
    url = f"sqlite:///{path}"  # path is absolute, so this is sqlite:////...
    assert url.startswith("sqlite:////")
    store = open_store(url)
    assert isinstance(store, SQLiteSessionStore)
    await _round_trip(store)
    assert path.exists()
    async with open_store(url) as reopened:
        assert await reopened.load("s") == [Message.user("hello")]


async def test_sqlite_relative_url_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("sqlite:///relative.db")
    assert isinstance(store, SQLiteSessionStore)
    assert not (tmp_path / "relative.db").exists()  # created on first use, not by open_store
    await _round_trip(store)
    assert (tmp_path / "relative.db").exists()


async def test_open_store_connects_lazily(tmp_path: Path) -> None:
    path = tmp_path / "lazy.db"
    store = open_store(f"sqlite:///{path}")
    assert not path.exists(), "open_store must not touch storage before first use"
    assert await store.count() == 0  # first use opens it
    await store.close()
    assert path.exists()


async def test_scheme_is_case_insensitive() -> None:
    store = open_store("MEMORY://")
    assert isinstance(store, InMemorySessionStore)
    await store.close()


async def test_environment_variable_is_used_without_a_url(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SESSIONSTORE_URL", "memory://")
    assert isinstance(open_store(), InMemorySessionStore)
    path = tmp_path / "from-env.db"
    monkeypatch.setenv("SESSIONSTORE_URL", f"sqlite:///{path}")
    store = open_store()
    assert isinstance(store, SQLiteSessionStore)
    await _round_trip(store)
    assert path.exists()


async def test_explicit_url_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSIONSTORE_URL", "bogus://nowhere")
    assert isinstance(open_store("memory://"), InMemorySessionStore)


@pytest.mark.usefixtures("no_store_url")
async def test_default_is_sessions_db_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store()
    assert isinstance(store, SQLiteSessionStore)
    await _round_trip(store)
    assert (tmp_path / "sessions.db").exists()


@pytest.mark.usefixtures("no_store_url")
async def test_empty_environment_variable_means_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SESSIONSTORE_URL", "")
    store = open_store()
    assert isinstance(store, SQLiteSessionStore)
    await store.close()


@pytest.mark.parametrize("url", ["mysql://localhost/db", "http://example.com", "nonsense", ""])
def test_unknown_scheme_lists_the_known_ones(url: str) -> None:
    with pytest.raises(ValueError) as info:
        open_store(url)
    assert isinstance(info.value, SessionStoreError)
    message = str(info.value)
    for scheme in KNOWN_SCHEMES:
        assert f"{scheme}://" in message


def test_password_is_redacted_in_the_error() -> None:
    with pytest.raises(ValueError) as info:
        open_store("mysql://admin:hunter2-secret@db.example.com:3306/app")
    message = str(info.value)
    assert "hunter2-secret" not in message
    assert "admin" in message and "db.example.com" in message and "mysql://" in message


def test_backends_are_imported_lazily() -> None:
    script = textwrap.dedent(
        """
        import asyncio, sys
        import sessionstore
        from sessionstore import Message, open_store

        async def main():
            async with open_store("memory://") as store:
                await store.save("s", [Message.user("hi")])
                assert await store.load("s") == [Message.user("hi")]

        asyncio.run(main())
        loaded = sorted(
            name for name in sys.modules
            if name.split(".")[0] in ("psycopg", "psycopg_pool", "redis", "hiredis")
            or name.startswith(("sessionstore.backends.", "sessionstore.cli"))
        )
        print(",".join(loaded))
        """
    )
    env = {key: value for key, value in os.environ.items() if key != "SESSIONSTORE_URL"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    # The extension API (backends.base) is part of the core; no other backend loads.
    assert result.stdout.strip() == "sessionstore.backends.base,sessionstore.backends.memory"


@pytest.mark.parametrize(
    ("blocked", "module", "class_name", "url", "extra"),
    [
        (
            ["psycopg", "psycopg_pool"],
            "sessionstore.backends.postgres",
            "PostgresSessionStore",
            "postgresql://127.0.0.1:1/sessionstore",
            "postgres",
        ),
        (
            ["redis"],
            "sessionstore.backends.redis",
            "RedisSessionStore",
            "redis://127.0.0.1:1/0",
            "redis",
        ),
    ],
    ids=["postgres", "redis"],
)
def test_a_missing_driver_names_the_extra(
    blocked: list[str], module: str, class_name: str, url: str, extra: str
) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        for name in {blocked!r}:
            sys.modules[name] = None
        from sessionstore import MissingDependencyError, open_store
        from {module} import {class_name}
        for make in (lambda: {class_name}({url!r}), lambda: open_store({url!r})):
            try:
                make()
            except MissingDependencyError as exc:
                assert isinstance(exc, ImportError)
                print(exc)
            else:
                raise SystemExit("no MissingDependencyError")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert all(f"pip install 'sessionstore[{extra}]'" in line for line in lines)


# -- the server backends' shared options ------------------------------------------------

#: Each server backend: its class, a URL (nothing need listen there: building a store
#: does not connect) and every option it takes in seconds.
SERVER_BACKENDS = [
    pytest.param(
        "PostgresSessionStore",
        "postgresql://127.0.0.1:1/db",
        ["pool_timeout", "connect_timeout"],
        id="postgres",
    ),
    pytest.param(
        "RedisSessionStore",
        "redis://127.0.0.1:1/0",
        ["pool_timeout", "connect_timeout", "socket_timeout"],
        id="redis",
    ),
]

NOT_SECONDS = [math.nan, math.inf, -math.inf, -1, -0.5, 0, True, False, "3", b"3", [3]]
NOT_SECONDS_IN_A_URL = ["nan", "NaN", "inf", "-inf", "-1", "0", "true", "3s", "", "%20"]
NOT_CONNECTIONS = [0, -1, 2.5, math.nan, True, "5"]
NOT_CONNECTIONS_IN_A_URL = ["0", "-1", "2.5", "many", "true", ""]


async def _options_of(store: Any) -> ConnectionOptions:
    """The connection options ``store`` was built with; it is closed (it never connected)."""
    await store.close()
    options: ConnectionOptions = store._connections.options
    return options


@pytest.mark.parametrize(("class_name", "url", "seconds_options"), SERVER_BACKENDS)
async def test_server_backends_take_the_same_connection_options_from_the_url(
    class_name: str, url: str, seconds_options: list[str]
) -> None:
    store_class = getattr(sessionstore, class_name)
    query = "?max_connections=5&pool_timeout=3&connect_timeout=2"
    for store in (open_store(url + query), store_class(url + query)):
        assert isinstance(store, store_class)
        assert await _options_of(store) == ConnectionOptions(5, 3.0, 2.0)
    # The same options as arguments; a value in the URL overrides its argument.
    by_argument = store_class(url, max_connections=5, pool_timeout=3, connect_timeout=2.5)
    assert await _options_of(by_argument) == ConnectionOptions(5, 3.0, 2.5)
    overridden = store_class(url + "?pool_timeout=0.25", max_connections=5, pool_timeout=7)
    options = await _options_of(overridden)
    assert (options.max_connections, options.pool_timeout) == (5, 0.25)
    for option in seconds_options:
        store = store_class(f"{url}?{option}=1.5")
        await store.close()


def _assert_refused(
    store_class: Any, url: str, option: str, values: list[Any], texts: list[str]
) -> None:
    """Each of ``values`` as the argument ``option``, and each of ``texts`` in a URL, is refused."""
    for value in values:
        with pytest.raises(InvalidArgumentError, match=option):
            store_class(url, **{option: value})
    for text in texts:
        for make in (open_store, store_class, store_class.from_url):
            with pytest.raises(InvalidArgumentError, match=option):
                make(f"{url}?{option}={text}")


@pytest.mark.parametrize(("class_name", "url", "seconds_options"), SERVER_BACKENDS)
def test_every_connection_option_refuses_what_is_out_of_range(
    class_name: str, url: str, seconds_options: list[str]
) -> None:
    """NaN, infinities, bools, strings, zero and negatives, as arguments and in the URL."""
    store_class = getattr(sessionstore, class_name)
    for option in seconds_options:
        _assert_refused(store_class, url, option, NOT_SECONDS, NOT_SECONDS_IN_A_URL)
    _assert_refused(store_class, url, "max_connections", NOT_CONNECTIONS, NOT_CONNECTIONS_IN_A_URL)
