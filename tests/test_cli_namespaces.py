"""``--namespace`` and ``--all-namespaces`` across the commands; titles; ``show --last``."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from cli_support import contents, invoke, namespaces, records, seed
from sessionstore import Message
from sessionstore._store import SessionStore

ONE = [{"role": "user", "content": "one"}]


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def tenants(url: str) -> str:
    """A store with "shared" in the default namespace and in two tenants, titled per tenant."""
    seed(url, {"shared": ONE, "plain": ONE})
    seed(url, {"shared": ONE * 2}, namespace="acme", attributes={"title": "Acme chat"})
    seed(url, {"shared": ONE * 3, "b": []}, namespace="bolt", attributes={"title": "Bolt"})
    return url


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


# -- scope options ---------------------------------------------------------------------


@pytest.mark.parametrize("command", ["list", "count", "export", "doctor"])
def test_namespace_and_all_namespaces_together_is_a_usage_error(tenants: str, command: str) -> None:
    result = invoke(command, "--url", tenants, "--namespace", "acme", "--all-namespaces")
    assert result.exit_code == 2
    assert "not both" in result.stderr


@pytest.mark.parametrize("command", ["list", "count", "show x", "delete x", "pop x", "demo"])
def test_an_invalid_namespace_is_a_usage_error(url: str, command: str) -> None:
    result = invoke(*command.split(), "--url", url, "--namespace", "n" * 257)
    assert result.exit_code == 2
    assert "namespace must be 1 to 256 UTF-8 bytes" in result.stderr
    assert namespaces(url) == []


# -- list, count, show, delete, demo ---------------------------------------------------


def test_list_sees_one_namespace_and_shows_titles(tenants: str) -> None:
    result = invoke("list", "--url", tenants, "--namespace", "acme")
    assert result.exit_code == 0, result.output
    assert "title" in result.stdout and "Acme chat" in result.stdout
    assert "Bolt" not in result.stdout and "plain" not in result.stdout
    default = invoke("list", "--url", tenants)
    assert "plain" in default.stdout and "Acme chat" not in default.stdout


def test_list_json_has_namespace_and_attributes(tenants: str) -> None:
    rows = _json_lines(invoke("list", "--url", tenants, "--namespace", "bolt", "--json").stdout)
    assert [(row["namespace"], row["id"], row["attributes"]) for row in rows] == [
        ("bolt", "shared", {"title": "Bolt"}),
        ("bolt", "b", {"title": "Bolt"}),
    ]


def test_list_all_namespaces_pages_each_namespace(tenants: str) -> None:
    rows = _json_lines(invoke("list", "--url", tenants, "--all-namespaces", "--json").stdout)
    assert [(row["namespace"], row["id"]) for row in rows] == [
        ("", "shared"),
        ("", "plain"),
        ("acme", "shared"),
        ("bolt", "shared"),
        ("bolt", "b"),
    ]
    limited = invoke("list", "--url", tenants, "--all-namespaces", "--json", "--limit", "1")
    assert [row["namespace"] for row in _json_lines(limited.stdout)] == ["", "acme", "bolt"]
    table = invoke("list", "--url", tenants, "--all-namespaces")
    assert "namespace" in table.stdout and "acme" in table.stdout
    assert "(default)" in table.stdout


def test_list_titles_are_terminal_safe_and_any_json(url: str) -> None:
    seed(url, {"evil": []}, attributes={"title": "\x1b[31mred\u202e"})
    seed(url, {"numbered": []}, attributes={"title": 42})
    result = invoke("list", "--url", url)
    assert "\x1b" not in result.stdout and "\u202e" not in result.stdout
    assert "\\x1b[31mred\\u202e" in result.stdout
    assert "42" in result.stdout


def test_count_per_namespace_and_in_all(tenants: str) -> None:
    assert invoke("count", "--url", tenants).stdout.strip() == "2"
    assert invoke("count", "--url", tenants, "--namespace", "bolt").stdout.strip() == "2"
    assert invoke("count", "--url", tenants, "--namespace", "none").stdout.strip() == "0"
    assert invoke("count", "--url", tenants, "--all-namespaces").stdout.strip() == "5"


def test_show_reads_the_namespace_it_is_given(tenants: str) -> None:
    result = invoke("show", "shared", "--url", tenants, "--namespace", "bolt", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == ONE * 3
    header = invoke("show", "shared", "--url", tenants, "--namespace", "acme")
    assert "namespace 'acme'" in header.stdout and "title: Acme chat" in header.stdout
    missing = invoke("show", "plain", "--url", tenants, "--namespace", "acme")
    assert missing.exit_code == 1
    assert "no session with id 'plain'" in missing.stderr


def test_show_last_prints_the_tail_numbered_as_in_the_transcript(url: str) -> None:
    seed(url, {"long": [{"role": "user", "content": f"m{i}"} for i in range(30)]})
    result = invoke("show", "long", "--url", url, "--last", "2")
    assert result.exit_code == 0, result.output
    assert "30 messages" in result.stdout and "showing the last 2" in result.stdout
    assert "#28" in result.stdout and "#29" in result.stdout and "#27" not in result.stdout
    assert "m29" in result.stdout and "m27" not in result.stdout
    as_json = invoke("show", "long", "--url", url, "--last", "3", "--json")
    assert [m["content"] for m in json.loads(as_json.stdout)] == ["m27", "m28", "m29"]
    everything = invoke("show", "long", "--url", url, "--last", "99", "--json")
    assert len(json.loads(everything.stdout)) == 30
    assert invoke("show", "long", "--url", url, "--last", "0").exit_code == 2


def test_show_last_asks_the_store_for_the_tail_only(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The slice is pushed down: one snapshot(start=-N), never a load of the whole transcript."""
    seed(url, {"long": [{"role": "user", "content": f"m{i}"} for i in range(50)]})
    calls: list[tuple[str, dict[str, Any]]] = []
    snapshot, load = SessionStore.snapshot, SessionStore.load

    async def spy_snapshot(self: SessionStore, session_id: str, **kwargs: Any) -> Any:
        calls.append(("snapshot", kwargs))
        return await snapshot(self, session_id, **kwargs)

    async def spy_load(self: SessionStore, session_id: str, **kwargs: Any) -> Any:
        calls.append(("load", kwargs))
        return await load(self, session_id, **kwargs)

    monkeypatch.setattr(SessionStore, "snapshot", spy_snapshot)
    monkeypatch.setattr(SessionStore, "load", spy_load)
    result = invoke("show", "long", "--url", url, "--last", "5", "--json")
    assert result.exit_code == 0, result.output
    assert calls == [("snapshot", {"start": -5})]
    assert len(json.loads(result.stdout)) == 5


