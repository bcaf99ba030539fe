"""``SessionStoreSessionService``: Google ADK's ``BaseSessionService`` on any ``SessionStore``."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from google.adk.errors import StaleSessionError
from google.adk.errors.already_exists_error import AlreadyExistsError
from google.adk.errors.session_not_found_error import SessionNotFoundError
from google.adk.events.event import Event
from google.adk.sessions import BaseSessionService, Session
from google.adk.sessions.base_session_service import GetSessionConfig, ListSessionsResponse

from sessionstore import ConflictError, Message, SessionRecord, SessionStore
from sessionstore.integrations._shared import resolve_store
from sessionstore.integrations.google_adk.events import event_to_message, message_to_event
from sessionstore.integrations.google_adk.layout import (
    APP_PREFIX,
    LAST_UPDATE,
    USER_PREFIX,
    Layout,
    check_name,
    split_state,
    state_attributes,
    state_of,
)

__all__ = ["SessionStoreSessionService"]

_STALE = (
    "The session has been modified in storage since it was loaded. "
    "Please reload the session before appending more events."
)
#: The first tail read of ``after_timestamp`` without ``num_recent_events``; it doubles.
_WINDOW = 32
#: ``Session._storage_update_marker`` values of ours: the store version the session was read at.
_MARKER = "sessionstore:v"


class SessionStoreSessionService(BaseSessionService):
    """A Google ADK session service whose sessions, events and state live in a ``SessionStore``.

    ``store`` is a ``SessionStore``, a URL, or None for ``$SESSIONSTORE_URL`` then
    ``sqlite:///sessions.db``; stores opened from one URL are shared by the process.
    Each user of each app gets a namespace of their own (see ``layout``), so
    ``list_sessions`` is a listing, never a scan of the store; each event is one
    message (a readable view, the event's JSON kept beside it: see ``events``).

    ``append_event`` is one atomic append of the event, the session's state delta
    and its last update time, made only if the session is still at the version it
    was read at (``expected_version``): a stale session object raises ADK's
    ``StaleSessionError``, a deleted one ``SessionNotFoundError``.
    ``get_session`` with ``GetSessionConfig(num_recent_events=n)`` reads only the
    last ``n`` events; ``after_timestamp`` reads back from the end until it
    passes that time.

    What it cannot do atomically, where ADK's ``DatabaseSessionService`` uses one
    SQL transaction: ``app:`` and ``user:`` state live in records of their own, so
    an event's app and user deltas are written just after the event (each one
    atomic merge), and ``create_session`` writes the session, then the user's
    record, then the app's. A crash in between leaves the event (whose
    ``state_delta`` still holds the delta) without its app or user state, or a
    new session whose user ``list_sessions(app_name)`` does not list yet. A reader
    between those writes may see the event before the shared state. State of one
    scope is limited to 64 KiB of JSON (the store's attribute limit).
    """

    def __init__(self, store: SessionStore | str | None = None) -> None:
        self.store = resolve_store(store)
        self._layout = Layout(self.store.namespace_name)

    def __repr__(self) -> str:
        return f"SessionStoreSessionService({self.store!r})"

    # -- where things are ----------------------------------------------------------------------

    def user_sessions(self, app_name: str, user_id: str) -> SessionStore:
        """The namespace view holding one user's sessions of one app (their events are its
        messages): for ``sessionstore`` tools, exports and retention (``prune``)."""
        names = check_name("app_name", app_name), check_name("user_id", user_id)
        return self.store.namespace(self._layout.sessions(*names))

    def _users(self, app_name: str) -> SessionStore:
        return self.store.namespace(self._layout.users(check_name("app_name", app_name)))

    def _apps(self) -> SessionStore:
        return self.store.namespace(self._layout.apps())

    async def _attributes(self, store: SessionStore, record_id: str) -> Mapping[str, Any]:
        record = await store.get(record_id)
        return record.attributes if record is not None else {}

    async def _shared_attributes(
        self, app_name: str, user_id: str
    ) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
        """The attributes holding the app's state and the user's state."""
        # One after the other: concurrent first calls on a loop's fresh PostgreSQL pool,
        # made from asyncio.run, left the loop unable to close (see the closing report).
        app = await self._attributes(self._apps(), app_name)
        user = await self._attributes(self._users(app_name), user_id)
        return app, user

    async def _merge_shared(
        self, app_name: str, user_id: str, app_delta: dict[str, Any], user_delta: dict[str, Any]
    ) -> None:
        """Merge ``app:`` and ``user:`` deltas into their records (each write atomic)."""
        if user_delta:
            await self._users(app_name).append(user_id, [], attributes=state_attributes(user_delta))
        if app_delta:
            await self._apps().append(app_name, [], attributes=state_attributes(app_delta))

    # -- BaseSessionService --------------------------------------------------------------------

    async def create_session(
        self,
        *,
        app_name: str,
        user_id: str,
        state: dict[str, Any] | None = None,
        session_id: str | None = None,
    ) -> Session:
        """A new session (``session_id`` stripped of whitespace, or a new uuid4);
        ``AlreadyExistsError`` when this user already has one by that id."""
        sessions = self.user_sessions(app_name, user_id)
        session_id = _normalised(session_id) or str(uuid.uuid4())
        app_delta, user_delta, own_state = split_state(state)
        now = time.time()
        attributes = {LAST_UPDATE: now, **state_attributes(own_state)}
        try:
            record = await sessions.save(session_id, [], expected_version=0, attributes=attributes)
        except ConflictError as exc:
            raise AlreadyExistsError(f"Session with id {session_id} already exists.") from exc
        # The user's record is written even without a delta: it lists the user in the app.
        user = await self._users(app_name).append(
            user_id, [], attributes=state_attributes(user_delta)
        )
        if app_delta:
            app_attributes = (
                await self._apps().append(app_name, [], attributes=state_attributes(app_delta))
            ).attributes
        else:
            app_attributes = await self._attributes(self._apps(), app_name)
        return _session(app_name, user_id, record, [], app_attributes, user.attributes)

    async def get_session(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        config: GetSessionConfig | None = None,
    ) -> Session | None:
        """The session with its events (all, or as ``config`` filters them) and its
        state merged with the app's and the user's; None when there is none."""
        sessions = self.user_sessions(app_name, user_id)
        wanted = _normalised(session_id)
        if not wanted:
            return None
        loaded = await _read_events(sessions, wanted, config)
        if loaded is None:
            return None
        record, events = loaded
        app_attributes, user_attributes = await self._shared_attributes(app_name, user_id)
        return _session(app_name, user_id, record, events, app_attributes, user_attributes)

    async def list_sessions(
        self, *, app_name: str, user_id: str | None = None
    ) -> ListSessionsResponse:
        """The sessions (without events, state merged) of one user, or of every user of
        the app, oldest update first; a listing of their namespaces, not a scan."""
        app_attributes = await self._attributes(self._apps(), app_name)
        if user_id is not None:
            check_name("user_id", user_id)
            users = [(user_id, await self._attributes(self._users(app_name), user_id))]
        else:
            users = [(str(r.id), r.attributes) for r in await self._users(app_name).list()]
        listed: list[Session] = []
        for user, user_attributes in users:
            for record in await self.user_sessions(app_name, user).list():
                listed.append(_session(app_name, user, record, [], app_attributes, user_attributes))
        listed.sort(key=lambda s: (s.last_update_time, s.user_id, s.id))
        return ListSessionsResponse(sessions=listed)

    async def delete_session(self, *, app_name: str, user_id: str, session_id: str) -> None:
        """Delete the session and its events (a no-op for an unknown one); the user's and
        the app's state stay."""
        sessions = self.user_sessions(app_name, user_id)
        wanted = _normalised(session_id)
        if wanted:
            await sessions.delete(wanted)

    async def get_user_state(self, *, app_name: str, user_id: str) -> dict[str, Any]:
        """The user's ``user:`` state, keys without the prefix (``{}`` when none)."""
        check_name("user_id", user_id)
        return state_of(await self._attributes(self._users(app_name), user_id))

    async def append_event(self, session: Session, event: Event) -> Event:
        """Store ``event`` and its state delta, then apply them to ``session``.

        Partial events are returned untouched; ``temp:`` state reaches only the
        in-memory session. StaleSessionError when the stored session was written
        since ``session`` was read, SessionNotFoundError when it is gone.
        """
        if event.partial:
            return event
        self._apply_temp_state(session, event)
        event = self._trim_temp_delta_state(event)
        sessions = self.user_sessions(session.app_name, session.user_id)
        app_delta, user_delta, own_delta = split_state(event.actions.state_delta)
        expected = _marker_version(session)
        if expected is None:
            expected = await _markerless_version(sessions, session)
        attributes = {LAST_UPDATE: event.timestamp, **state_attributes(own_delta)}
        try:
            record = await sessions.append(
                session.id,
                [event_to_message(event)],
                expected_version=expected,
                attributes=attributes,
            )
        except ConflictError as exc:
            if exc.actual == 0:
                raise SessionNotFoundError(f"Session {session.id} not found.") from exc
            raise StaleSessionError(_STALE) from exc
        await self._merge_shared(session.app_name, session.user_id, app_delta, user_delta)
        session.last_update_time = event.timestamp
        _set_marker(session, record.version)
        return self._commit_event_to_session(session, event)


