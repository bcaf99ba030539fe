"""``sessionstore export``: JSON Lines out of a store, each session once even while it is in use."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest

from cli_support import invoke, jsonl, seed, session_line
from sessionstore import Message, open_store
from sessionstore.cli.demo import DEMO_SESSIONS
from sessionstore.cli.importing import validate_import
from sessionstore.cli.reading import iter_sessions, scan_once
from sessionstore.cli.seen_ids import SeenIds
from sessionstore.cli.transfer import export_line


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


# -- export ---------------------------------------------------------------------------


def test_export_writes_one_session_per_line(url: str, tmp_path: Path) -> None:
    seed(url, DEMO_SESSIONS)
    target = tmp_path / "out.jsonl"
    result = invoke("export", "--url", url, "-o", str(target))
    assert result.exit_code == 0
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert [row["id"] for row in rows] == list(DEMO_SESSIONS)
    assert list(rows[0]) == [
        "id",
        "namespace",
        "created_at",
        "updated_at",
        "attributes",
        "messages",
    ]
    assert (rows[0]["namespace"], rows[0]["attributes"]) == ("", {})
    assert rows[0]["messages"] == DEMO_SESSIONS["demo-weather"]
    assert len(rows[0]["created_at"]) == len("2026-01-02T03:04:05.000006Z")
    one = invoke("export", "demo-support", "--url", url)
    assert [json.loads(line)["id"] for line in one.stdout.splitlines()] == ["demo-support"]


def test_export_unknown_id_fails_before_writing(url: str, tmp_path: Path) -> None:
    seed(url, {"a": []})
    target = tmp_path / "out.jsonl"
    result = invoke("export", "a", "nope", "--url", url, "-o", str(target))
    assert result.exit_code == 1
    assert "no session with id 'nope'" in result.stderr
    assert not target.exists()
    assert not [path for path in tmp_path.iterdir() if path.name.endswith(".partial")]


def test_export_to_an_unwritable_place_is_one_line(url: str, tmp_path: Path) -> None:
    seed(url, {"a": []})
    target = tmp_path / "missing-dir" / "out.jsonl"
    result = invoke("export", "--url", url, "-o", str(target))
    assert result.exit_code == 1
    assert result.stderr == f"sessionstore: error: [Errno 2] cannot write {target}: " + (
        "No such file or directory\n"
    )


# -- a store in use, and the ids already met ---------------------------------------


def test_export_of_a_store_in_use_has_every_session_once(url: str) -> None:
    """Sessions rewritten ahead of and behind the export's page are neither lost nor repeated."""
    ids = [f"s{i}" for i in range(40)]
    seed(url, {session_id: [{"role": "user", "content": session_id}] for session_id in ids})

    async def work() -> list[bytes]:
        lines: list[bytes] = []
        async with open_store(url) as store:
            async for record, messages in iter_sessions(store, page_size=4):
                lines.append(export_line(record, messages))
                if record.id not in ids:
                    continue  # created during the export
                index = ids.index(record.id)
                # Ahead: moves an unread session behind the end. Behind: brings a read one back.
                await store.append(ids[(index + 5) % len(ids)], [Message.user("ahead")])
                await store.save(ids[index // 2], [Message.assistant("behind")])
                await store.append(f"new-{index}", [Message.user("created meanwhile")])
        return lines

    lines = asyncio.run(work())
    exported = [json.loads(line)["id"] for line in lines]
    assert set(ids) <= set(exported)
    assert len(exported) == len(set(exported))
    problems, count, sessions = validate_import(io.BytesIO(b"".join(lines)))
    assert (problems, count, sessions) == ([], 0, len(exported))


@pytest.mark.parametrize("in_memory", [0, 3, 1000])
def test_seen_ids_remember_the_first_number_in_memory_and_on_disk(in_memory: int) -> None:
    ids = [f"s{i}" for i in range(20)] + ["é", " spaced ", "x" * 1024]
    with SeenIds(in_memory) as seen:
        for number, session_id in enumerate(ids):
            assert seen.setdefault(session_id, number) == number
        assert seen.on_disk == (in_memory < len(ids))
        for number, session_id in enumerate(ids):
            assert seen.setdefault(session_id, 100 + number) == number  # the first one stays
        assert len(seen) == len(ids)
    assert not seen.on_disk  # closed: the temporary database is gone


def test_export_and_import_check_keep_working_past_the_in_memory_ids(url: str) -> None:
    """With 2 ids in memory, the rest on disk: each session once, duplicates still found."""
    ids = [f"s{i}" for i in range(12)]
    seed(url, {session_id: [] for session_id in ids})

    async def work() -> list[str]:
        found: list[str] = []
        async with open_store(url) as store:
            async for record in scan_once(store, 3, in_memory=2):
                found.append(record.id)
                if len(found) == 4:  # read ones come around again, at the end
                    for session_id in found:
                        await store.append(session_id, [Message.user("again")])
        return found

    assert sorted(asyncio.run(work())) == sorted(ids)
    lines = jsonl([session_line(session_id) for session_id in [*ids, "s3", "s11"]])
    problems, count, sessions = validate_import(io.BytesIO(lines.encode()), in_memory=2)
    assert (count, sessions) == (2, 12)
    assert [str(p) for p in problems] == [
        "line 13: duplicate id 's3' (first on line 4)",
        "line 14: duplicate id 's11' (first on line 12)",
    ]
