"""Data at rest on a real SQLite file: what the file and its WAL hold, and what reads take."""

from __future__ import annotations

import base64
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from plugins.sqlite import raw, segment_count
from sessionstore import (
    CorruptSessionError,
    Encryption,
    Message,
    SessionStore,
    SQLiteSessionStore,
)
from sessionstore.backends.base import MissingKeyError
from sessionstore.backends.sqlite import schema

KEY_1 = os.urandom(32)
KEY_2 = os.urandom(32)


def _store(path: Path, **options: Any) -> SQLiteSessionStore:
    return SQLiteSessionStore(path, **options)


async def _load(store: SessionStore, session_id: str, **kwargs: Any) -> list[Message]:
    """The messages of a session that exists."""
    messages = await store.load(session_id, **kwargs)
    assert messages is not None
    return messages


def _marker() -> str:
    return f"MARKER-{uuid.uuid4().hex}"


def _file_bytes(path: Path) -> bytes:
    """The database file and its WAL (if any), as they are on disk."""
    data = path.read_bytes()
    wal = path.with_name(path.name + "-wal")
    return data + (wal.read_bytes() if wal.exists() else b"")


def _messages(marker: str, count: int, start: int = 0) -> list[Message]:
    return [Message.user(f"{marker} message {start + i} " + "x" * 40) for i in range(count)]


SEALED: list[dict[str, Any]] = [
    {"encryption": Encryption({"k1": KEY_1})},
    {"encryption": Encryption({"k1": KEY_1}), "compression": "zstd"},
]


@pytest.mark.parametrize("options", SEALED, ids=["encrypted", "encrypted+zstd"])
async def test_no_plaintext_in_the_file_or_wal(tmp_path: Path, options: dict[str, Any]) -> None:
    path = tmp_path / "s.db"
    marker = _marker()
    async with _store(path, **options) as store:
        await store.save("a", _messages(marker, 3000), attributes={"note": marker})
        for i in range(3 * schema.MAX_SMALL_RUN):  # small appends, and the run merges
            await store.append("a", _messages(marker, 1, 3000 + i), attributes={f"k{i}": marker})
        await store.pop("a", 5)
        await store.replace_tail("a", -10, _messages(marker, 4))
        await store.fork("a", "b", stop=1500)
        await store.update_attributes("b", {"other": marker})
        assert marker.encode() not in _file_bytes(path)  # the WAL holds these commits
        loaded = await _load(store, "b")
        assert len(loaded) == 1500 and marker in str(loaded[0].content)
        record = await store.get("b")
        assert record is not None and record.attributes["other"] == marker
    assert marker.encode() not in _file_bytes(path)  # checkpointed into the file


async def test_appends_stay_bounded_with_encryption(tmp_path: Path) -> None:
    """Each small append is one sealed segment; the run merge keeps the count bounded."""
    path = tmp_path / "s.db"
    async with _store(path, encryption=Encryption({"k1": KEY_1}), compression="zstd") as store:
        for i in range(10 * schema.MAX_SMALL_RUN):
            await store.append("a", _messages("m", 1, i))
        assert len(await _load(store, "a")) == 10 * schema.MAX_SMALL_RUN
        assert [m.content for m in await _load(store, "a", start=-2)] == [
            m.content for m in _messages("m", 2, 10 * schema.MAX_SMALL_RUN - 2)
        ]
    assert segment_count(path, "a") <= schema.MAX_SMALL_RUN + 1