# -- helpers ------------------------------------------------------------------------------------


def _normalised(session_id: str | None) -> str | None:
    """ADK's id rule (the in-memory and SQLite services'): surrounding whitespace goes."""
    return session_id.strip() if isinstance(session_id, str) else session_id


def _session(
    app_name: str,
    user_id: str,
    record: SessionRecord,
    events: list[Event],
    app_attributes: Mapping[str, Any],
    user_attributes: Mapping[str, Any],
) -> Session:
    state = state_of(record.attributes)
    state.update(state_of(app_attributes, APP_PREFIX))
    state.update(state_of(user_attributes, USER_PREFIX))
    stamp = record.attributes.get(LAST_UPDATE)
    last_update = float(stamp) if isinstance(stamp, int | float) else record.updated_at.timestamp()
    session = Session(
        id=str(record.id),
        app_name=app_name,
        user_id=user_id,
        state=state,
        events=events,
        last_update_time=last_update,
    )
    _set_marker(session, record.version)
    return session


def _events(messages: Sequence[Message], offset: int, record: SessionRecord) -> list[Event]:
    return [
        message_to_event(message, offset + index, record.created_at)
        for index, message in enumerate(messages)
    ]


async def _read_events(
    sessions: SessionStore, session_id: str, config: GetSessionConfig | None
) -> tuple[SessionRecord, list[Event]] | None:
    """The record and the events ``config`` asks for, the tail read with the record."""
    recent = config.num_recent_events if config is not None else None
    after = config.after_timestamp if config is not None else None
    if recent is not None:
        snap = await sessions.snapshot(
            session_id, start=-recent if recent else 0, stop=None if recent else 0
        )
    elif after is not None:
        snap = await sessions.snapshot(session_id, start=-_WINDOW)
    else:
        snap = await sessions.snapshot(session_id)
    if snap is None:
        return None
    record = snap.record
    offset = record.message_count - len(snap.messages)
    events = _events(snap.messages, offset, record)
    if after is not None and events:
        if recent is None:
            events = await _extend_back(sessions, record, events, offset, after)
        events = _from_time(events, after)
    return record, events


