"""``SyncSessionStore``: the contract for synchronous code, from threads and running loops."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sessionstore import (
    ConflictError,
    InvalidArgumentError,
    InvalidSessionIdError,
    ListOptions,
    Message,
    SessionNotFoundError,
    StoreClosedError,
    open_store,
)
from sessionstore.sync import SyncSessionStore


@pytest.fixture
def facade(store_url: str) -> Iterator[SyncSessionStore]:
    with SyncSessionStore(store_url) as store:
        yield store


def test_writes_and_reads_return_plain_values(facade: SyncSessionStore) -> None:
    record = facade.save("a", [Message.user("one"), Message.assistant("two")])
    assert record.version == 1 and record.message_count == 2
    assert facade.append("a", [{"role": "user", "content": "three"}]).message_count == 3
    assert [m.text for m in facade.load("a") or []] == ["one", "two", "three"]
    assert [m.text for m in facade.load("a", start=-1) or []] == ["three"]
    assert facade.load("missing") is None
    snap = facade.snapshot("a", start=1)
    assert snap is not None and snap.record.version == 2 and len(snap.messages) == 2
    assert facade.get("a") == snap.record
    assert facade.count() == 1


def test_listing_paging_and_scan(facade: SyncSessionStore) -> None:
    for name in ["s1", "s2", "s3"]:
        facade.append(name, [Message.user(name)])
    assert [r.id for r in facade.list()] == ["s1", "s2", "s3"]
    page = facade.list_paginated(ListOptions(limit=2, newest_first=True))
    assert [r.id for r in page] == ["s3", "s2"]
    assert [r.id for r in facade.scan(page_size=2)] == ["s1", "s2", "s3"]


def test_scan_stopped_early_leaves_the_facade_usable(facade: SyncSessionStore) -> None:
    for name in ["s1", "s2", "s3"]:
        facade.append(name, [Message.user(name)])
    records = facade.scan(page_size=1)
    assert next(records).id == "s1"
    records.close()
    assert facade.count() == 3


def test_pop_replace_tail_fork_and_attributes(facade: SyncSessionStore) -> None:
    facade.save("a", [Message.user(str(i)) for i in range(5)])
    assert [m.text for m in facade.pop("a", 2)] == ["3", "4"]
    facade.replace_tail("a", -1, [Message.assistant("summary")])
    assert [m.text for m in facade.load("a") or []] == ["0", "1", "summary"]
    facade.update_attributes("a", {"title": "Trip"})
    facade.fork("a", "b", stop=2)
    forked = facade.get("b")
    assert forked is not None and forked.message_count == 2
    assert forked.attributes == {"title": "Trip"}
    with pytest.raises(SessionNotFoundError):
        facade.fork("nope", "c")


def test_errors_are_the_librarys_own(facade: SyncSessionStore) -> None:
    with pytest.raises(InvalidSessionIdError):
        facade.load("")
    facade.save("a", [Message.user("x")])
    with pytest.raises(ConflictError):
        facade.save("a", [], expected_version=7)


def test_delete_clear_and_prune(facade: SyncSessionStore) -> None:
    for name in ["s1", "s2", "s3"]:
        facade.append(name, [Message.user(name)])
    facade.delete("s1")
    assert facade.prune(keep_newest=1) == 1
    assert [r.id for r in facade.list()] == ["s3"]
    assert facade.clear() == 1 and facade.count() == 0


def test_restore_keeps_the_given_timestamps(facade: SyncSessionStore) -> None:
    if not facade.supports_restore:
        pytest.skip("the backend lacks the optional restore capability")
    created = datetime(2025, 1, 1, tzinfo=UTC)
    record = facade.restore(
        "old", [Message.user("x")], created_at=created, updated_at=created + timedelta(days=1)
    )
    assert record.created_at == created


def test_namespace_views_see_their_own_sessions(facade: SyncSessionStore) -> None:
    tenant = facade.namespace("tenant-7")
    tenant.save("a", [Message.user("tenant")])
    facade.save("a", [Message.user("default")])
    assert tenant.namespace_name == "tenant-7"
    assert [m.text for m in tenant.load("a") or []] == ["tenant"]
    assert facade.namespaces() == ["", "tenant-7"]
    tenant.close()  # a view's close does nothing
    assert [m.text for m in facade.load("a") or []] == ["default"]


def test_many_threads_share_one_facade(facade: SyncSessionStore) -> None:
    errors: list[BaseException] = []

    def work(number: int) -> None:
        try:
            for step in range(10):
                facade.append("shared", [Message.user(f"{number}-{step}")])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    record = facade.get("shared")
    assert record is not None and record.message_count == 50 and record.version == 50


async def test_works_inside_a_running_event_loop(store_url: str) -> None:
    # What a notebook cell does: plain calls while the caller's loop is running.
    with SyncSessionStore(store_url) as facade:
        facade.save("nb", [Message.user("hi")])
        assert facade.load("nb") == [Message.user("hi")]


def test_one_store_from_the_facade_and_asyncio_run_per_call(store_url: str) -> None:
    store = open_store(store_url)
    with SyncSessionStore(store) as facade:
        for step in range(3):
            asyncio.run(store.append("mixed", [Message.user(f"async {step}")]))
            facade.append("mixed", [Message.user(f"sync {step}")])
        assert len(facade.load("mixed") or []) == 6
        assert not store.closed  # a store given to the facade stays open
        loaded = asyncio.run(store.load("mixed"))
        assert loaded is not None and loaded[-1].text == "sync 2"
    assert facade.closed and not store.closed
    with pytest.raises(StoreClosedError):
        facade.count()
    assert asyncio.run(store.count()) == 1
    asyncio.run(store.close())


def test_close_closes_a_store_opened_from_a_url(store_url: str) -> None:
    facade = SyncSessionStore(store_url)
    facade.save("a", [Message.user("x")])
    facade.close()
    facade.close()  # idempotent
    assert facade.closed
    with pytest.raises(StoreClosedError):
        facade.load("a")


def test_without_a_url_it_opens_sessionstore_url(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SESSIONSTORE_URL", store_url)
    with SyncSessionStore() as facade:
        assert facade.count() == 0
        assert type(facade.store) is type(open_store(store_url))


def test_bad_argument_raises_invalid_argument() -> None:
    with pytest.raises(InvalidArgumentError, match="SessionStore, a URL or None"):
        SyncSessionStore(42)  # type: ignore[arg-type]


def test_the_readme_example_runs(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Synchronous code", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None
    exec(match.group(1).replace("sqlite:///sessions.db", store_url), {})
    assert capsys.readouterr().out.strip() == "['Hi!']"
