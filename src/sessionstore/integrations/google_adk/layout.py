"""Where the ADK service keeps sessions and state in a store: namespaces and attributes.

- The sessions of one user of one app are the namespace ``adk:["<app>","<user>"]``
  (the JSON array of the two names): ``list_sessions(app_name, user_id)`` is a
  listing of that namespace, whatever else the store holds. Each ADK session
  is one store session there: its events are the messages, its own state and
  its last update time are attributes.
- The users of an app are the namespace ``adk:["<app>"]``: one record per
  user, whose attributes are that user's ``user:`` state. Listing it is how
  ``list_sessions(app_name)`` finds every user without a scan.
- App state is the record ``<app>`` of the namespace ``adk:apps``: its
  attributes are the ``app:`` state every session of the app sees.

A name longer than a namespace may be (256 bytes) is replaced by
``adk#<sha256 of it>``. When the service is given a namespace view, the view's
name prefixes these (``<view>/adk:...``), since namespaces do not nest.

A state key ``k`` is stored as the attribute ``state:k`` with the value
wrapped in a one-item list: a state value of None is a stored null in ADK,
while a None attribute value deletes the key, and keys of ours never clash
with state keys. Each scope is merged key by key in storage, so concurrent
writers of different keys never lose each other's writes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from pydantic_core import to_jsonable_python

from sessionstore import InvalidArgumentError

__all__ = [
    "APP_PREFIX",
    "LAST_UPDATE",
    "TEMP_PREFIX",
    "USER_PREFIX",
    "Layout",
    "check_name",
    "json_safe",
    "split_state",
    "state_attributes",
    "state_of",
]

APP_PREFIX = "app:"
USER_PREFIX = "user:"
TEMP_PREFIX = "temp:"

#: The attribute holding a session's last update time (the last event's timestamp).
LAST_UPDATE = "adk:last_update_time"
_STATE = "state:"
_MAX_NAMESPACE_BYTES = 256


class Layout:
    """The namespace names of one service; ``prefix`` is a namespace view's name or ``""``."""

    def __init__(self, prefix: str) -> None:
        self.prefix = f"{prefix}/" if prefix else ""

    def sessions(self, app_name: str, user_id: str) -> str:
        """The namespace of one user's sessions in one app."""
        return self._name(
            "adk:" + json.dumps([app_name, user_id], ensure_ascii=False, separators=(",", ":"))
        )

    def users(self, app_name: str) -> str:
        """The namespace of an app's users, one record (holding ``user:`` state) each."""
        return self._name(
            "adk:" + json.dumps([app_name], ensure_ascii=False, separators=(",", ":"))
        )

    def apps(self) -> str:
        """The namespace of the apps, one record (holding ``app:`` state) each."""
        return self._name("adk:apps")

    def _name(self, name: str) -> str:
        full = self.prefix + name
        if len(full.encode()) <= _MAX_NAMESPACE_BYTES:
            return full
        return self.prefix + "adk#" + hashlib.sha256(name.encode()).hexdigest()


def check_name(what: str, value: object) -> str:
    """``value`` when it is a non-empty str (an app name or user id), else InvalidArgumentError."""
    if not isinstance(value, str) or not value:
        raise InvalidArgumentError(f"{what} must be a non-empty str, got {value!r}")
    return value


def json_safe(state: Mapping[str, Any]) -> dict[str, Any]:
    """State as JSON values; what has no JSON form (a callable) becomes its repr, as in ADK."""
    safe: dict[str, Any] = to_jsonable_python(dict(state), serialize_unknown=True)
    return safe


def split_state(state: Mapping[str, Any] | None) -> tuple[dict[str, Any], ...]:
    """``(app, user, session)`` deltas of a state dict: prefixes stripped, ``temp:`` dropped."""
    app: dict[str, Any] = {}
    user: dict[str, Any] = {}
    session: dict[str, Any] = {}
    for key, value in json_safe(state or {}).items():
        if key.startswith(APP_PREFIX):
            app[key.removeprefix(APP_PREFIX)] = value
        elif key.startswith(USER_PREFIX):
            user[key.removeprefix(USER_PREFIX)] = value
        elif not key.startswith(TEMP_PREFIX):
            session[key] = value
    return app, user, session


def state_attributes(delta: Mapping[str, Any]) -> dict[str, Any]:
    """The attribute changes that store ``delta`` (each value wrapped, None kept)."""
    return {_STATE + key: [value] for key, value in delta.items()}


def state_of(attributes: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """The state stored in ``attributes``, each key given ``prefix`` (``app:``, ``user:``)."""
    state: dict[str, Any] = {}
    for key, value in attributes.items():
        if key.startswith(_STATE) and isinstance(value, list) and len(value) == 1:
            state[prefix + key.removeprefix(_STATE)] = value[0]
    return state