def test_delete_touches_only_its_namespace(tenants: str) -> None:
    result = invoke("delete", "shared", "--url", tenants, "--namespace", "acme")
    assert result.exit_code == 0 and "deleted 1 session" in result.stdout
    assert namespaces(tenants) == ["", "bolt"]
    assert list(contents(tenants)) == ["shared", "plain"]


def test_demo_into_a_namespace_writes_titled_sessions(url: str) -> None:
    result = invoke("demo", "--url", url, "--namespace", "play")
    assert result.exit_code == 0
    assert "--namespace play" in result.stdout
    assert namespaces(url) == ["play"]
    assert all(record.attributes.get("title") for record in records(url, "play"))
    assert "Umbrella for Oslo?" in invoke("list", "--url", url, "--namespace", "play").stdout


# -- export, import, copy --------------------------------------------------------------


def test_export_of_one_namespace(tenants: str) -> None:
    rows = _json_lines(invoke("export", "--url", tenants, "--namespace", "acme").stdout)
    assert [(r["namespace"], r["id"], r["attributes"]) for r in rows] == [
        ("acme", "shared", {"title": "Acme chat"})
    ]
    named = invoke("export", "shared", "--url", tenants, "--namespace", "bolt")
    assert [len(r["messages"]) for r in _json_lines(named.stdout)] == [3]


def test_export_all_namespaces_then_import_recreates_the_store(
    tenants: str, tmp_path: Path
) -> None:
    dump = tmp_path / "all.jsonl"
    result = invoke("export", "--url", tenants, "--all-namespaces", "-o", str(dump))
    assert result.exit_code == 0 and "exported 5 sessions" in result.stderr
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    imported = invoke("import", str(dump), "--url", fresh)
    assert imported.exit_code == 0, imported.output
    assert "5 created" in imported.stderr
    assert namespaces(fresh) == ["", "acme", "bolt"]
    for name in namespaces(tenants):
        before, after = records(tenants, name), records(fresh, name)
        assert [(r.id, r.message_count, r.created_at, r.updated_at) for r in after] == [
            (r.id, r.message_count, r.created_at, r.updated_at) for r in before
        ]
        assert [dict(r.attributes) for r in after] == [dict(r.attributes) for r in before]
        assert contents(fresh, name) == contents(tenants, name)


def test_export_ids_with_all_namespaces_is_a_usage_error(tenants: str) -> None:
    result = invoke("export", "shared", "--url", tenants, "--all-namespaces")
    assert result.exit_code == 2


def test_import_into_a_namespace_moves_every_line_there(tenants: str, tmp_path: Path) -> None:
    dump = tmp_path / "all.jsonl"
    invoke("export", "--url", tenants, "--all-namespaces", "-o", str(dump))
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    clash = invoke("import", str(dump), "--url", fresh, "--namespace", "one")
    assert clash.exit_code == 1  # "shared" of three namespaces meets in one
    assert "duplicate id 'shared' in namespace 'one'" in clash.stderr
    assert namespaces(fresh) == []
    acme = tmp_path / "acme.jsonl"
    invoke("export", "--url", tenants, "--namespace", "acme", "-o", str(acme))
    result = invoke("import", str(acme), "--url", fresh, "--namespace", "renamed")
    assert result.exit_code == 0, result.output
    assert namespaces(fresh) == ["renamed"]
    [record] = records(fresh, "renamed")
    assert dict(record.attributes) == {"title": "Acme chat"}


