"""The ``sessionstore`` command end to end: the installed script, big round trips, every backend."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from plugins._urls import StoreUrls
from sessionstore.cli.app import app

RUNNER = CliRunner()


def invoke(*args: str) -> Result:
    return RUNNER.invoke(app, list(args), catch_exceptions=False)


def _script() -> str:
    beside = Path(sys.executable).parent / "sessionstore"
    found = str(beside) if beside.exists() else shutil.which("sessionstore")
    if found is None:
        pytest.fail("the sessionstore console script is not installed (pip install -e '.[dev]')")
    return found


def sessionstore(
    *args: str, stdin: str | None = None, terminal: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run the installed console script; SESSIONSTORE_URL is unset so --url decides.

    With ``terminal``, rich is told (FORCE_COLOR) that stderr is a terminal.
    """
    hidden = {"SESSIONSTORE_URL", "FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR"}
    env = {key: value for key, value in os.environ.items() if key not in hidden}
    if terminal:
        env["FORCE_COLOR"] = "1"
    return subprocess.run(
        [_script(), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


def _ids_and_messages(export: str) -> list[tuple[str, Any]]:
    return [(row["id"], row["messages"]) for row in map(json.loads, export.splitlines())]


# -- the installed script, one run per command ---------------------------------------------


def test_console_script_runs_every_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    other = f"sqlite:///{tmp_path / 'b.db'}"
    dump = tmp_path / "dump.jsonl"

    demo = sessionstore("demo", "--url", url)
    assert demo.returncode == 0 and "demo-weather (6 messages)" in demo.stdout
    listed = sessionstore("list", "--url", url)
    assert listed.returncode == 0 and "demo-support" in listed.stdout
    as_json = sessionstore("list", "--url", url, "--json")
    assert [json.loads(line)["id"] for line in as_json.stdout.splitlines()] == [
        "demo-weather",
        "demo-support",
    ]
    shown = sessionstore("show", "demo-support", "--url", url)
    assert shown.returncode == 0 and "[image image/png, 70 bytes]" in shown.stdout
    raw = sessionstore("show", "demo-weather", "--url", url, "--json")
    assert json.loads(raw.stdout)[2]["content"][1]["input"]["city"] == "Oslo"
    missing = sessionstore("show", "nope", "--url", url)
    assert missing.returncode == 1
    assert missing.stderr == "sessionstore: error: no session with id 'nope'\n"
    assert sessionstore("count", "--url", url).stdout == "2\n"

    exported = sessionstore("export", "--url", url, "-o", str(dump))
    assert exported.returncode == 0 and "exported 2 sessions" in exported.stderr
    imported = sessionstore("import", str(dump), "--url", other)
    assert imported.returncode == 0 and "2 created" in imported.stderr
    again = sessionstore("import", "-", "--url", other, stdin=dump.read_text())
    assert again.returncode == 0 and "2 already there" in again.stderr
    changed = dump.read_text().replace("Oslo", "Bergen")
    conflict = sessionstore("import", "-", "--url", other, stdin=changed)
    assert conflict.returncode == 1 and "already exists" in conflict.stderr
    copied = sessionstore("copy", "--url", url, "--to", other)
    assert copied.returncode == 0 and "copied 2 sessions" in copied.stderr
    assert _ids_and_messages(sessionstore("export", "--url", other).stdout) == _ids_and_messages(
        dump.read_text()
    )

    doctor = sessionstore("doctor", "--url", other)
    assert doctor.returncode == 0 and "no problems found" in doctor.stdout
    dry = sessionstore("prune", "--url", other, "--keep-newest", "1", "--dry-run")
    assert dry.returncode == 0 and "would delete 1 session" in dry.stdout
    bad = sessionstore("prune", "--url", other, "--older-than", "soon")
    assert bad.returncode == 2
    deleted = sessionstore("delete", "demo-weather", "--url", other)
    assert deleted.returncode == 0 and "deleted 1 session" in deleted.stdout
    assert sessionstore("count", "--url", other).stdout == "1\n"


def test_console_script_doctor_reports_corruption(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    url = f"sqlite:///{path}"
    assert sessionstore("demo", "--url", url).returncode == 0
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE segments SET payload = x'00ff'")
    doctor = sessionstore("doctor", "--url", url)
    assert doctor.returncode == 1
    assert "'demo-weather': transcript does not decode" in doctor.stdout
    assert "'demo-support': transcript does not decode" in doctor.stdout
    assert "Traceback" not in doctor.stderr


def test_copy_shows_progress_only_on_a_terminal(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    assert sessionstore("demo", "--url", url).returncode == 0
    on_terminal = sessionstore(
        "copy", "--url", url, "--to", f"sqlite:///{tmp_path / 'b.db'}", terminal=True
    )
    assert on_terminal.returncode == 0
    assert "copying" in on_terminal.stderr and "2/2" in on_terminal.stderr
    piped = sessionstore("copy", "--url", url, "--to", f"sqlite:///{tmp_path / 'c.db'}")
    assert piped.returncode == 0
    assert piped.stderr == f"copied 2 sessions from {url} to sqlite:///{tmp_path / 'c.db'}\n"


# -- a big round trip ---------------------------------------------------------------------


def test_round_trip_of_10000_sessions(tmp_path: Path) -> None:
    """export -> import into a fresh store -> export gives the same bytes.

    Import keeps ids, messages, the order of sessions and created_at/updated_at
    (through ``restore``), so the second export is identical to the first.
    """
    source = tmp_path / "source.jsonl"
    with source.open("w") as handle:
        for i in range(10_000):
            messages: list[dict[str, Any]] = [{"role": "user", "content": f"question {i}"}]
            if i % 3 == 0:
                messages.append(
                    {
                        "role": "assistant",
                        "content": [{"type": "tool_use", "id": f"t{i}", "name": "f", "input": {}}],
                    }
                )
            handle.write(json.dumps({"id": f"session-{i:05d}", "messages": messages}) + "\n")
    first = f"sqlite:///{tmp_path / 'first.db'}?durability=normal"
    second = f"sqlite:///{tmp_path / 'second.db'}?durability=normal"
    assert invoke("import", str(source), "--url", first).exit_code == 0

    export_one = tmp_path / "one.jsonl"
    export_two = tmp_path / "two.jsonl"
    assert invoke("export", "--url", first, "-o", str(export_one)).exit_code == 0
    assert invoke("import", str(export_one), "--url", second).exit_code == 0
    assert invoke("export", "--url", second, "-o", str(export_two)).exit_code == 0

    one = export_one.read_bytes()
    assert len(one.splitlines()) == 10_000
    assert export_two.read_bytes() == one
    assert _ids_and_messages(one.decode()) == _ids_and_messages(source.read_text())


# -- every backend, through URLs ----------------------------------------------------------


def test_commands_work_on_every_backend(store_urls: StoreUrls, tmp_path: Path) -> None:
    url, other = store_urls.new(), store_urls.new()
    source = tmp_path / "in.jsonl"
    rows = [
        {"id": sid, "messages": [{"role": "user", "content": f"hello {sid}"}]}
        for sid in ("a", "émoji 🎉", "../../etc/passwd", " spaced ")
    ]
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    imported = invoke("import", str(source), "--url", url)
    assert imported.exit_code == 0, imported.output
    listed = invoke("list", "--url", url, "--json")
    assert [json.loads(line)["id"] for line in listed.stdout.splitlines()] == [
        row["id"] for row in rows
    ]
    exported = invoke("export", "--url", url)
    assert _ids_and_messages(exported.stdout) == [(row["id"], row["messages"]) for row in rows]
    copied = invoke("copy", "--url", url, "--to", other)
    assert copied.exit_code == 0
    # Copy keeps ids, messages, order and timestamps: the target exports the same bytes.
    assert invoke("export", "--url", other).stdout == exported.stdout
    dump = tmp_path / "dump.jsonl"
    dump.write_text(exported.stdout)
    reimported = invoke("import", str(dump), "--url", other, "--on-conflict", "replace")
    assert reimported.exit_code == 0 and "4 replaced" in reimported.stderr
    assert invoke("export", "--url", other).stdout == exported.stdout
    doctor = invoke("doctor", "--url", other)
    assert doctor.exit_code == 0, doctor.output
    assert invoke("prune", "--url", other, "--keep-newest", "1").exit_code == 0
    assert invoke("count", "--url", other).stdout.strip() == "1"


def test_console_script_runs_the_namespace_and_editing_commands(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    assert sessionstore("demo", "--url", url, "--namespace", "acme").returncode == 0
    titled = sessionstore("attributes", "demo-weather", "n:=2", "--url", url, "--namespace", "acme")
    assert json.loads(titled.stdout) == {"title": "Umbrella for Oslo?", "n": 2}
    forked = sessionstore("fork", "demo-weather", "f", "--stop", "2", "--url", url,
                          "--namespace", "acme")  # fmt: skip
    assert forked.returncode == 0 and "(2 messages)" in forked.stdout
    popped = sessionstore("pop", "f", "--json", "--url", url, "--namespace", "acme")
    assert json.loads(popped.stdout)[0]["role"] == "user"
    tail = sessionstore("show", "demo-weather", "--last", "1", "--url", url, "--namespace", "acme")
    assert tail.returncode == 0 and "#5 user" in tail.stdout
    assert sessionstore("namespaces", "--url", url).stdout.split() == ["3", "'acme'"]
    refused = sessionstore("clear", "--namespace", "acme", "--url", url, stdin="")
    assert refused.returncode == 1 and "nothing was deleted" in refused.stderr
    cleared = sessionstore("clear", "--namespace", "acme", "--yes", "--url", url)
    assert cleared.returncode == 0 and "deleted 3 sessions" in cleared.stdout
    assert sessionstore("count", "--url", url, "--all-namespaces").stdout == "0\n"


def test_namespaces_work_on_every_backend(store_urls: StoreUrls, tmp_path: Path) -> None:
    url, other = store_urls.new(), store_urls.new()
    source = tmp_path / "in.jsonl"
    rows = [
        {"id": "a", "namespace": ns, "attributes": {"title": f"in {ns or 'default'}"},
         "messages": [{"role": "user", "content": f"hello {ns}"}]}
        for ns in ("", "t1", "tenant ✨")
    ]  # fmt: skip
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    imported = invoke("import", str(source), "--url", url)
    assert imported.exit_code == 0, imported.output
    listed = invoke("list", "--url", url, "--all-namespaces", "--json")
    assert [
        (r["namespace"], r["attributes"]) for r in map(json.loads, listed.stdout.split("\n")[:-1])
    ] == [(row["namespace"], row["attributes"]) for row in rows]
    copied = invoke("copy", "--url", url, "--to", other, "--all-namespaces")
    assert copied.exit_code == 0, copied.output
    exported = invoke("export", "--url", url, "--all-namespaces")
    assert invoke("export", "--url", other, "--all-namespaces").stdout == exported.stdout
    assert (
        invoke("attributes", "a", "--unset", "title", "--url", other, "--namespace", "t1").exit_code
        == 0
    )
    assert invoke("fork", "a", "b", "--url", other, "--namespace", "t1").exit_code == 0
    assert invoke("count", "--url", other, "--namespace", "t1").stdout == "2\n"
    assert invoke("clear", "--namespace", "t1", "--yes", "--url", other).exit_code == 0
    assert invoke("count", "--url", other, "--all-namespaces").stdout == "2\n"
    assert invoke("doctor", "--url", other, "--all-namespaces").exit_code == 0
