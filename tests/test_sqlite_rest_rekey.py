"""``sessionstore rekey`` and $SESSIONSTORE_ENCRYPTION_KEYS in the CLI, on a real SQLite file."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from plugins.sqlite import raw
from sessionstore import Encryption, Message, SessionId, Snapshot, SQLiteSessionStore
from sessionstore.cli.rekey import Progress, rekey_namespaces, rekey_session

OLD, NEW = os.urandom(32), os.urandom(32)
OLD_TEXT = f"old:{base64.b64encode(OLD).decode()}"
BOTH_TEXT = f"{OLD_TEXT},new:{base64.b64encode(NEW).decode()}"
NEW_ONLY = Encryption({"new": NEW})


def _script() -> str:
    beside = Path(sys.executable).parent / "sessionstore"
    found = str(beside) if beside.exists() else shutil.which("sessionstore")
    assert found is not None, "the sessionstore console script is not installed"
    return found


def _env(keys: str | None, *, terminal: bool = False) -> dict[str, str]:
    hidden = {"SESSIONSTORE_URL", "FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR"}
    env = {key: value for key, value in os.environ.items() if key not in hidden}
    env.pop("SESSIONSTORE_ENCRYPTION_KEYS", None)
    if keys is not None:
        env["SESSIONSTORE_ENCRYPTION_KEYS"] = keys
    if terminal:
        env["TTY_COMPATIBLE"] = "1"
    return env


def _cli(*args: str, keys: str | None, terminal: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_script(), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(keys, terminal=terminal),
        check=False,
    )


async def _seed(path: Path, sessions: int, namespace: str = "") -> None:
    async with SQLiteSessionStore(path, encryption=Encryption({"old": OLD})) as store:
        view = store if not namespace else store.namespace(namespace)
        for n in range(sessions):
            messages = [Message.user(f"hello {n} {i}") for i in range(3)]
            await view.save(f"s{n}", messages, attributes={"n": n})


async def _all_under_new_key(path: Path, sessions: int, namespace: str = "") -> None:
    """Every session reads with the new key alone (nothing is left under the old one)."""
    async with SQLiteSessionStore(path, encryption=NEW_ONLY) as store:
        view = store if not namespace else store.namespace(namespace)
        for n in range(sessions):
            messages = await view.load(f"s{n}")
            assert messages is not None and messages[0].content == f"hello {n} 0"
            record = await view.get(f"s{n}")
            assert record is not None and record.attributes == {"n": n}


def _shown_no_key(result: subprocess.CompletedProcess[str]) -> None:
    for key in (OLD, NEW):
        for form in (base64.b64encode(key).decode(), key.hex()):
            assert form not in result.stdout + result.stderr


def test_rekey_rewrites_everything_with_a_progress_bar(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    asyncio.run(_seed(path, 5))
    asyncio.run(_seed(path, 3, namespace="team"))
    progress = tmp_path / "rekey.progress"
    args = ["rekey", "--url", f"sqlite:///{path}", "--all-namespaces"]
    result = _cli(*args, "--progress-file", str(progress), keys=BOTH_TEXT, terminal=True)
    assert result.returncode == 0, result.stderr
    assert "rekeying" in result.stderr and "8/8" in result.stderr  # the bar, on stderr
    assert "rekeyed 8 sessions under key 'new'" in result.stdout
    _shown_no_key(result)
    assert not progress.exists()  # done: nothing to resume
    asyncio.run(_all_under_new_key(path, 5))
    asyncio.run(_all_under_new_key(path, 3, namespace="team"))


def test_every_command_reads_the_keys_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    asyncio.run(_seed(path, 1))
    url = f"sqlite:///{path}"
    shown = _cli("show", "s0", "--url", url, keys=OLD_TEXT)
    assert shown.returncode == 0 and "hello 0 1" in shown.stdout
    without = _cli("show", "s0", "--url", url, keys=None)
    assert without.returncode == 1 and "'old'" in without.stderr
    doctor = _cli("doctor", "--url", url, keys=OLD_TEXT)
    assert doctor.returncode == 0, doctor.stdout
    bad = _cli("list", "--url", url, keys="old:not base64!")
    assert bad.returncode == 1 and "not valid base64" in bad.stderr
    no_keys = _cli("rekey", "--url", url, keys=None)
    assert no_keys.returncode == 1 and "SESSIONSTORE_ENCRYPTION_KEYS" in no_keys.stderr
    for result in (shown, without, doctor, bad, no_keys):
        _shown_no_key(result)


def test_an_interrupted_rekey_resumes(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    sessions = 400
    asyncio.run(_seed(path, sessions))
    progress = tmp_path / "rekey.progress"
    args = ["rekey", "--url", f"sqlite:///{path}", "--progress-file", str(progress)]
    process = subprocess.Popen(
        [_script(), *args],
        env=_env(BOTH_TEXT),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            if progress.exists() and progress.read_text().count("\n") >= 20:
                break
            time.sleep(0.005)
        assert process.poll() is None, "rekey finished before it could be interrupted"
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    done = progress.read_text().count("\n")
    assert 20 <= done < sessions
    with raw(path) as conn:
        stored = b"".join(p for (p,) in conn.execute("SELECT payload FROM segments"))
    assert b"old" in stored  # the interrupt left sessions under the old key
    result = _cli(*args, keys=BOTH_TEXT)
    assert result.returncode == 0, result.stderr
    assert "done by an earlier run" in result.stdout
    rewritten = int(result.stdout.split()[1])
    assert rewritten <= sessions - done + 1
    assert not progress.exists()
    asyncio.run(_all_under_new_key(path, sessions))


async def test_rekey_on_a_store_in_use(tmp_path: Path) -> None:
    """Appends racing the rekey all land, and every session ends up under the new key."""
    path = tmp_path / "s.db"
    sessions = 60
    await _seed(path, sessions)
    both = Encryption({"old": OLD, "new": NEW})
    async with SQLiteSessionStore(path, encryption=both) as store:
        stop = asyncio.Event()
        appended = [0] * sessions

        async def writer() -> None:
            while not stop.is_set():
                for n in range(sessions):
                    await store.append(f"s{n}", [Message.assistant(f"late {appended[n]}")])
                    appended[n] += 1

        task = asyncio.create_task(writer())
        await asyncio.sleep(0.05)
        with Progress(tmp_path / "p") as progress:
            result = await rekey_namespaces(store, [""], progress, lambda _: None, lambda: None)
        stop.set()
        await task
    assert result.rewritten == sessions
    async with SQLiteSessionStore(path, encryption=NEW_ONLY) as store:
        for n in range(sessions):
            messages = await store.load(f"s{n}")
            assert messages is not None
            assert [m.content for m in messages[3:]] == [f"late {i}" for i in range(appended[n])]


class _RacedStore(SQLiteSessionStore):
    """A real SQLite store whose next ``races`` snapshots are each followed by another
    connection's append to the same session: the worst moment for a rekey's rewrite."""

    racer: SQLiteSessionStore
    races = 0

    async def _snapshot(
        self, namespace: str, session_id: SessionId, start: int, stop: int | None
    ) -> Snapshot | None:
        snap = await super()._snapshot(namespace, session_id, start, stop)
        if self.races:
            self.races -= 1
            await self.racer.append(session_id, [Message.assistant("raced")])
        return snap


async def test_a_write_between_read_and_rewrite_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    await _seed(path, 1)
    both = Encryption({"old": OLD, "new": NEW})
    async with (
        _RacedStore(path, encryption=both) as store,
        SQLiteSessionStore(path, encryption=Encryption({"old": OLD})) as racer,
    ):  # the racer writes under the old key: only the rekey can move it
        store.racer, store.races = racer, 2
        exists, retries = await rekey_session(store, "s0")
    assert (exists, retries) == (True, 2)
    async with SQLiteSessionStore(path, encryption=NEW_ONLY) as store:
        messages = await store.load("s0")
        assert messages is not None
        assert [m.content for m in messages[3:]] == ["raced", "raced"]
