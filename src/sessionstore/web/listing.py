"""The index's pages: sessions newest first, a page per request, optionally by id prefix.

A plain page is one ``list_paginated`` call, so it costs the same on a store of
any size. The prefix filter cannot be pushed down (the store API lists by write
order, not by id), so it pages through the listing and keeps the matches, reading
at most ``scan_budget`` records per request; when the budget runs out before a
page fills, the page says so and its "next" link continues the scan from there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sessionstore._records import ListOptions, SessionRecord
from sessionstore._store import SessionStore

__all__ = ["PAGE_SIZE", "SCAN_BUDGET", "IndexPage", "index_page"]

#: Sessions on one page of the index.
PAGE_SIZE = 50
#: The most records one filtered request reads (in chunks of ``_CHUNK``).
SCAN_BUDGET = 5000
_CHUNK = 500


@dataclass
class IndexPage:
    """One page: its records, where it started, and where the next page starts (None: no more)."""

    records: list[SessionRecord] = field(default_factory=list)
    offset: int = 0
    next_offset: int | None = None
    #: With a prefix: how many records this request read, and whether the budget ran out.
    scanned: int = 0
    exhausted_budget: bool = False


async def index_page(
    store: SessionStore,
    *,
    offset: int = 0,
    prefix: str = "",
    page_size: int = PAGE_SIZE,
    scan_budget: int = SCAN_BUDGET,
) -> IndexPage:
    """The page of the newest-first listing that starts at ``offset``."""
    if not prefix:
        rows = await store.list_paginated(
            ListOptions(offset=offset, limit=page_size + 1, newest_first=True)
        )
        more = len(rows) > page_size
        return IndexPage(rows[:page_size], offset, offset + page_size if more else None)
    return await _filtered(store, offset, prefix, page_size, scan_budget)


async def _filtered(
    store: SessionStore, offset: int, prefix: str, page_size: int, budget: int
) -> IndexPage:
    page = IndexPage(offset=offset)
    position = offset  # the listing position of the next record to read
    while page.scanned < budget:
        limit = min(_CHUNK, budget - page.scanned)
        rows = await store.list_paginated(
            ListOptions(offset=position, limit=limit, newest_first=True)
        )
        for row in rows:
            if len(page.records) == page_size:
                page.next_offset = position
                return page
            position += 1
            page.scanned += 1
            if row.id.startswith(prefix):
                page.records.append(row)
        if len(rows) < limit:
            return page  # the end of the listing
    page.exhausted_budget = True
    page.next_offset = position
    return page
