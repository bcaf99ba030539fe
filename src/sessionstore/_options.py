"""What the server backends share when they are built: one vocabulary of connection options.

PostgreSQL and Redis take the same options by the same names, as constructor
arguments or in the URL's query (``?max_connections=5&pool_timeout=3&connect_timeout=2``),
where a value overrides the argument:

- ``max_connections``: the most connections the store's pool opens; a call that
  finds them all busy waits for one.
- ``pool_timeout``: seconds a call waits for a free connection before
  ``StoreUnavailableError``.
- ``connect_timeout``: seconds to wait for a new connection to be established
  (None: the driver's own limit).

``check_seconds`` is the one check of a number of seconds, for any option of
any backend: a bool, a str, NaN, an infinity or a value <= 0 is refused alike,
naming the option. A missing optional driver is reported by ``require_driver`` with the one
install hint.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

from sessionstore._errors import InvalidArgumentError, MissingDependencyError
from sessionstore._urls import check_url

__all__ = [
    "CONNECTION_OPTIONS",
    "ConnectionOptions",
    "check_connections",
    "check_seconds",
    "connections_from_text",
    "optional_seconds",
    "require_driver",
    "seconds_from_text",
    "split_query_options",
]

#: The option names both server backends take as arguments and in the URL's query.
CONNECTION_OPTIONS = ("max_connections", "pool_timeout", "connect_timeout")


def check_seconds(name: str, value: object) -> float:
    """``value`` as a float of seconds, or InvalidArgumentError naming the option ``name``.

    A number of seconds is an int or a float, finite and > 0: a bool, a str,
    NaN or an infinity is not one.
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 < value < math.inf  # False for NaN too
    ):
        raise InvalidArgumentError(f"{name} must be a number of seconds > 0, got {value!r}")
    return float(value)


def check_connections(name: str, value: object) -> int:
    """``value`` as a number of connections (an int >= 1), or InvalidArgumentError naming it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgumentError(f"{name} must be an int >= 1, got {value!r}")
    return value


def seconds_from_text(name: str, text: str) -> float:
    """A number of seconds as a URL's query writes it, checked as ``check_seconds`` does."""
    try:
        value = float(text)
    except ValueError:
        raise InvalidArgumentError(
            f"{name} must be a number of seconds > 0, got {text!r}"
        ) from None
    return check_seconds(name, value)


def connections_from_text(name: str, text: str) -> int:
    """A number of connections as a URL's query writes it, checked as ``check_connections`` does."""
    try:
        value = int(text)
    except ValueError:
        raise InvalidArgumentError(f"{name} must be an int >= 1, got {text!r}") from None
    return check_connections(name, value)


def optional_seconds(name: str, value: object, query: Mapping[str, str]) -> float | None:
    """Option ``name`` in seconds or None: the URL ``query``'s value if it has one, else ``value``.

    Either is checked as ``check_seconds`` does; None (no limit) passes as None.
    """
    if name in query:
        return seconds_from_text(name, query[name])
    return None if value is None else check_seconds(name, value)


def split_query_options(url: str, names: Iterable[str]) -> tuple[str, dict[str, str]]:
    """``url`` without the query parameters in ``names``, and those parameters' decoded values.

    The query is split by hand, not decoded and re-encoded, so the driver sees
    every other parameter byte for byte (libpq, for one, decodes ``%XX`` but
    not ``+``). A URL without any of ``names`` comes
    back unchanged. When a name repeats, the last value wins. Both server
    backends split their URL here first, so this is where a URL that drivers
    could read differently is refused (``check_url``), whoever built the store.
    """
    check_url(url)
    parts = urlsplit(url)
    if not parts.query:
        return url, {}
    wanted = set(names)
    found: dict[str, str] = {}
    kept: list[str] = []
    for pair in parts.query.split("&"):
        key, _, value = pair.partition("=")
        if unquote(key) in wanted:
            found[unquote(key)] = unquote(value)
        else:
            kept.append(pair)
    if not found:
        return url, {}
    return urlunsplit(parts._replace(query="&".join(kept))), found


@dataclass(frozen=True, slots=True)
class ConnectionOptions:
    """A server store's pool size and waits, checked: see the module docstring for each."""

    max_connections: int
    pool_timeout: float
    connect_timeout: float | None

    @classmethod
    def checked(
        cls,
        max_connections: object,
        pool_timeout: object,
        connect_timeout: object,
        query: Mapping[str, str],
    ) -> ConnectionOptions:
        """The options given as arguments, each replaced by the value ``query`` gives it, if any.

        Raises InvalidArgumentError naming the first option that is out of range.
        """
        if "max_connections" in query:
            max_connections = connections_from_text("max_connections", query["max_connections"])
        if "pool_timeout" in query:
            pool_timeout = seconds_from_text("pool_timeout", query["pool_timeout"])
        return cls(
            check_connections("max_connections", max_connections),
            check_seconds("pool_timeout", pool_timeout),
            optional_seconds("connect_timeout", connect_timeout, query),
        )


def require_driver(missing: ImportError | None, store: str, needs: str, extra: str) -> None:
    """Raise MissingDependencyError if the driver import failed (``missing``), naming the extra.

    ``store`` needs ``needs`` (the driver, in words); the message ends with the
    ``pip install`` command that installs the ``extra``.
    """
    if missing is not None:
        raise MissingDependencyError(
            f"{store} needs {needs}: pip install 'sessionstore[{extra}]'"
        ) from missing
