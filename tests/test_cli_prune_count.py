"""``prune --dry-run`` counts what ``prune`` deletes, in one pass (issue 17, items 13 and 7).

The dry run must select exactly as ``prune`` does (the sessions before the
newest N in listing order, of those the ones last written before the cutoff),
on every backend, and read the listing once through ``scan``'s cursor instead
of paging by offset, whose pages each cost their offset (quadratic in the
store's size: 4.7 s at 300,000 sessions).
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli_support import invoke
from plugins._urls import StoreUrls
from sessionstore import ListOptions, SessionRecord, SQLiteSessionStore, open_store
from sessionstore.cli.maintenance import count_prunable

NOW = datetime.now(UTC)

# Each session: how many days ago it was last written; listing order is the order of writes,
# which need not follow updated_at (restore keeps a copied session's time).
ages = st.lists(st.integers(0, 60), min_size=0, max_size=12)


async def _fill(url: str, days_ago: list[int]) -> None:
    async with open_store(url) as store:
        for number, days in enumerate(days_ago):
            moment = NOW - timedelta(days=days, minutes=1)
            await store.restore(f"s{number}", [], created_at=moment, updated_at=moment)


def _count(output: str) -> int:
    match = re.search(r"(?:would delete|deleted) (\d+) session", output)
    assert match is not None, output
    return int(match.group(1))


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(days_ago=ages, older_than=st.integers(1, 61), keep_newest=st.none() | st.integers(0, 14))
def test_the_dry_run_counts_what_prune_then_deletes(
    store_urls: StoreUrls, days_ago: list[int], older_than: int, keep_newest: int | None
) -> None:
    url = store_urls.new()
    asyncio.run(_fill(url, days_ago))
    options = ["--url", url, "--older-than", f"{older_than}d"]
    if keep_newest is not None:
        options += ["--keep-newest", str(keep_newest)]
    dry = invoke("prune", *options, "--dry-run")
    assert dry.exit_code == 0, dry.output
    real = invoke("prune", *options)
    assert real.exit_code == 0, real.output
    assert _count(dry.stdout) == _count(real.stdout)
    candidates = days_ago[: max(0, len(days_ago) - (keep_newest or 0))]
    assert _count(real.stdout) == sum(1 for days in candidates if days >= older_than)


class _ObservedSQLite(SQLiteSessionStore):
    """A real SQLite store that records how the listing is read: (hook, offset, rows)."""

    reads: list[tuple[str, int, int]]

    async def _list(self, namespace: str, options: ListOptions) -> list[SessionRecord]:
        page = await super()._list(namespace, options)
        self.reads.append(("list", options.offset, len(page)))
        return page

    async def _scan_page(
        self, namespace: str, after: int, limit: int
    ) -> list[tuple[int, SessionRecord]]:
        page = await super()._scan_page(namespace, after, limit)
        self.reads.append(("scan", 0, len(page)))
        return page


@pytest.mark.parametrize("keep_newest", [None, 0, 7, 200])
async def test_the_count_reads_the_listing_once_never_by_offset(
    tmp_path: Path, keep_newest: int | None
) -> None:
    await _fill(f"sqlite:///{tmp_path / 'store.db'}", [40] * 95)
    async with _ObservedSQLite(tmp_path / "store.db") as store:
        store.reads = []
        counted = await count_prunable(
            store, updated_before=NOW - timedelta(days=30), keep_newest=keep_newest, page_size=10
        )
        candidates = max(0, 95 - (keep_newest or 0))
        assert counted == candidates
        assert all(offset == 0 for _, offset, _ in store.reads), store.reads
        assert sum(rows for _, _, rows in store.reads) <= candidates + 10


@pytest.mark.parametrize("too_far", ["1000000d", "200000w", "99999999999s"])
def test_a_duration_reaching_before_year_1_is_a_usage_error(tmp_path: Path, too_far: str) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    for extra in ([], ["--dry-run"]):
        result = invoke("prune", "--url", url, "--older-than", too_far, *extra)
        assert result.exit_code == 2
        assert "too large" in result.output and "Traceback" not in result.output
