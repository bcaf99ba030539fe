"""``import`` is all-or-nothing, and a rerun continues an interrupted one (issue 17, item 3).

Validation covers everything the write does: a timestamp that parses but
cannot be expressed in UTC (``0001-01-01T00:00:00+01:00``) is refused before
anything is written. When the store fails midway (a Redis server out of
memory with ``noeviction``, a real full store), the error says exactly how
many sessions were written, and running the same import again writes the rest:
a session already there with the line's exact contents is left as it is.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import redis
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cli_support import contents, invoke, jsonl, records, session_line
from plugins._urls import StoreUrls
from plugins.redis import RedisServer
from sessionstore import InMemorySessionStore
from sessionstore.cli.import_writing import write_import
from sessionstore.cli.importing import ImportFile

offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
edges = st.sampled_from([datetime(1, 1, 1), datetime(1, 1, 1, 23, 59), datetime(9999, 12, 31)])
moments = st.builds(
    lambda naive, zone: naive.replace(tzinfo=zone),
    st.one_of(edges, edges.map(lambda d: d.replace(hour=12)), st.datetimes()),
    offsets,
)


# Each StoreUrls is kept alive with its URL, so no later one can share its id.
_URLS: dict[int, tuple[StoreUrls, str]] = {}


def _one_url(urls: StoreUrls) -> str:
    """One store per test (per ``StoreUrls``), however many examples hypothesis runs."""
    if id(urls) not in _URLS:
        _URLS[id(urls)] = (urls, urls.new())
    return _URLS[id(urls)][1]


def _in_utc(moment: datetime) -> datetime | None:
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return None


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(created=moments, updated=moments)
@example(
    created=datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))),
    updated=datetime(2026, 1, 1, tzinfo=UTC),
)
@example(
    created=datetime(2026, 1, 1, tzinfo=UTC),
    updated=datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-2))),
)
def test_a_timestamp_restore_would_refuse_is_refused_before_anything_is_written(
    store_urls: StoreUrls, created: datetime, updated: datetime
) -> None:
    url = _one_url(store_urls)  # Redis has 15 databases: each example gets a namespace instead
    namespace = uuid.uuid4().hex
    line = session_line("dated") | {
        "created_at": created.isoformat(),
        "updated_at": updated.isoformat(),
    }
    both = jsonl([session_line("first"), line])
    result = invoke("import", "-", "--url", url, "--namespace", namespace, input=both)
    if _in_utc(created) is None or _in_utc(updated) is None:
        assert result.exit_code == 1
        assert result.stderr.startswith("sessionstore: stdin: line 2: ")
        assert "out of range in UTC" in result.stderr and "nothing was imported" in result.stderr
        assert contents(url, namespace) == {}
        return
    assert result.exit_code == 0, result.stderr
    record = records(url, namespace)[1]
    assert record.updated_at == updated
    assert record.created_at == min(created, updated)


def _messages(number: int) -> list[dict[str, Any]]:
    return [{"role": "user", "content": f"{number}:" + "x" * 60_000}]


def test_an_import_run_again_is_a_no_op_and_a_changed_line_conflicts(
    store_urls: StoreUrls, tmp_path: Path
) -> None:
    url = store_urls.new()
    lines = [{"id": f"s{n}", "messages": _messages(n), "attributes": {"n": n}} for n in range(4)]
    lines[1] |= {"created_at": "2026-01-01T00:00:00+00:00", "updated_at": "2026-01-02T00:00:00Z"}
    first = invoke("import", "-", "--url", url, input=jsonl(lines))
    assert first.exit_code == 0 and "4 created" in first.stderr
    again = invoke("import", "-", "--url", url, input=jsonl(lines))
    assert again.exit_code == 0, again.stderr
    assert "(0 created, 0 replaced, 0 skipped, 4 already there)" in again.stderr
    assert [record.version for record in records(url)] == [1, 1, 1, 1]
    lines[2]["attributes"] = {"n": "changed"}
    changed = invoke("import", "-", "--url", url, input=jsonl([*lines, session_line("new")]))
    assert changed.exit_code == 1
    assert "line 3: session 's2' already exists in the store with other contents" in changed.stderr
    assert "1 refused session in stdin; nothing was imported" in changed.stderr
    assert list(contents(url)) == ["s0", "s1", "s2", "s3"]


def _memory_limit(server: RedisServer, extra: int | None) -> None:
    """Limit the server to what it uses now plus ``extra`` bytes (None: no limit)."""
    client = redis.Redis(host="127.0.0.1", port=server.port)
    try:
        client.config_set("maxmemory-policy", "noeviction")
        if extra is None:
            client.config_set("maxmemory", 0)
        else:
            used = int(client.info("memory")["used_memory"])
            client.config_set("maxmemory", used + extra)
    finally:
        client.close()


def test_a_full_store_stops_the_import_with_a_count_and_a_rerun_continues(
    redis_server: RedisServer, redis_urls: StoreUrls, tmp_path: Path
) -> None:
    url = redis_urls.new()
    lines: list[dict[str, Any]] = [{"id": f"s{n:02d}", "messages": _messages(n)} for n in range(40)]
    source = tmp_path / f"{uuid.uuid4().hex}.jsonl"
    source.write_text(jsonl(lines))
    invoke("count", "--url", url)  # the store's scripts and bookkeeping exist before the limit
    _memory_limit(redis_server, 1_500_000)  # room for some of the forty sessions, not all
    try:
        stopped = invoke("import", str(source), "--url", url)
    finally:
        _memory_limit(redis_server, None)
    assert stopped.exit_code == 1
    assert "Traceback" not in stopped.output
    match = re.search(
        r"stopped at line (\d+) \(session 's(\d+)'\): .*; before it, (\d+) sessions? had been "
        r"written",
        stopped.stderr,
    )
    assert match is not None, stopped.stderr
    stopped_at, failed_id, written = (int(group) for group in match.groups())
    assert 0 < written < 40 and stopped_at == written + 1 and failed_id == written
    assert "run the same import again to continue" in stopped.stderr
    assert list(contents(url)) == [f"s{n:02d}" for n in range(written)]
    resumed = invoke("import", str(source), "--url", url)
    assert resumed.exit_code == 0, resumed.stderr
    assert f"({40 - written} created, 0 replaced, 0 skipped, {written} already there)" in (
        resumed.stderr
    )
    whole = contents(url)
    assert list(whole) == [line["id"] for line in lines]
    assert [json.loads(m[0].to_json())["content"] for m in whole.values()] == [
        line["messages"][0]["content"] for line in lines
    ]


class _SmallWrites(InMemorySessionStore):
    """The reference backend with a limit on one write, as a server backend has."""

    max_write_bytes = 2_000


async def test_a_session_over_the_stores_write_limit_is_refused_before_anything_is_written() -> (
    None
):
    lines = [session_line("small"), session_line("big", "x" * 3_000), session_line("fits")]
    async with _SmallWrites() as store:
        with ImportFile.read(io.BytesIO(jsonl(lines).encode())) as imported:
            summary = await write_import(store, imported)
        assert summary.problem_count == 1 and summary.written == 0
        assert summary.problems[0].line == 2
        assert "more than the 2,000 bytes _SmallWrites takes in one write" in str(
            summary.problems[0]
        )
        assert await store.count() == 0