def test_import_conflicts_are_per_namespace(tenants: str, tmp_path: Path) -> None:
    line = {"id": "shared", "namespace": "acme", "messages": []}
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps(line) + "\n")
    result = invoke("import", str(source), "--url", tenants)
    assert result.exit_code == 1
    assert "session 'shared' in namespace 'acme' already exists" in result.stderr
    source.write_text(json.dumps({**line, "namespace": "new"}) + "\n")
    assert invoke("import", str(source), "--url", tenants).exit_code == 0
    assert namespaces(tenants) == ["", "acme", "bolt", "new"]


def test_copy_all_namespaces_to_another_store(tenants: str, tmp_path: Path) -> None:
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    result = invoke("copy", "--url", tenants, "--to", target, "--all-namespaces")
    assert result.exit_code == 0, result.output
    assert "copied 5 sessions" in result.stderr
    for name in namespaces(tenants):
        assert contents(target, name) == contents(tenants, name)
        assert [dict(r.attributes) for r in records(target, name)] == [
            dict(r.attributes) for r in records(tenants, name)
        ]


def test_copy_between_namespaces_of_one_store(tenants: str) -> None:
    result = invoke(
        "copy", "--url", tenants, "--to", tenants, "--namespace", "bolt", "--to-namespace", "c"
    )
    assert result.exit_code == 0, result.output
    assert contents(tenants, "c") == contents(tenants, "bolt")
    assert {r.attributes["title"] for r in records(tenants, "c")} == {"Bolt"}
    one = invoke("copy", "--url", tenants, "--to", tenants, "--namespace", "acme", "--id", "shared",
                 "--to-namespace", "")  # fmt: skip
    assert one.exit_code == 0, one.output
    assert contents(tenants)["shared"] == [Message.user("one")] * 2


@pytest.mark.parametrize(
    "extra",
    [
        ["--namespace", "acme"],
        ["--all-namespaces"],
        ["--all-namespaces", "--to-namespace", "x"],
        ["--all-namespaces", "--id", "shared"],
    ],
)
def test_copy_scopes_that_make_no_sense_are_usage_errors(tenants: str, extra: list[str]) -> None:
    result = invoke("copy", "--url", tenants, "--to", tenants, *extra)
    assert result.exit_code == 2
    assert namespaces(tenants) == ["", "acme", "bolt"]


# -- doctor, prune ---------------------------------------------------------------------


def test_doctor_checks_one_or_every_namespace(tenants: str) -> None:
    one = invoke("doctor", "--url", tenants, "--namespace", "bolt")
    assert one.exit_code == 0 and "checked 2 sessions: no problems" in one.stdout
    every = invoke("doctor", "--url", tenants, "--all-namespaces")
    assert every.exit_code == 0 and "checked 5 sessions" in every.stdout


def test_prune_one_namespace_leaves_the_others(tenants: str) -> None:
    dry = invoke(
        "prune", "--url", tenants, "--namespace", "bolt", "--keep-newest", "1", "--dry-run"
    )
    assert "would delete 1 session" in dry.stdout
    assert len(records(tenants, "bolt")) == 2
    result = invoke("prune", "--url", tenants, "--namespace", "bolt", "--keep-newest", "1")
    assert result.exit_code == 0 and "deleted 1 session" in result.stdout
    assert [r.id for r in records(tenants, "bolt")] == ["b"]
    assert len(records(tenants)) == 2 and len(records(tenants, "acme")) == 1


def test_prune_all_namespaces_keeps_the_newest_of_each(tenants: str) -> None:
    dry = invoke("prune", "--url", tenants, "--all-namespaces", "--keep-newest", "1", "--dry-run")
    assert "would delete 2 sessions" in dry.stdout
    result = invoke("prune", "--url", tenants, "--all-namespaces", "--keep-newest", "1")
    assert "deleted 2 sessions" in result.stdout
    assert [(n, [r.id for r in records(tenants, n)]) for n in namespaces(tenants)] == [
        ("", ["plain"]),
        ("acme", ["shared"]),
        ("bolt", ["b"]),
    ]


def test_doctor_all_namespaces_names_the_namespace_of_a_problem(tenants: str) -> None:
    path = tenants.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        changed = conn.execute(
            "UPDATE sessions SET message_count = 9 WHERE namespace = 'bolt' AND id = 'shared'"
        ).rowcount
    assert changed == 1
    result = invoke("doctor", "--url", tenants, "--all-namespaces")
    assert result.exit_code == 1
    assert "namespace 'bolt', 'shared': record says 9 messages, transcript has 3" in result.stdout
    assert "checked 5 sessions: 1 with problems" in result.stdout
    assert invoke("doctor", "--url", tenants, "--namespace", "acme").exit_code == 0
