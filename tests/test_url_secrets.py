"""No part of a password in a store URL reaches a repr, an error or a log line, whatever it holds.

URLs whose password holds a raw ``/ ? # @`` are split differently by urllib, libpq and redis-py;
they are refused, with the URL shown redacted and a hint to percent-encode. Well-formed URLs
(those characters percent-encoded) still open.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from sessionstore import InvalidArgumentError, open_store
from sessionstore._urls import check_url, redact_url, scrub_secrets, url_passwords

_SCHEMES = ["postgresql", "postgres", "redis", "rediss"]
# Runs of letters long enough to recognise in output, joined by what parsers disagree on.
# A digit at the end keeps a word from being one the repr holds anyway ("Redis").
_WORD = st.text(
    alphabet="ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789", min_size=5
).map(lambda word: word + "9")
_SEPARATOR = st.sampled_from(["/", "#", "?", "@", ":", "%", "/@", "?x=", "#@", "%2"])
_PASSWORDS = st.lists(st.tuples(_WORD, _SEPARATOR), min_size=1, max_size=4).map(
    lambda pairs: "".join(word + sep for word, sep in pairs).rstrip("/#?@:%x=2")
)


def _pieces(password: str) -> list[str]:
    return [piece for piece in re.split(r"[^A-Za-z0-9]+", password) if len(piece) >= 5]


def _assert_hidden(text: str, password: str) -> None:
    for piece in _pieces(password):
        assert piece not in text, f"{piece!r} of the password shows in {text!r}"


@given(scheme=st.sampled_from(_SCHEMES), password=_PASSWORDS)
@example(scheme="postgresql", password="Tops3cret/Xyz9a")
@example(scheme="redis", password="Abcde#Fghij@Klmno")
def test_a_raw_password_never_shows_whether_refused_or_accepted(scheme: str, password: str) -> None:
    url = f"{scheme}://app:{password}@db.example:5432/agents"
    _assert_hidden(redact_url(url), password)
    _assert_hidden(scrub_secrets(f"driver said: {url} / {password}", url_passwords(url)), password)
    try:
        store = open_store(url)
    except InvalidArgumentError as refused:
        _assert_hidden(str(refused), password)
        if any(mark in password for mark in "/?#@"):
            assert "percent-encode" in str(refused) or "%23" in str(refused)
        return
    except ImportError:  # pragma: no cover - the dev extra installs both drivers
        pytest.skip("driver not installed")
    assert not any(mark in password for mark in "/?#@"), "an ambiguous URL was accepted"
    _assert_hidden(repr(store), password)


@given(scheme=st.sampled_from(_SCHEMES), password=_PASSWORDS)
def test_the_same_password_percent_encoded_is_accepted_and_hidden(
    scheme: str, password: str
) -> None:
    url = f"{scheme}://app:{quote(password, safe='')}@db.example:5432/0"
    check_url(url)
    _assert_hidden(redact_url(url), password)
    store = open_store(url)
    _assert_hidden(repr(store), password)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("sqlite:///a#b.db", "'#'"),
        ("memory://#x", "'#'"),
        ("redis://:pw@host:6379/0#frag", "'#'"),
        ("postgresql://u:p@h:5432/db?sslmode=disable#x", "'#'"),
        ("postgresql://u:Secret1/Secret2@h/db", "split"),
        ("redis://u:Secret1@Secret2@h:6379/0", "more than one '@'"),
        ("redis://Secret1?Secret2@h:6379/0", "after its host"),
        ("postgresql://u:Secret1%C3Secret2@h/db", "not UTF-8"),
        ("redis://:Secret1%FFSecret2@h:6379/0", "not UTF-8"),
    ],
)
def test_urls_that_would_be_misread_are_refused_with_the_reason(url: str, why: str) -> None:
    with pytest.raises(InvalidArgumentError, match=re.escape(why)) as refused:
        open_store(url)
    assert "Secret1" not in str(refused.value) and "Secret2" not in str(refused.value)


def test_a_url_without_a_password_is_shown_unchanged() -> None:
    for url in ("sqlite:///tmp/a@b.db", "redis://host:6379/0", "postgresql://me@h/db"):
        assert redact_url(url) == url
