"""Files the released CLI exported still import: no "namespace" or "attributes" on their lines.

``tests/fixtures/cli_export_released.jsonl`` was written by the released
command (``scripts/make_cli_fixture.sh`` runs the code of ``main``). Importing
it with this CLI must bring back every session as it was, in the default
namespace and without attributes; exporting again adds only the new fields.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from cli_support import contents, invoke, namespaces, records
from sessionstore import Message

RELEASED = Path(__file__).parent / "fixtures" / "cli_export_released.jsonl"


@pytest.fixture
def released() -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in RELEASED.read_text(encoding="utf-8").splitlines()]
    assert all(set(row) == {"id", "created_at", "updated_at", "messages"} for row in rows)
    return rows


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


def test_a_released_export_imports_whole(url: str, released: list[dict[str, Any]]) -> None:
    result = invoke("import", str(RELEASED), "--url", url)
    assert result.exit_code == 0, result.output
    assert f"{len(released)} created" in result.stderr
    assert namespaces(url) == [""]
    assert contents(url) == {
        row["id"]: [Message.from_dict(m) for m in row["messages"]] for row in released
    }
    stored = records(url)
    assert [r.id for r in stored] == [row["id"] for row in released]
    for record, row in zip(stored, released, strict=True):
        assert record.created_at == datetime.fromisoformat(row["created_at"])
        assert record.updated_at == datetime.fromisoformat(row["updated_at"])
        assert dict(record.attributes) == {}
        assert record.message_count == len(row["messages"])


def test_a_released_export_exports_again_with_only_the_new_fields(
    url: str, released: list[dict[str, Any]]
) -> None:
    invoke("import", str(RELEASED), "--url", url)
    again = [json.loads(line) for line in invoke("export", "--url", url).stdout.splitlines()]
    assert [
        {k: v for k, v in row.items() if k not in ("namespace", "attributes")} for row in again
    ] == released
    assert {(row["namespace"], json.dumps(row["attributes"])) for row in again} == {("", "{}")}


def test_a_released_export_imports_into_a_namespace(
    url: str, released: list[dict[str, Any]]
) -> None:
    result = invoke("import", str(RELEASED), "--url", url, "--namespace", "archive")
    assert result.exit_code == 0, result.output
    assert namespaces(url) == ["archive"]
    assert list(contents(url, "archive")) == [row["id"] for row in released]
