"""Write the SQLite fixture of a released schema: a small database and the content it must hold.

Run it with the *released* code on the path, never with the working tree's:

    git worktree add /tmp/released main
    PYTHONPATH=/tmp/released/src python scripts/make_sqlite_fixture.py tests/fixtures

It writes ``sqlite_schema<N>.db`` (N = the schema version of the code it ran
with) and ``sqlite_schema<N>.json``: every session's id, record and messages in
listing order, which ``tests/test_sqlite_migration.py`` compares after opening
a copy with the current code. The sessions cover what a migration could lose:
transcripts in many segments (merged runs and large ones), Unicode and hostile
ids, tool calls, images, metadata, an empty transcript, and overwritten and
deleted sessions.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

from sessionstore import Message, SQLiteSessionStore
from sessionstore.backends.sqlite.schema import SCHEMA_VERSION


def _tool_turn(n: int) -> list[Any]:
    return [
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": f"checking {n}"},
                {
                    "type": "tool_use",
                    "id": f"toolu_{n}",
                    "name": "weather",
                    "input": {
                        "city": "Oslo",
                        "days": [n, n + 1],
                        "nested": {"deep": [{"x": None}]},
                    },
                },
            ],
        },
        {
            "role": "tool",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": f"toolu_{n}",
                    "content": f"sunny, {n}C",
                    "is_error": n % 2 == 0,
                }
            ],
        },
    ]


async def _fill(store: SQLiteSessionStore) -> None:
    # Many small appends: the trailing run of small segments is merged more than once.
    for n in range(40):
        turn = [Message.user(f"turn {n}"), Message.assistant(f"ok {n}")]
        await store.append("many-appends", turn)
    # Large messages: segments over the small-segment size stay on their own.
    big = "x" * 40_000
    for n in range(3):
        await store.append("large segments", [Message.user(f"{n}:{big}"), Message.assistant("ok")])
        await store.append("large segments", [Message.system(f"small {n}")])
    await store.save("émoji 🎉 ключ", [Message.user("héllo ✓ 你好", name="ünï")])
    await store.save("tools", [Message.user("weather?")])
    for n in range(5):
        await store.append("tools", _tool_turn(n))
    await store.save(
        "metadata",
        [
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {
                            "type": "base64",
                            "media_type": "image/png",
                            "data": "iVBORw0KGgo=",
                        },
                    }
                ],
                "name": "alice",
                "metadata": {"channel": "discord", "trace": [1, 2, 3]},
            },
            {"role": "assistant", "content": "", "metadata": {"empty": "", "n": 1.5}},
        ],
    )
    await store.save("empty", [])
    await store.save("x'); DROP TABLE segments; --", [Message.user("hostile")])
    await store.save("../../etc/passwd", [Message.user("path")])
    await store.save(" spaced ", [Message.user("first")])
    await store.save("deleted", [Message.user("gone")])
    await store.delete("deleted")
    # Overwritten after others were written: it moves to the end of the listing.
    await store.save(" spaced ", [Message.user("second"), Message.assistant("again")])
    await store.append("tools", [Message.assistant("done")])


async def _expected(store: SQLiteSessionStore) -> list[dict[str, Any]]:
    sessions = []
    for record in await store.list():
        messages = await store.load(record.id)
        assert messages is not None
        sessions.append(
            {
                "id": record.id,
                "message_count": record.message_count,
                "created_at": record.created_at.isoformat(),
                "updated_at": record.updated_at.isoformat(),
                "version": record.version,
                "messages": [message.to_dict() for message in messages],
            }
        )
    return sessions


async def _write(database: Path) -> list[dict[str, Any]]:
    async with SQLiteSessionStore(database) as store:
        await _fill(store)
        return await _expected(store)


def main(directory: Path) -> None:
    database = directory / f"sqlite_schema{SCHEMA_VERSION}.db"
    for stale in directory.glob(f"{database.name}*"):
        stale.unlink()
    expected = asyncio.run(_write(database))
    with sqlite3.connect(database) as conn:  # fold the WAL into the file: one file to commit
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode = DELETE")
    document = {"schema_version": SCHEMA_VERSION, "sessions": expected}
    text = json.dumps(document, ensure_ascii=False, indent=1) + "\n"
    (directory / f"sqlite_schema{SCHEMA_VERSION}.json").write_text(text, encoding="utf-8")
    print(f"wrote {database} ({len(expected)} sessions, schema {SCHEMA_VERSION})")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