async def test_tampered_byte_breaks_that_session_only(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    options: dict[str, Any] = {"encryption": Encryption({"k1": KEY_1}), "compression": "zstd"}
    async with _store(path, **options) as store:
        await store.save("victim", _messages("v", 50))
        await store.save("bystander", _messages("b", 50))
    with raw(path) as conn:
        (payload,) = conn.execute(
            "SELECT payload FROM segments WHERE session_key = "
            "(SELECT key FROM sessions WHERE id = 'victim')"
        ).fetchone()
        changed = bytearray(payload)
        changed[-5] ^= 1
        conn.execute("UPDATE segments SET payload = ? WHERE payload = ?", (bytes(changed), payload))
    async with _store(path, **options) as store:
        with pytest.raises(CorruptSessionError) as caught:
            await _load(store, "victim")
        assert caught.value.session_id == "victim"
        assert len(await _load(store, "bystander")) == 50
        assert (await store.get("victim")) is not None  # the record stays readable


async def test_payloads_swapped_between_sessions_do_not_decrypt(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    options: dict[str, Any] = {"encryption": Encryption({"k1": KEY_1})}
    async with _store(path, **options) as store:
        await store.save("a", _messages("a", 3), attributes={"who": "a"})
        await store.save("b", _messages("b", 3), attributes={"who": "b"})
    with raw(path) as conn:
        keys = dict(conn.execute("SELECT id, key FROM sessions"))
        conn.execute("UPDATE segments SET session_key = -1 WHERE session_key = ?", (keys["a"],))
        conn.execute(
            "UPDATE segments SET session_key = ? WHERE session_key = ?", (keys["a"], keys["b"])
        )
        conn.execute("UPDATE segments SET session_key = ? WHERE session_key = -1", (keys["b"],))
        conn.execute(
            "UPDATE sessions SET attributes = (SELECT attributes FROM sessions WHERE id = 'b') "
            "WHERE id = 'a'"
        )
    async with _store(path, **options) as store:
        for session_id in ("a", "b"):
            with pytest.raises(CorruptSessionError):
                await _load(store, session_id)
        with pytest.raises(CorruptSessionError):
            await store.get("a")


async def test_segment_moved_within_a_session_does_not_decrypt(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    options: dict[str, Any] = {"encryption": Encryption({"k1": KEY_1})}
    async with _store(path, **options) as store:
        await store.append("a", _messages("a", 1))
        await store.append("a", _messages("a", 1, 1))
    with raw(path) as conn:
        rows = conn.execute("SELECT first_index, payload FROM segments ORDER BY first_index")
        (_, first), (_, second) = rows.fetchall()
        conn.execute("UPDATE segments SET payload = ? WHERE first_index = 0", (second,))
        conn.execute("UPDATE segments SET payload = ? WHERE first_index = 1", (first,))
    async with _store(path, **options) as store:
        with pytest.raises(CorruptSessionError):
            await _load(store, "a")


async def test_wrong_key_and_missing_key(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with _store(path, encryption=Encryption({"k1": KEY_1})) as store:
        await store.save("a", _messages("a", 3), attributes={"x": 1})
    async with _store(path, encryption=Encryption({"k1": KEY_2})) as store:
        with pytest.raises(CorruptSessionError) as wrong:
            await _load(store, "a")
        assert not isinstance(wrong.value, MissingKeyError)
    async with _store(path, encryption=Encryption({"other": KEY_2})) as store:
        with pytest.raises(MissingKeyError) as missing:
            await _load(store, "a")
        assert missing.value.key_id == "k1" and "'k1'" in str(missing.value)
    async with _store(path) as store:  # no keys at all
        with pytest.raises(CorruptSessionError, match="k1"):
            await _load(store, "a")
        await store.delete("a")  # deleting needs no key
        assert await store.get("a") is None


async def test_rotation(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with _store(path, encryption=Encryption({"old": KEY_1})) as store:
        await store.save("a", _messages("a", 5), attributes={"x": 1})
        await store.save("b", _messages("b", 5))
    rotated = Encryption({"old": KEY_1, "new": KEY_2})
    assert rotated.primary == "new"
    async with _store(path, encryption=rotated) as store:
        assert len(await _load(store, "a")) == 5  # old key id still reads
        await store.append("a", _messages("a", 1, 5))
        await store.save("b", await _load(store, "b"))  # a rewrite: all under the primary
    with raw(path) as conn:
        stored = b"".join(p for (p,) in conn.execute("SELECT payload FROM segments"))
    assert b"new" in stored
    async with _store(path, encryption=Encryption({"new": KEY_2})) as store:
        assert len(await _load(store, "b")) == 5  # rewritten under the new key alone
        with pytest.raises(MissingKeyError, match="old"):
            await _load(store, "a")  # its first segment is still under the old key


async def test_plaintext_sessions_read_and_are_sealed_on_rewrite(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    marker = _marker()
    async with _store(path) as store:
        await store.save("a", _messages(marker, 20), attributes={"m": marker})
    assert marker.encode() in _file_bytes(path)
    async with _store(path, encryption=Encryption({"k1": KEY_1}), compression="zstd") as store:
        loaded = await _load(store, "a")
        assert len(loaded) == 20
        assert (await store.get("a")).attributes == {"m": marker}  # type: ignore[union-attr]
        await store.append("a", _messages(marker, 1, 20))
        await store.save("a", await _load(store, "a"))
        assert len(await _load(store, "a")) == 21
    with raw(path) as conn:
        conn.execute("VACUUM")  # drop the freed pages that held the plaintext
    assert marker.encode() not in _file_bytes(path)


async def test_compression_on_and_off_read_each_other(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    text = "the same words again " * 200
    async with _store(path, compression="zstd") as store:
        await store.save("z", [Message.user(text)] * 50, attributes={"t": text})
        for i in range(schema.MAX_SMALL_RUN + 2):
            await store.append("z", [Message.user(f"{text} {i}")])
    with raw(path) as conn:
        assert all(p[:1] == b"\0" for (p,) in conn.execute("SELECT payload FROM segments"))
    async with _store(path) as plain:
        assert len(await _load(plain, "z")) == 50 + schema.MAX_SMALL_RUN + 2
        for i in range(schema.MAX_SMALL_RUN + 2):  # a plain store merges compressed runs
            await plain.append("z", [Message.user(f"plain {i}")])
        await plain.fork("z", "copy", stop=60)
        await plain.pop("z", 3)
        assert len(await _load(plain, "z", start=-5)) == 5
        assert len(await _load(plain, "copy")) == 60
        await plain.save("p", [Message.user(text)])
    async with _store(path, compression="zstd") as store:
        assert [m.content for m in await _load(store, "p")] == [text]
        assert len(await _load(store, "z")) == 50 + 2 * (schema.MAX_SMALL_RUN + 2) - 3
        assert (await store.get("z")).attributes == {"t": text}  # type: ignore[union-attr]


async def test_compression_makes_the_file_smaller(tmp_path: Path) -> None:
    sizes = {}
    for name, options in (("plain", {}), ("zstd", {"compression": "zstd"})):
        path = tmp_path / f"{name}.db"
        async with _store(path, **options) as store:
            for n in range(20):
                await store.save(f"s{n}", _messages("repetitive transcript text", 200))
        with raw(path) as conn:
            conn.execute("VACUUM")
        sizes[name] = path.stat().st_size
    assert sizes["zstd"] * 2 < sizes["plain"]


async def test_keys_never_shown(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    encryption = Encryption({"k1": KEY_1})
    store = _store(path, encryption=encryption)
    shown = [repr(store), repr(encryption)]
    async with store:
        await store.save("a", _messages("a", 2))
    async with _store(path, encryption=Encryption({"k1": KEY_2})) as wrong:
        with pytest.raises(CorruptSessionError) as caught:
            await _load(wrong, "a")
        shown += [str(caught.value), repr(caught.value)]
    for key in (KEY_1, KEY_2):
        for form in (key.hex(), base64.b64encode(key).decode(), repr(key)):
            assert all(form not in text for text in shown)


async def test_bad_options_are_refused(tmp_path: Path) -> None:
    from sessionstore import InvalidArgumentError, open_store

    with pytest.raises(InvalidArgumentError, match="compression"):
        _store(tmp_path / "s.db", compression="gzip")
    with pytest.raises(InvalidArgumentError, match="encryption"):
        _store(tmp_path / "s.db", encryption={"k": KEY_1})
    url = f"sqlite:///{tmp_path / 'u.db'}"
    async with open_store(url, encryption=Encryption({"k1": KEY_1})) as store:
        await store.save("a", _messages("a", 1))
    async with open_store(url, encryption=Encryption({"k1": KEY_1})) as store:
        assert len(await _load(store, "a")) == 1


async def test_fork_seals_under_the_target_and_a_plain_store_refuses_ciphertext(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.db"
    options: dict[str, Any] = {"encryption": Encryption({"k1": KEY_1})}
    async with _store(path, **options) as store:
        await store.save("a", _messages("a", 700))
        await store.fork("a", "b", stop=333)
        assert [m.content for m in await _load(store, "b")] == [
            m.content for m in _messages("a", 333)
        ]
    async with _store(path) as plain:
        with pytest.raises(CorruptSessionError, match="k1"):
            await plain.fork("a", "c")
        assert await plain.get("c") is None  # nothing written
