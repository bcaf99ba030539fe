"""Write tests/fixtures/redis_released.json: keys written by the released Redis backend.

Run with the released code checked out beside this one (the default is where
``git worktree add --detach /tmp/released-redis main`` puts it)::

    python scripts/make_redis_fixture.py [/tmp/released-redis]

It starts a throwaway ``redis-server`` on a free loopback port, writes a few
sessions with the released ``RedisSessionStore`` (saves, appends long enough to
make the write script merge segments, a restore with old timestamps, an empty
transcript, awkward ids), and dumps every key type by type as JSON (not
``DUMP``, whose RDB payload is tied to a server version), with what each
session must read back as: its record and its messages, in listing order.
``tests/test_redis_migration.py`` restores the keys and checks the new code
against that.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PREFIX = "sessionstore:"
OUTPUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "redis_released.json"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start(port: int, directory: str) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", directory],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    import redis

    client = redis.Redis(port=port)
    for _ in range(200):
        try:
            client.ping()
            return server
        except redis.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


def _text(data: bytes) -> str:
    return data.decode("utf-8")


def _dump(port: int) -> dict[str, Any]:
    """Every key of database 0, type-aware: string, list, hash and zset values."""
    import redis

    client = redis.Redis(port=port)
    keys: dict[str, Any] = {}
    for key in sorted(client.scan_iter(count=1000)):
        kind = _text(client.type(key))
        if kind == "string":
            value: Any = _text(client.get(key))
        elif kind == "list":
            value = [_text(item) for item in client.lrange(key, 0, -1)]
        elif kind == "hash":
            value = {_text(k): _text(v) for k, v in sorted(client.hgetall(key).items())}
        elif kind == "zset":
            value = [[_text(m), int(s)] for m, s in client.zrange(key, 0, -1, withscores=True)]
        else:
            raise RuntimeError(f"unexpected key type {kind} for {key!r}")
        keys[_text(key)] = {"type": kind, "value": value}
    return keys


def _message(role: str, text: str) -> dict[str, Any]:
    return {"role": role, "content": text}


async def _write(url: str) -> list[dict[str, Any]]:
    """The released code's sessions; returns what each must read back as, in listing order."""
    from sessionstore import RedisSessionStore

    async with RedisSessionStore(url, key_prefix=PREFIX) as store:
        await store.save("plain", [_message("user", "hello"), _message("assistant", "hi")])
        # Forty small appends: the released write script merges a run of 32 segments.
        for index in range(40):
            await store.append("chatty", [_message("user", f"turn {index}")])
        await store.save("empty", [])
        await store.append("ünï cøde:{tag}", [_message("system", "be brief")])
        await store.append("ünï cøde:{tag}", [_message("user", "x" * 20_000)])
        await store.restore(
            "restored",
            [_message("user", "old"), _message("assistant", "older")],
            created_at=datetime(2020, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
            updated_at=datetime(2021, 6, 7, 8, 9, 10, 111213, tzinfo=UTC),
        )
        tool = {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "calling"},
                {"type": "tool_use", "id": "t1", "name": "search", "input": {"q": "é"}},
            ],
        }
        await store.save("blocks", [tool])
        await store.append("plain", [_message("user", "again")])
        expected = []
        for record in await store.list():
            messages = await store.load(record.id)
            assert messages is not None
            expected.append(
                {
                    "id": record.id,
                    "message_count": record.message_count,
                    "created_at": record.created_at.isoformat(),
                    "updated_at": record.updated_at.isoformat(),
                    "version": record.version,
                    "messages": [message.to_dict() for message in messages],
                }
            )
        return expected


def main() -> None:
    released = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/released-redis")
    sys.path.insert(0, str(released / "src"))
    import sessionstore

    if not Path(sessionstore.__file__).is_relative_to(released):
        raise SystemExit(f"sessionstore came from {sessionstore.__file__}, not {released}")
    commit = subprocess.run(
        ["git", "-C", str(released), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    directory = tempfile.mkdtemp(prefix="redis-fixture-")
    port = _free_port()
    server = _start(port, directory)
    try:
        expected = asyncio.run(_write(f"redis://127.0.0.1:{port}/0"))
        document = {
            "written_by": f"sessionstore {commit} (the released Redis backend)",
            "key_prefix": PREFIX,
            "keys": _dump(port),
            "sessions": expected,
        }
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(directory, ignore_errors=True)
    OUTPUT.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {OUTPUT}: {len(document['keys'])} keys, {len(expected)} sessions")


if __name__ == "__main__":
    main()
