"""What SQLite pushes down: namespace reads through their index, slices and tail edits that
touch only the segments they need, forks copied inside SQLite, the listing counter."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugins.sqlite import raw
from sessionstore import CorruptSessionError, Message
from sessionstore.backends.sqlite import SQLiteSessionStore
from sessionstore.backends.sqlite import schema as sql

# A message of about 1 KiB: 200 of them make a transcript of several segments.
_FILLER = "x" * 1000


def _messages(count: int, first: int = 0) -> list[Message]:
    return [Message.user(f"{n} {_FILLER}") for n in range(first, first + count)]


def _segments(path: Path, session_id: str) -> list[tuple[int, int, int, int]]:
    """(rowid, first_index, message_count, payload bytes) of each segment, in order."""
    with raw(path) as conn:
        return conn.execute(
            "SELECT id, first_index, message_count, length(payload) FROM segments "
            "WHERE session_key = (SELECT key FROM sessions WHERE namespace = '' AND id = ?) "
            "ORDER BY first_index",
            (session_id,),
        ).fetchall()


def _spoil_all_but_last(path: Path, session_id: str, keep: int) -> list[int]:
    """Make every segment of the session but the last ``keep`` undecodable; their rowids."""
    rowids = [row[0] for row in _segments(path, session_id)][:-keep]
    with raw(path) as conn:
        conn.executemany("UPDATE segments SET payload = x'00' WHERE id = ?", [(r,) for r in rowids])
    return rowids


def _plan(path: Path, query: str, params: tuple[object, ...]) -> str:
    with raw(path) as conn:
        rows = conn.execute(f"EXPLAIN QUERY PLAN {query}", params).fetchall()
    return "\n".join(row[-1] for row in rows)


@pytest.mark.parametrize(
    ("query", "params"),
    [
        (sql.LIST_ASCENDING, ("t", 10, 0)),
        (sql.LIST_DESCENDING, ("t", 10, 0)),
        (sql.SCAN_AFTER, ("t", 0, 10)),
        (sql.COUNT_SESSIONS, ("t",)),
        (sql.PRUNE_SELECT_KEYS[(True, False)], ("t", 0)),
        (sql.PRUNE_SELECT_KEYS[(False, True)], ("t", None, 3)),
        (sql.PRUNE_SELECT_KEYS[(True, True)], ("t", 0, 3)),
        (sql.CLEAR_SEGMENTS, ("t",)),
        (sql.CLEAR_SESSIONS, ("t",)),
    ],
    ids=["list", "list-newest-first", "scan", "count", "prune-before", "prune-keep",
         "prune-both", "clear-segments", "clear-sessions"],
)  # fmt: skip
async def test_namespace_reads_search_an_index_that_leads_with_the_namespace(
    tmp_path: Path, query: str, params: tuple[object, ...]
) -> None:
    path = tmp_path / "plan.db"
    async with SQLiteSessionStore(path) as store:
        for name in ("", "t", "u"):
            await store.namespace(name if name else "x").save("s", [Message.user("m")])
    plan = _plan(path, query, params)
    sessions = [line for line in plan.splitlines() if "sessions" in line]
    assert sessions, plan
    for line in sessions:
        assert line.startswith("SEARCH"), plan  # never a SCAN of the whole table
        assert "(namespace=?" in line, plan
    assert "TEMP B-TREE" not in plan, plan  # the order comes from the index


def test_namespaces_and_slices_seek_their_indexes(tmp_path: Path) -> None:
    import asyncio

    path = tmp_path / "plan.db"

    async def make() -> None:
        async with SQLiteSessionStore(path) as store:
            await store.save("s", [Message.user("m")])

    asyncio.run(make())
    plan = _plan(path, sql.SELECT_SLICE, (1, 5, 10))
    assert "SCAN" not in plan, plan
    assert "segments_by_session (session_key=? AND first_index" in plan, plan
    namespaces = _plan(path, sql.NAMESPACES, ())
    assert "SCAN sessions" not in namespaces, namespaces


async def test_save_splits_a_large_transcript_into_segments_of_about_32_kib(
    tmp_path: Path,
) -> None:
    path = tmp_path / "split.db"
    messages = _messages(200)
    async with SQLiteSessionStore(path) as store:
        await store.save("s", messages)
        segments = _segments(path, "s")
        assert len(segments) >= 200_000 // sql.SMALL_SEGMENT_BYTES
        assert all(size < sql.SMALL_SEGMENT_BYTES + 2048 for *_, size in segments)
        # Contiguous: each segment starts where the one before it ended.
        ends = [first + count for _, first, count, _ in segments]
        assert [first for _, first, _, _ in segments] == [0, *ends[:-1]]
        assert ends[-1] == 200
        assert await store.load("s") == messages


async def test_slices_and_tail_edits_read_only_the_segments_they_need(tmp_path: Path) -> None:
    path = tmp_path / "tail.db"
    messages = _messages(200)
    async with SQLiteSessionStore(path) as store:
        await store.save("s", messages)
        spoiled = _spoil_all_but_last(path, "s", keep=2)
        with pytest.raises(CorruptSessionError):
            await store.load("s")
        assert await store.load("s", start=-20) == messages[-20:]
        assert await store.load("s", start=-20, stop=-5) == messages[-20:-5]
        snap = await store.snapshot("s", start=-3)
        assert snap is not None and snap.messages == messages[-3:]
        assert await store.pop("s", 3) == messages[-3:]
        record = await store.replace_tail("s", -2, [Message.user("new")])
        assert record.message_count == 196
        assert await store.load("s", start=-3) == [*messages[193:195], Message.user("new")]
        await store.append("s", [Message.user("more")])
        assert await store.load("s", start=-2) == [Message.user("new"), Message.user("more")]
        # The early segments were neither read nor rewritten.
        assert [row[0] for row in _segments(path, "s")][: len(spoiled)] == spoiled


async def test_fork_copies_segments_inside_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "fork.db"
    messages = _messages(200)
    async with SQLiteSessionStore(path) as store:
        await store.save("s", messages, attributes={"title": "source"})
        _spoil_all_but_last(path, "s", keep=1)  # not decodable: so never decoded
        record = await store.fork("s", "copy")
        assert record.message_count == 200 and record.attributes == {"title": "source"}
        source, copy = _segments(path, "s"), _segments(path, "copy")
        assert [row[1:] for row in copy] == [row[1:] for row in source]
        assert await store.load("copy", start=-2) == messages[-2:]


async def test_fork_with_stop_cuts_only_the_segment_at_stop(tmp_path: Path) -> None:
    path = tmp_path / "fork-stop.db"
    messages = _messages(200)
    async with SQLiteSessionStore(path) as store:
        await store.save("s", messages)
        await store.save("copy", [Message.user("old")])
        cut = _segments(path, "s")[1][1] + 3  # three messages into the second segment
        record = await store.fork("s", "copy", stop=cut)
        assert record.message_count == cut and record.version == 2
        assert await store.load("copy") == messages[:cut]
        assert await store.load("s") == messages


async def test_listing_counter_never_goes_back(tmp_path: Path) -> None:
    path = tmp_path / "seq.db"
    async with SQLiteSessionStore(path) as store:
        await store.save("a", [])
        await store.save("newest", [])
        await store.delete("newest")
        await store.save("b", [])
        with raw(path) as conn:
            seqs = dict(conn.execute("SELECT id, seq FROM sessions").fetchall())
            counter = conn.execute("SELECT seq FROM listing").fetchone()[0]
        assert seqs == {"a": 1, "b": 3}
        assert counter == 3


async def test_update_attributes_keeps_the_listing_position(tmp_path: Path) -> None:
    path = tmp_path / "attrs.db"
    async with SQLiteSessionStore(path) as store:
        first = await store.save("a", [Message.user("1")])
        await store.save("b", [Message.user("2")])
        record = await store.update_attributes("a", {"title": "renamed"})
        assert record.version == 2 and record.updated_at == first.updated_at
        assert [r.id for r in await store.list()] == ["a", "b"]
        with raw(path) as conn:
            stored = conn.execute("SELECT attributes FROM sessions WHERE id = 'a'").fetchone()[0]
        assert stored == b'{"title":"renamed"}'
        await store.update_attributes("a", {"title": None})
        with raw(path) as conn:
            stored = conn.execute("SELECT attributes FROM sessions WHERE id = 'a'").fetchone()[0]
        assert stored is None
