"""Keeping passwords in store URLs out of reprs, error messages and logs.

One place for the rules, so every backend and the CLI hide the same things: a
password in the URL's authority (``user:secret@host``) and any ``password=``
query parameter, in both their percent-encoded and decoded forms.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

__all__ = ["redact_url", "scrub_secrets", "url_passwords"]

_MASK = "***"


def _is_password(key: str) -> bool:
    return key.lower() == "password"


def redact_url(url: str) -> str:
    """``url`` with any password (in the authority or a ``password=`` parameter) as ``***``.

    A URL without a password is returned unchanged, character for character.
    Raises ValueError where ``urllib`` cannot split ``url``.
    """
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, hostport = netloc.rpartition("@")
        user = userinfo.partition(":")[0]
        netloc = f"{user}:{_MASK}@{hostport}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_is_password(key) for key, _ in pairs):
            query = urlencode(
                [(key, _MASK if _is_password(key) else value) for key, value in pairs],
                safe="*",
            )
    if netloc == parts.netloc and query == parts.query:
        return url
    return parts._replace(netloc=netloc, query=query).geturl()


def url_passwords(url: str) -> list[str]:
    """Every password ``url`` carries, as written and percent-decoded (empty ones left out).

    Raises ValueError where ``urllib`` cannot split ``url``.
    """
    parts = urlsplit(url)
    found = [parts.password or ""]
    found += [value for key, value in parse_qsl(parts.query) if _is_password(key)]
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
