"""A SQLite file that cannot be written (read-only media, issue 17 item 12): it opens
read-only, every read and the CLI's list and export work, every write fails with
UnsupportedOperationError saying the file is read-only, and the file is left untouched.

The read-only place is a read-only bind mount (``plugins.sqlite.read_only_view``): the tests run
as root, whom file modes do not stop, but a read-only mount stops everyone. File and directory
modes are tested by running the check as ``nobody`` (``setpriv``), whom they do stop.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import sessionstore
from cli_support import invoke
from plugins.sqlite import read_only_view
from sessionstore import Message, SessionRecord, SQLiteSessionStore, UnsupportedOperationError

MESSAGES = [Message.user("hello"), Message.assistant("hi there")]


@pytest.fixture
def written(tmp_path: Path) -> Path:
    """A directory holding ``s.db``, a store written and closed (WAL: no -wal, -shm left)."""
    directory = tmp_path / "media"
    directory.mkdir()
    return directory


async def _fill(path: Path) -> None:
    async with SQLiteSessionStore(path) as store:
        await store.save("a", MESSAGES, attributes={"title": "first"})
        await store.namespace("team").save("b", MESSAGES[:1])


@pytest.fixture
def media(written: Path, tmp_path: Path) -> Iterator[Path]:
    """The directory of ``written``, read-only."""
    with read_only_view(written, tmp_path / "view") as view:
        yield view


#: Commits into the WAL, then dies without checkpointing or cleaning up (-wal and -shm stay).
_CRASH_AFTER_A_COMMIT = """
import os, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA wal_autocheckpoint = 0")
conn.execute("UPDATE sessions SET attributes = ? WHERE id = 'a'", (b'{"title":"wal"}',))
os._exit(0)
"""


async def _read_only_get(path: Path, session_id: str) -> SessionRecord | None:
    async with SQLiteSessionStore(path) as store:
        assert store.read_only
        return await store.get(session_id)


def _files(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


async def test_reads_work_and_writes_are_refused_on_read_only_media(
    written: Path, tmp_path: Path
) -> None:
    await _fill(written / "s.db")
    before = _files(written)
    with read_only_view(written, tmp_path / "view") as view:
        async with SQLiteSessionStore(view / "s.db") as store:
            assert store.read_only
            assert await store.load("a") == MESSAGES
            assert [record.id for record in await store.list()] == ["a"]
            assert await store.count() == 1
            assert sorted(await store.namespaces()) == ["", "team"]
            record = await store.get("a")
            assert record is not None and record.attributes == {"title": "first"}
            assert [r.id async for r in store.namespace("team").scan()] == ["b"]
            writes = [
                store.save("a", MESSAGES),
                store.append("new", MESSAGES),
                store.delete("a"),
                store.update_attributes("a", {"title": "x"}),
                store.pop("a"),
                store.clear(),
            ]
            for write in writes:
                with pytest.raises(UnsupportedOperationError, match="is read-only") as caught:
                    await write
                assert str(view / "s.db") in str(caught.value)
            assert await store.load("a") == MESSAGES
    assert _files(written) == before, "the read-only file changed"


def test_the_cli_lists_and_exports_a_file_on_read_only_media(written: Path, tmp_path: Path) -> None:
    asyncio.run(_fill(written / "s.db"))
    with read_only_view(written, tmp_path / "view") as view:
        url = f"sqlite:///{view / 's.db'}"
        listed = invoke("list", "--url", url)
        assert listed.exit_code == 0, listed.output
        assert "a" in listed.stdout
        target = tmp_path / "out.jsonl"
        exported = invoke("export", "--url", url, "-o", str(target))
        assert exported.exit_code == 0, exported.output
        assert [json.loads(line)["id"] for line in target.read_text().splitlines()] == ["a"]
        refused = invoke("delete", "a", "--url", url)
        assert refused.exit_code != 0 and "read-only" in refused.output


def test_a_wal_with_commits_not_yet_checkpointed_is_read_on_read_only_media(
    written: Path, tmp_path: Path
) -> None:
    """A file whose last commits are still in its -wal (say the writer crashed, then the
    media was made read-only) must show those commits: it cannot open ``immutable``."""
    path = written / "s.db"
    asyncio.run(_fill(path))
    subprocess.run([sys.executable, "-c", _CRASH_AFTER_A_COMMIT, str(path)], check=True)
    assert (written / "s.db-wal").stat().st_size > 0
    with read_only_view(written, tmp_path / "view") as view:
        record = asyncio.run(_read_only_get(view / "s.db", "a"))
    assert record is not None and record.attributes == {"title": "wal"}


async def test_a_writable_file_still_opens_for_writing(written: Path) -> None:
    path = written / "s.db"
    await _fill(path)
    async with SQLiteSessionStore(path) as store:
        assert not store.read_only
        await store.append("a", MESSAGES)


# -- permissions, as an unprivileged user -----------------------------------------------------

#: Run as ``nobody``: read the store, try a write, print what happened as JSON.
_AS_NOBODY = """
import asyncio, json, sys
from sessionstore import Message, SQLiteSessionStore, SessionStoreError

