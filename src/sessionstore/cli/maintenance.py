"""Upkeep over the public API: health checks (``doctor``), retention (``prune``), deleting by id.

``doctor`` and ``prune --dry-run`` only read; nothing here imports typer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sessionstore._arguments import aware, check_count
from sessionstore._errors import CorruptSessionError, InvalidArgumentError
from sessionstore._records import SessionId, SessionRecord
from sessionstore._store import SessionStore
from sessionstore.cli.reading import PAGE_SIZE, in_namespace, scan_once

__all__ = [
    "Finding",
    "count_prunable",
    "cutoff_before",
    "delete_sessions",
    "diagnose",
    "parse_duration",
    "prune_namespaces",
]

_DURATION = re.compile(r"(\d+)([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_duration(text: str) -> timedelta:
    """Parse ``<whole number><unit>`` with unit s, m, h, d or w (``30d``, ``12h``); strict."""
    match = _DURATION.fullmatch(text)
    if match is None:
        raise InvalidArgumentError(
            f"invalid duration {text!r}: expected a whole number followed by one unit, "
            "s, m, h, d or w (e.g. 45s, 90m, 12h, 30d, 2w)"
        )
    amount = int(match.group(1))
    if amount == 0:
        raise InvalidArgumentError(f"invalid duration {text!r}: must be greater than zero")
    try:
        return timedelta(seconds=amount * _UNIT_SECONDS[match.group(2)])
    except OverflowError as exc:
        raise InvalidArgumentError(f"invalid duration {text!r}: too large") from exc


def cutoff_before(now: datetime, text: str) -> datetime:
    """``now`` minus the duration ``text`` (``parse_duration``); InvalidArgumentError if too far."""
    duration = parse_duration(text)
    try:
        return now - duration
    except OverflowError as exc:
        raise InvalidArgumentError(
            f"invalid duration {text!r}: too large (it reaches back before the year 1)"
        ) from exc


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem ``doctor`` found with a session."""

    session_id: SessionId
    problem: str


async def _check(store: SessionStore, record: SessionRecord) -> str | None:
    """What is wrong with the session of ``record``, or None when it loads and agrees."""
    try:
        messages = await store.load(record.id)
    except CorruptSessionError as exc:
        return f"transcript does not decode: {exc}"
    if messages is not None and len(messages) == record.message_count:
        return None
    # A write or delete may have landed since the page was listed: look again
    # before calling it a problem, so a busy store does not yield false alarms.
    fresh = await store.get(record.id)
    try:
        messages = await store.load(record.id)
    except CorruptSessionError as exc:
        return f"transcript does not decode: {exc}"
    if messages is None:
        if fresh is None:
            return (
                "listed, but get() and load() find nothing (a stale index entry, or deleted "
                "while doctor ran)"
            )
        return "listed with a record, but its transcript loads as None"
    if fresh is None:
        return "transcript loads, but get() returns no record"
    if len(messages) != fresh.message_count:
        return f"record says {fresh.message_count} messages, transcript has {len(messages)}"
    return None


async def diagnose(
    store: SessionStore,
    on_finding: Callable[[Finding], None],
    *,
    on_checked: Callable[[SessionRecord], None] | None = None,
    page_size: int = PAGE_SIZE,
) -> int:
    """Load every session page by page, report problems to ``on_finding``; return how many checked.

    Reads only: nothing is ever modified.
    """
    checked = 0
    async for record in scan_once(store, page_size):
        problem = await _check(store, record)
        checked += 1
        if problem is not None:
            on_finding(Finding(record.id, problem))
        if on_checked is not None:
            on_checked(record)
    return checked


async def count_prunable(
    store: SessionStore,
    *,
    updated_before: datetime | None,
    keep_newest: int | None,
    page_size: int = PAGE_SIZE,
) -> int:
    """How many sessions ``store.prune`` with these arguments would delete now (reads only).

    Selected as ``prune`` selects: the sessions before the newest ``keep_newest``
    in listing order, of those the ones last written before ``updated_before``.
    One pass of ``scan`` (a cursor, so each page costs the same however far
    the count has got), stopped after the last candidate.
    """
    if updated_before is None and keep_newest is None:
        raise InvalidArgumentError("prune needs updated_before, keep_newest or both")
    before = None if updated_before is None else aware("updated_before", updated_before)
    check_count("keep_newest", keep_newest, optional=True)
    candidates: int | None = None
    if keep_newest is not None:
        candidates = max(0, await store.count() - keep_newest)
        if before is None or candidates == 0:
            return candidates
    assert before is not None
    doomed = 0
    seen = 0
    async for record in store.scan(page_size=page_size):
        if record.updated_at < before:
            doomed += 1
        seen += 1
        if seen == candidates:
            break
    return doomed


async def prune_namespaces(
    store: SessionStore,
    names: Sequence[str],
    *,
    updated_before: datetime | None,
    keep_newest: int | None,
    dry_run: bool,
) -> int:
    """Prune each namespace of ``names`` on its own (or, ``dry_run``, count); return how many."""
    count = 0
    for name in names:
        view = in_namespace(store, name)
        if dry_run:
            count += await count_prunable(
                view, updated_before=updated_before, keep_newest=keep_newest
            )
        else:
            count += await view.prune(updated_before=updated_before, keep_newest=keep_newest)
    return count


async def delete_sessions(store: SessionStore, session_ids: Sequence[SessionId]) -> list[SessionId]:
    """Delete each of ``session_ids`` that exists; return the ones that did not (not an error)."""
    missing: list[SessionId] = []
    for session_id in session_ids:
        if await store.get(session_id) is None:
            missing.append(session_id)
            continue
        await store.delete(session_id)
    return missing
