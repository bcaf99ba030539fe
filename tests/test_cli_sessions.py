"""``sessionstore`` list, show, count, delete and demo; the --url option; the missing extra."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import sessionstore.cli
from cli_support import contents, invoke, seed
from sessionstore import Message
from sessionstore.cli.demo import DEMO_SESSIONS


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


# -- the command without its extra ---------------------------------------------------


def test_missing_cli_extra_names_the_pip_install() -> None:
    code = (
        "import sys; sys.modules['typer'] = None; sys.modules['rich'] = None\n"
        "import sessionstore.cli\n"
        "sessionstore.cli.main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1
    assert "pip install 'sessionstore[cli]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_only_app_and_commands_are_typer_code() -> None:
    """Every other module of ``sessionstore.cli`` is logic that imports without typer."""
    logic = sorted(
        f"sessionstore.cli.{module.name}"
        for module in pkgutil.iter_modules(sessionstore.cli.__path__)
        if module.name not in ("app", "commands")
    )
    assert "sessionstore.cli.importing" in logic
    code = "import sys; sys.modules['typer'] = None\n" + "".join(f"import {m}\n" for m in logic)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr


# -- list, show, count, delete, demo -------------------------------------------------


def test_demo_then_list_shows_the_sessions(url: str) -> None:
    result = invoke("demo", "--url", url)
    assert result.exit_code == 0, result.output
    assert "sessionstore show demo-weather --url" in result.stdout
    listed = invoke("list", "--url", url)
    assert listed.exit_code == 0
    for session_id, messages in DEMO_SESSIONS.items():
        assert session_id in listed.stdout
        assert f"{len(messages)}" in listed.stdout
    assert list(contents(url)) == list(DEMO_SESSIONS)


def test_list_json_pages_through_the_listing(url: str) -> None:
    seed(url, {f"s{i}": [{"role": "user", "content": str(i)}] for i in range(5)})
    result = invoke("list", "--url", url, "--json", "--limit", "2", "--offset", "1")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["id"] for row in rows] == ["s1", "s2"]
    assert set(rows[0]) == {
        "id",
        "namespace",
        "message_count",
        "created_at",
        "updated_at",
        "version",
        "attributes",
    }
    assert (rows[0]["namespace"], rows[0]["attributes"]) == ("", {})
    assert rows[0]["message_count"] == 1 and rows[0]["version"] == 1
    assert rows[0]["created_at"].endswith("Z")
    newest = invoke("list", "--url", url, "--json", "--newest-first", "--limit", "1")
    assert [json.loads(line)["id"] for line in newest.stdout.splitlines()] == ["s4"]
    everything = invoke("list", "--url", url, "--json", "--limit", "0")
    assert len(everything.stdout.splitlines()) == 5


def test_list_escapes_control_characters_and_markup_in_ids(url: str) -> None:
    seed(url, {"evil\x1b[31mred": [], "[bold]x[/bold]": []})
    result = invoke("list", "--url", url)
    assert "\x1b" not in result.stdout
    assert "evil\\x1b[31mred" in result.stdout
    assert "[bold]x[/bold]" in result.stdout


def test_show_renders_a_transcript_for_people(url: str) -> None:
    seed(url, DEMO_SESSIONS)
    weather = invoke("show", "demo-weather", "--url", url)
    assert weather.exit_code == 0
    out = weather.stdout
    for expected in ("system", "user", "assistant", "tool", "get_forecast", '"city": "Oslo"'):
        assert expected in out
    assert "(alice)" in out  # the message's name
    support = invoke("show", "demo-support", "--url", url).stdout
    assert "[image image/png, 70 bytes]" in support
    assert "ERROR" in support  # is_error tool result is marked
    assert '"channel": "discord"' in support  # metadata


def test_show_json_prints_the_stored_messages(url: str) -> None:
    seed(url, DEMO_SESSIONS)
    result = invoke("show", "demo-support", "--url", url, "--json")
    assert result.exit_code == 0
    messages = [Message.from_dict(item) for item in json.loads(result.stdout)]
    assert messages == [Message.from_dict(item) for item in DEMO_SESSIONS["demo-support"]]


def test_show_unknown_id_is_a_clear_error(url: str) -> None:
    result = invoke("show", "nope", "--url", url)
    assert result.exit_code == 1
    assert result.stderr.strip() == "sessionstore: error: no session with id 'nope'"
    assert result.stdout == ""


def test_count_and_delete(url: str) -> None:
    seed(url, {"a": [], "b": [], "c": []})
    assert invoke("count", "--url", url).stdout.strip() == "3"
    result = invoke("delete", "a", "missing", "c", "--url", url)
    assert result.exit_code == 0
    assert "deleted 2 sessions" in result.stdout
    assert "'missing'" in result.stderr
    assert list(contents(url)) == ["b"]


def test_invalid_id_is_one_line_and_deletes_nothing(url: str) -> None:
    seed(url, {"a": []})
    result = invoke("delete", "a", "x" * 2000, "--url", url)
    assert result.exit_code == 1
    assert "1024" in result.stderr and "Traceback" not in result.output
    assert list(contents(url)) == ["a"]


def test_passwords_in_urls_are_never_echoed() -> None:
    for store_url in ("bogus://user:hunter2pw@host/db", "redis://:hunter2pw@127.0.0.1:1/0"):
        result = invoke("count", "--url", store_url)
        assert result.exit_code == 1
        assert result.stderr.startswith("sessionstore: error: ")
        assert "hunter2pw" not in result.output


def test_url_defaults_to_the_environment(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(url, {"from-env": []})
    monkeypatch.setenv("SESSIONSTORE_URL", url)
    assert invoke("count").stdout.strip() == "1"