async def main():
    outcome = {}
    try:
        async with SQLiteSessionStore(sys.argv[1]) as store:
            outcome["read_only"] = store.read_only
            outcome["loaded"] = [m.text for m in await store.load("a") or []]
            try:
                await store.append("a", [Message.user("more")])
                outcome["write"] = "written"
            except SessionStoreError as exc:
                outcome["write"] = f"{type(exc).__name__}: {exc}"
    except SessionStoreError as exc:
        outcome["open"] = f"{type(exc).__name__}: {exc}"
    print(json.dumps(outcome))

asyncio.run(main())
"""


@pytest.fixture
def shared_directory() -> Iterator[Path]:
    """A directory ``nobody`` can reach (pytest's ``tmp_path`` is private to root)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run a check as another user")
    with tempfile.TemporaryDirectory(dir="/tmp") as name:
        directory = Path(name) / "shared"
        directory.mkdir()
        Path(name).chmod(0o755)
        yield directory


def _as_nobody(path: Path) -> dict[str, Any]:
    """File modes stop ``nobody``, unlike root: the honest way to test them."""
    command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    done = subprocess.run(
        [*command, sys.executable, "-c", _AS_NOBODY, str(path)],
        capture_output=True, text=True, check=False, timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(sessionstore.__file__).parents[1])},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    outcome: dict[str, Any] = json.loads(done.stdout)
    return outcome


def test_a_file_the_user_cannot_write_is_read_and_not_written(shared_directory: Path) -> None:
    path = shared_directory / "s.db"
    asyncio.run(_fill(path))
    path.chmod(0o644)
    shared_directory.chmod(0o777)  # the -shm can be made: mode=ro reads the WAL file
    before = path.read_bytes()
    outcome = _as_nobody(path)
    assert outcome["read_only"] is True and outcome["loaded"] == ["hello", "hi there"]
    assert (
        outcome["write"].startswith("UnsupportedOperationError") and "read-only" in outcome["write"]
    )
    assert path.read_bytes() == before


def test_a_wal_file_in_a_directory_the_user_cannot_write_says_why_it_cannot_be_read(
    shared_directory: Path,
) -> None:
    """No -shm can be made, and the file is not on read-only media (its owner may write it:
    ``immutable`` would be unsafe), so SQLite cannot read it: the error says so."""
    path = shared_directory / "s.db"
    asyncio.run(_fill(path))
    shared_directory.chmod(0o755)
    outcome = _as_nobody(path)
    assert outcome["open"].startswith("StoreUnavailableError"), outcome
    assert "-shm" in outcome["open"] and "read-only" in outcome["open"]
