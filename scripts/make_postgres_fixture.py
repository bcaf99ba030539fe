"""Write tests/fixtures/postgres_released.sql: a database written by the released backend.

Usage (from the repository root, with the dev environment's Python)::

    git worktree add --detach /tmp/released-pg <released tag or main>
    python scripts/make_postgres_fixture.py /tmp/released-pg

It starts a throwaway PostgreSQL server (the test plugin's), runs the writer
below in a child process whose ``sessionstore`` is the released checkout's,
dumps the database with ``pg_dump --inserts`` and writes the content the
released code read back (records in listing order, messages as JSON) to
tests/fixtures/postgres_released.json. tests/test_postgres_migration.py loads
the dump into a fresh database and checks that the current code reads the
same content. Run it again only to add the fixture of a new released schema.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


def _messages(store_module: Any) -> dict[str, list[list[Any]]]:
    """Per session id, the calls to make: each a list of messages (first a save, then appends)."""
    m = store_module
    tool = m.ToolUseBlock("call_1", "search", {"query": "tide tables", "limit": 3})
    return {
        "plain": [[m.Message.user("hello")], [m.Message.assistant("hi there")]],
        "ünïcode-会话-🚀": [
            [m.Message.system("be brief", metadata={"lang": "ja"})],
            [m.Message.user("こんにちは", name="ユーザー")],
            [m.Message.assistant("やあ 👋")],
        ],
        "tools": [
            [m.Message.user("when is high tide?")],
            [m.Message.assistant([m.TextBlock("looking"), tool])],
            [m.Message.tool_result("call_1", "06:12 and 18:40")],
            [m.Message.tool_result("call_2", "timeout", is_error=True)],
            [m.Message.assistant("06:12", metadata={"tokens": {"in": 12, "out": 3}, "n": None})],
        ],
        "long": [[m.Message.user(f"turn {i} " + "x" * 200)] for i in range(40)],
        "empty": [[]],
        "a'quote\"and\\slash": [[m.Message.user("ids may hold anything but NUL")]],
    }


async def _write(url: str) -> dict[str, Any]:
    """Write the sessions with the released code and read them back with it."""
    import msgspec

    import sessionstore as m

    assert not hasattr(m.SessionStore, "namespace"), f"not the released code: {m.__file__}"
    async with m.PostgresSessionStore(url) as store:
        for session_id, calls in _messages(m).items():
            await store.save(session_id, calls[0])
            for call in calls[1:]:
                await store.append(session_id, call)
        moment = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
        await store.restore(
            "restored", [m.Message.user("from an export")], created_at=moment, updated_at=moment
        )
        await store.save("deleted", [m.Message.user("gone")])
        await store.delete("deleted")
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
                    "messages": json.loads(msgspec.json.encode(messages)),
                }
            )
    return {"schema_version": 2, "sessions": sessions}


def _dump(server: Any) -> str:
    bindir = server.bindir
    command = [
        str(bindir / "pg_dump"), "--inserts", "--no-owner", "--no-privileges",
        "--schema=public", server.url,
    ]  # fmt: skip
    if server.as_postgres:
        command = ["runuser", "-u", "postgres", "--", *command]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    # Plain SQL any client can run: no psql meta-commands (``\\restrict``), and a
    # database's own ``public`` schema is kept.
    lines = [line for line in result.stdout.splitlines() if not line.startswith("\\")]
    text = "\n".join(lines) + "\n"
    return text.replace("CREATE SCHEMA public;", "CREATE SCHEMA IF NOT EXISTS public;")


def main(released: Path) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from plugins.postgres import PostgresServer, _find_bindir

    bindir = _find_bindir()
    if bindir is None:
        raise SystemExit("no PostgreSQL binaries under /usr/lib/postgresql")
    server = PostgresServer(bindir)
    server.setup()
    try:
        env = {**os.environ, "PYTHONPATH": str(released / "src")}
        child = subprocess.run(
            [sys.executable, __file__, "--write", server.url],
            env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        if child.returncode != 0:
            raise SystemExit(f"the released writer failed:\n{child.stdout}\n{child.stderr}")
        FIXTURES.mkdir(exist_ok=True)
        (FIXTURES / "postgres_released.json").write_text(child.stdout, encoding="utf-8")
        (FIXTURES / "postgres_released.sql").write_text(_dump(server), encoding="utf-8")
    finally:
        server.teardown()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--write":
        content = asyncio.run(_write(sys.argv[2]))
        print(json.dumps(content, ensure_ascii=False, indent=1))
    elif len(sys.argv) == 2:
        main(Path(sys.argv[1]).resolve())
    else:
        raise SystemExit(__doc__)
