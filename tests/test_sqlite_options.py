"""SQLite options: constructor arguments, URLs, durability levels and the WAL journal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from plugins.sqlite import raw
from sessionstore import (
    InvalidArgumentError,
    Message,
)
from sessionstore.backends.sqlite import SQLiteSessionStore


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({"path": "x.db", "durability": "fast"}, "durability"),
        ({"path": "x.db", "durability": None}, "durability"),
        ({"path": "x.db", "busy_timeout": 0}, "busy_timeout"),
        ({"path": "x.db", "busy_timeout": True}, "busy_timeout"),
        ({"path": "x.db", "busy_timeout": float("nan")}, "busy_timeout"),
        ({"path": "x.db", "durability": ["full"]}, "durability"),
        ({"path": "", "durability": "full"}, "path"),
        ({"path": ":memory:"}, "path"),
        ({"path": 42}, "path"),
    ],
)
def test_bad_options_raise_invalid_argument(arguments: dict[str, Any], problem: str) -> None:
    with pytest.raises(InvalidArgumentError, match=problem):
        SQLiteSessionStore(**arguments)


@pytest.mark.parametrize(
    ("url", "path", "durability"),
    [
        ("sqlite:///relative.db", "relative.db", "full"),
        ("sqlite:///dir/relative.db", "dir/relative.db", "full"),
        ("sqlite:////abs/path.db", "/abs/path.db", "full"),
        ("sqlite:////abs/with%20space.db?durability=normal", "/abs/with space.db", "normal"),
    ],
)
def test_from_url(url: str, path: str, durability: str) -> None:
    store = SQLiteSessionStore.from_url(url)
    assert store.path == Path(path)
    assert store.durability == durability
    assert path in repr(store)


@pytest.mark.parametrize(
    "url",
    [
        "sqlite://host/x.db",
        "sqlite:///x.db?durability=fast",
        "sqlite:///x.db?journal=off",
        "sqlite:///",
    ],
)
def test_bad_urls_raise_invalid_argument(url: str) -> None:
    with pytest.raises(InvalidArgumentError):
        SQLiteSessionStore.from_url(url)


@pytest.mark.parametrize("durability", ["full", "normal"])
async def test_both_durabilities_persist_across_reopen(tmp_path: Path, durability: str) -> None:
    path = tmp_path / "d.db"
    async with SQLiteSessionStore(path, durability=durability) as store:  # type: ignore[arg-type]
        assert store._writer is not None
        synchronous = await store._writer.submit(
            lambda conn, batch: conn.execute("PRAGMA synchronous").fetchone()[0]
        )
        assert synchronous == {"full": 2, "normal": 1}[durability]
        await store.save("s", [Message.user("one")])
        await store.append("s", [Message.assistant("two")])
    async with SQLiteSessionStore(path) as store:
        assert await store.load("s") == [Message.user("one"), Message.assistant("two")]
        record = await store.get("s")
        assert record is not None and record.version == 2


async def test_file_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    async with SQLiteSessionStore(path) as store:
        await store.save("s", [Message.user("hi")])
        with raw(path) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
