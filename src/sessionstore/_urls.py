"""Keeping passwords in store URLs out of reprs, error messages and logs.

One place for the rules, so every backend and the CLI hide the same things: a
password in the URL's authority (``user:secret@host``) and any ``password=``
query parameter, in both their percent-encoded and decoded forms.

``urllib``, libpq and redis-py split a URL whose password holds a raw ``/``,
``?``, ``#`` or ``@`` differently (``postgresql://app:se/cret@db/x`` is host
``app`` with port ``se`` to ``urllib``), so no redaction built on one parser
can be trusted with it. :func:`check_url` refuses such URLs, and anything else
a parser would silently drop (a ``#fragment``), before any driver sees them;
:func:`redact_url` masks conservatively: everything between the first ``:``
after ``//`` and the last ``@`` of the whole URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from sessionstore._errors import InvalidArgumentError

__all__ = ["check_url", "redact_url", "scrub_secrets", "url_passwords"]

_ENCODE_HINT = (
    "percent-encode them in the password and user name "
    "('/' as %2F, '?' as %3F, '#' as %23, '@' as %40, ':' as %3A)"
)

_MASK = "***"


def _is_password(key: str) -> bool:
    return key.lower() == "password"


def _masked_userinfo(url: str) -> str:
    """``url`` with the text from the first ``:`` after ``//`` to its last ``@`` masked."""
    head, sep, rest = url.partition("://")
    if not sep or "@" not in rest or rest.startswith("/"):  # no authority, no password
        return url
    userinfo, _, tail = rest.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    if any(mark in user for mark in "/?#"):
        user, colon = _MASK, ""
    return f"{head}://{user}{colon}{_MASK if colon else ''}@{tail}"


def check_url(url: str) -> None:
    """Refuse ``url`` if parsers could split it differently or would drop a part of it.

    That is: a ``#fragment``, more than one ``@``, an ``@`` after the host, or a
    port that is not a number. The InvalidArgumentError shows the URL redacted.
    """
    shown = redact_url(url)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError:  # its message may quote a piece of the password: not shown
        raise InvalidArgumentError(
            f"store URL {shown!r} cannot be split unambiguously (is its port a number?); if its "
            f"password or user name holds any of / ? # @ :, {_ENCODE_HINT}"
        ) from None
    try:
        unquote(url, errors="strict")
    except UnicodeDecodeError:
        raise InvalidArgumentError(
            f"store URL {shown!r} has percent-encoded bytes that are not UTF-8 text"
        ) from None
    if "#" in url:
        raise InvalidArgumentError(
            f"store URL {shown!r} has a '#' (a fragment, which would be dropped); "
            "write '#' in a file name or password as %23"
        )
    _, _, after_scheme = url.partition("://")
    if parts.netloc and after_scheme.count("@") > 1:
        raise InvalidArgumentError(
            f"store URL {shown!r} has more than one '@', so drivers split it differently; "
            + _ENCODE_HINT
        )
    if parts.netloc and "@" in after_scheme[len(parts.netloc) :]:
        raise InvalidArgumentError(
            f"store URL {shown!r} has an '@' after its host, so drivers split it differently; "
            + _ENCODE_HINT
        )


def redact_url(url: str) -> str:
    """``url`` with any password (in the authority or a ``password=`` parameter) as ``***``.

    A URL without a password is returned unchanged, character for character.
    Safe on any string: a URL that cannot be split has everything from the first
    ``:`` after ``//`` to its last ``@`` masked, whatever the parsers would make of it.
    """
    masked = _masked_userinfo(url)
    try:
        parts = urlsplit(masked)
    except ValueError:
        return masked
    netloc = parts.netloc
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_is_password(key) for key, _ in pairs):
            query = urlencode(
                [(key, _MASK if _is_password(key) else value) for key, value in pairs],
                safe="*",
            )
    if query == parts.query:
        return masked
    return parts._replace(netloc=netloc, query=query).geturl()


def url_passwords(url: str) -> list[str]:
    """Every password ``url`` carries, as written and percent-decoded (empty ones left out).

    Besides what ``urllib`` reads, the conservative reading (from the first ``:``
    after ``//`` to the last ``@``) and its pieces between ``/ ? # @`` count too,
    so text from a driver that split the URL its own way is scrubbed as well.
    """
    _, sep, rest = url.partition("://")
    found: list[str] = []
    if sep and "@" in rest and not rest.startswith("/"):
        userinfo = rest.rpartition("@")[0]
        conservative = userinfo.partition(":")[2]
        found.append(conservative)
        found += [piece for piece in re.split(r"[/?#@]", conservative) if len(piece) >= 4]
    try:
        parts = urlsplit(url)
        found.append(parts.password or "")
        found += [value for key, value in parse_qsl(parts.query) if _is_password(key)]
    except ValueError:
        pass
    forms = {form for secret in found for form in (secret, unquote(secret))}
    return sorted(form for form in forms if form)


def scrub_secrets(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each of ``secrets`` replaced by ``***``.

    The longest secret goes first, so one that contains another is hidden whole.
    """
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            text = text.replace(secret, _MASK)
    return text
