"""``sessionstore doctor`` and ``prune``: health checks that change nothing, and retention."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from cli_support import contents, invoke, seed
from sessionstore import InvalidArgumentError
from sessionstore.cli.demo import DEMO_SESSIONS
from sessionstore.cli.maintenance import parse_duration


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


# -- doctor ---------------------------------------------------------------------------


def _sqlite_path(url: str) -> str:
    return url.removeprefix("sqlite:///")


def test_doctor_on_a_clean_store_exits_0(url: str) -> None:
    seed(url, DEMO_SESSIONS)
    result = invoke("doctor", "--url", url)
    assert result.exit_code == 0
    assert "checked 2 sessions: no problems found" in result.stdout


def test_doctor_finds_a_corrupt_transcript_and_changes_nothing(url: str) -> None:
    seed(url, DEMO_SESSIONS | {"fine": [{"role": "user", "content": "ok"}]})
    with sqlite3.connect(_sqlite_path(url)) as conn:
        conn.execute(
            "UPDATE segments SET payload = ? WHERE session_key = "
            "(SELECT key FROM sessions WHERE id = 'demo-support')",
            (b"[{not json",),
        )
    with open(_sqlite_path(url), "rb") as handle:
        before = handle.read()
    result = invoke("doctor", "--url", url)
    assert result.exit_code == 1
    assert "'demo-support': transcript does not decode" in result.stdout
    assert "'fine'" not in result.stdout and "'demo-weather'" not in result.stdout
    assert "checked 3 sessions: 1 with problems" in result.stdout
    with open(_sqlite_path(url), "rb") as handle:
        assert handle.read() == before


def test_doctor_finds_a_record_that_disagrees_with_its_transcript(url: str) -> None:
    seed(url, {"a": [{"role": "user", "content": "x"}], "b": []})
    with sqlite3.connect(_sqlite_path(url)) as conn:
        conn.execute("UPDATE sessions SET message_count = 5 WHERE id = 'a'")
    result = invoke("doctor", "--url", url)
    assert result.exit_code == 1
    assert "'a': record says 5 messages, transcript has 1" in result.stdout


# -- prune ----------------------------------------------------------------------------


def _age(url: str, session_id: str, days: int) -> None:
    """Make ``session_id`` look last written ``days`` ago (prune works on updated_at)."""
    with sqlite3.connect(_sqlite_path(url)) as conn:
        conn.execute(
            "UPDATE sessions SET updated_us = updated_us - ? WHERE id = ?",
            (days * 86_400 * 1_000_000, session_id),
        )


def test_prune_dry_run_deletes_nothing_then_prune_deletes(url: str) -> None:
    seed(url, {"old1": [], "old2": [], "new": []})
    _age(url, "old1", 40)
    _age(url, "old2", 40)
    dry = invoke("prune", "--url", url, "--older-than", "30d", "--dry-run")
    assert dry.exit_code == 0
    assert "would delete 2 sessions" in dry.stdout
    assert list(contents(url)) == ["old1", "old2", "new"]
    both = invoke("prune", "--url", url, "--older-than", "30d", "--keep-newest", "2", "--dry-run")
    assert "would delete 1 session " in both.stdout
    real = invoke("prune", "--url", url, "--older-than", "30d", "--keep-newest", "2")
    assert real.exit_code == 0 and "deleted 1 session " in real.stdout
    assert list(contents(url)) == ["old2", "new"]
    keep = invoke("prune", "--url", url, "--keep-newest", "1")
    assert "deleted 1 session" in keep.stdout
    assert list(contents(url)) == ["new"]


@pytest.mark.parametrize("bad", ["30", "d", "1.5h", "-1d", "30D", " 30d", "1d12h", "0d", "3y"])
def test_prune_rejects_bad_durations(url: str, bad: str) -> None:
    result = invoke("prune", "--url", url, "--older-than", bad)
    assert result.exit_code == 2
    assert "invalid duration" in result.output


def test_prune_needs_an_option(url: str) -> None:
    result = invoke("prune", "--url", url)
    assert result.exit_code == 2
    assert "--older-than, --keep-newest or both" in result.output


def test_parse_duration_units() -> None:
    assert parse_duration("45s") == timedelta(seconds=45)
    assert parse_duration("90m") == timedelta(minutes=90)
    assert parse_duration("12h") == timedelta(hours=12)
    assert parse_duration("30d") == timedelta(days=30)
    assert parse_duration("2w") == timedelta(weeks=2)
    with pytest.raises(InvalidArgumentError, match="too large"):
        parse_duration("99999999999999w")
