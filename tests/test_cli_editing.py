"""``sessionstore`` attributes, pop, fork, namespaces and clear."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_support import contents, invoke, namespaces, records, seed
from sessionstore import Message

THREE = [{"role": "user", "content": c} for c in ("one", "two", "three")]


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    seed(url, {"s": THREE}, attributes={"title": "First"})
    seed(url, {"s": THREE[:1]}, namespace="acme")
    return url


# -- attributes ------------------------------------------------------------------------


def test_attributes_prints_them_as_one_json_object(url: str) -> None:
    result = invoke("attributes", "s", "--url", url)
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"title": "First"}
    assert json.loads(invoke("attributes", "s", "--url", url, "--namespace", "acme").stdout) == {}


def test_attributes_set_strings_and_json_and_unset(url: str) -> None:
    [before] = records(url)
    result = invoke(
        "attributes", "s", "owner=ann", "pinned:=true", 'tags:=["x", 1]', "--unset", "title",
        "--url", url,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    expected = {"owner": "ann", "pinned": True, "tags": ["x", 1]}
    assert json.loads(result.stdout) == expected
    [after] = records(url)
    assert dict(after.attributes) == expected
    assert after.version == before.version + 1
    assert after.updated_at == before.updated_at  # renaming does not move it in the listing
    assert contents(url)["s"] == [Message.from_dict(m) for m in THREE]


def test_attributes_change_only_their_namespace(url: str) -> None:
    invoke("attributes", "s", "title=Acme", "--url", url, "--namespace", "acme")
    assert dict(records(url, "acme")[0].attributes) == {"title": "Acme"}
    assert dict(records(url)[0].attributes) == {"title": "First"}


def test_attributes_of_an_unknown_session_is_an_error(url: str) -> None:
    result = invoke("attributes", "nope", "a=1", "--url", url)
    assert result.exit_code == 1
    assert "no session with id 'nope'" in result.stderr
    assert [r.id for r in records(url)] == ["s"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["title"], "is not KEY=VALUE"),
        (["n:=nope"], "is not JSON"),
        (["a=1", "--unset", "a"], "both set and unset"),
    ],
)
def test_bad_attribute_arguments_are_usage_errors(url: str, args: list[str], message: str) -> None:
    [before] = records(url)
    result = invoke("attributes", "s", *args, "--url", url)
    assert result.exit_code == 2
    assert message in result.stderr
    assert records(url) == [before]


def test_attributes_over_the_size_limit_change_nothing(url: str) -> None:
    [before] = records(url)
    result = invoke("attributes", "s", "blob=" + "x" * 70_000, "--url", url)
    assert result.exit_code == 1
    assert "65536 allowed" in result.stderr
    assert records(url) == [before]


# -- pop -------------------------------------------------------------------------------


def test_pop_removes_the_last_message(url: str) -> None:
    result = invoke("pop", "s", "--url", url)
    assert result.exit_code == 0
    assert "removed 1 message from 's'" in result.stdout
    assert [m.content for m in contents(url)["s"]] == ["one", "two"]


def test_pop_count_json_prints_what_it_removed(url: str) -> None:
    result = invoke("pop", "s", "--count", "5", "--json", "--url", url)
    assert result.exit_code == 0
    assert json.loads(result.stdout) == THREE
    assert "removed 3 messages" in result.stderr
    assert contents(url)["s"] == []
    again = invoke("pop", "s", "--url", url)
    assert again.exit_code == 0 and "removed 0 messages" in again.stdout


def test_pop_in_a_namespace(url: str) -> None:
    invoke("pop", "s", "--url", url, "--namespace", "acme")
    assert contents(url, "acme")["s"] == []
    assert len(contents(url)["s"]) == 3


def test_pop_unknown_session_or_bad_count(url: str) -> None:
    missing = invoke("pop", "nope", "--url", url)
    assert missing.exit_code == 1 and "no session with id 'nope'" in missing.stderr
    assert invoke("pop", "s", "--count", "0", "--url", url).exit_code == 2
    assert len(contents(url)["s"]) == 3


# -- fork ------------------------------------------------------------------------------


def test_fork_copies_messages_and_attributes(url: str) -> None:
    result = invoke("fork", "s", "t", "--url", url)
    assert result.exit_code == 0, result.output
    assert "forked 's' to 't' (3 messages)" in result.stdout
    assert contents(url)["t"] == contents(url)["s"]
    assert dict(records(url)[-1].attributes) == {"title": "First"}


def test_fork_stop_copies_a_prefix(url: str) -> None:
    assert invoke("fork", "s", "t", "--stop", "2", "--url", url).exit_code == 0
    assert [m.content for m in contents(url)["t"]] == ["one", "two"]
    assert invoke("fork", "s", "u", "--stop", "-1", "--url", url).exit_code == 0
    assert [m.content for m in contents(url)["u"]] == ["one", "two"]


def test_fork_refuses_an_existing_target_unless_replace(url: str) -> None:
    seed(url, {"t": []})
    result = invoke("fork", "s", "t", "--url", url)
    assert result.exit_code == 1
    assert "session 't' already exists; use --replace" in result.stderr
    assert contents(url)["t"] == []
    assert invoke("fork", "s", "t", "--replace", "--url", url).exit_code == 0
    assert len(contents(url)["t"]) == 3


def test_fork_errors(url: str) -> None:
    missing = invoke("fork", "nope", "t", "--url", url)
    assert missing.exit_code == 1 and "no session with id 'nope'" in missing.stderr
    assert invoke("fork", "s", "s", "--url", url).exit_code == 2
    assert list(contents(url)) == ["s"]


def test_fork_within_a_namespace(url: str) -> None:
    assert invoke("fork", "s", "t", "--url", url, "--namespace", "acme").exit_code == 0
    assert list(contents(url, "acme")) == ["s", "t"]
    assert list(contents(url)) == ["s"]


# -- namespaces, clear -----------------------------------------------------------------


def test_namespaces_lists_each_with_its_count(url: str) -> None:
    seed(url, {"a": [], "b": []}, namespace="bolt")
    result = invoke("namespaces", "--url", url)
    assert result.exit_code == 0
    lines = [line.split(None, 1) for line in result.stdout.splitlines()]
    assert lines == [["1", "(default)"], ["1", "'acme'"], ["2", "'bolt'"]]
    rows = [
        json.loads(line) for line in invoke("namespaces", "--url", url, "--json").stdout.split()
    ]
    assert rows == [
        {"namespace": "", "sessions": 1},
        {"namespace": "acme", "sessions": 1},
        {"namespace": "bolt", "sessions": 2},
    ]


def test_namespaces_of_an_empty_store(tmp_path: Path) -> None:
    result = invoke("namespaces", "--url", f"sqlite:///{tmp_path / 'empty.db'}")
    assert result.exit_code == 0 and result.stdout == ""
    assert "no sessions" in result.stderr


def test_clear_with_yes_empties_one_namespace(url: str) -> None:
    result = invoke("clear", "--namespace", "acme", "--yes", "--url", url)
    assert result.exit_code == 0
    assert "deleted 1 session from namespace 'acme'" in result.stdout
    assert namespaces(url) == [""]


def test_clear_asks_first(url: str) -> None:
    declined = invoke("clear", "--namespace", "", "--url", url, input="n\n")
    assert declined.exit_code == 1
    assert "nothing was deleted" in declined.stderr
    assert namespaces(url) == ["", "acme"]
    no_answer = invoke("clear", "--namespace", "", "--url", url, input="")
    assert no_answer.exit_code == 1
    assert "pass --yes" in no_answer.stderr
    assert namespaces(url) == ["", "acme"]
    confirmed = invoke("clear", "--namespace", "", "--url", url, input="y\n")
    assert confirmed.exit_code == 0, confirmed.output
    assert "(default)" in confirmed.stdout
    assert namespaces(url) == ["acme"]


def test_clear_needs_a_namespace(url: str) -> None:
    result = invoke("clear", "--yes", "--url", url)
    assert result.exit_code == 2
    assert "--namespace" in result.stderr
    assert namespaces(url) == ["", "acme"]