async def _extend_back(
    sessions: SessionStore, record: SessionRecord, events: list[Event], offset: int, after: float
) -> list[Event]:
    """Prepend older events, in doubling windows, until one is older than ``after``."""
    window = max(len(events), 1)
    while offset > 0 and events and events[0].timestamp >= after:
        start = max(0, offset - window)
        older = await sessions.load(record.id, start=start, stop=offset)
        if not older:
            break
        events = _events(older, start, record) + events
        offset, window = start, window * 2
    return events


def _from_time(events: list[Event], after: float) -> list[Event]:
    """The events after the last one older than ``after`` (ADK's in-memory rule)."""
    for index in range(len(events) - 1, -1, -1):
        if events[index].timestamp < after:
            return events[index + 1 :]
    return events


def _marker_version(session: Session) -> int | None:
    """The store version ``session`` was read at, when this service read or wrote it."""
    marker = getattr(session, "_storage_update_marker", None)
    if isinstance(marker, str) and marker.startswith(_MARKER):
        digits = marker.removeprefix(_MARKER)
        if digits.isdigit():
            return int(digits)
    return None


def _set_marker(session: Session, version: int) -> None:
    # A private attribute of ADK's Session (2.x); without it the timestamp check serves.
    if "_storage_update_marker" in (type(session).__private_attributes__ or {}):
        session._storage_update_marker = f"{_MARKER}{version}"


async def _markerless_version(sessions: SessionStore, session: Session) -> int:
    """The version to write at for a session object without our marker (built by hand or
    by another service): ADK's fallback, stale only if storage has moved past
    ``last_update_time`` to an event the session does not end with."""
    record = await sessions.get(session.id)
    if record is None:
        raise SessionNotFoundError(f"Session {session.id} not found.")
    stored = record.attributes.get(LAST_UPDATE)
    if isinstance(stored, int | float) and stored > session.last_update_time:
        tail = await sessions.load(session.id, start=-1) or []
        newest = message_to_event(tail[0], 0, record.created_at).id if tail else None
        mine = session.events[-1].id if session.events else None
        if newest != mine:
            raise StaleSessionError(_STALE)
    return record.version
