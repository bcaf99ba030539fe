"""``SessionStoreSessionService`` held to ADK's own session-service contract, on every backend.

The standard is ADK's shared contract tests (``tests/unittests/sessions/
test_session_service.py`` with ``_conformance.py`` in google/adk-python): the
behaviours every ``BaseSessionService`` owes its callers, restated here against
the real ``google-adk`` package, plus the stale-session check its SQL service makes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from google.adk.errors import StaleSessionError
from google.adk.errors.already_exists_error import AlreadyExistsError
from google.adk.errors.session_not_found_error import SessionNotFoundError
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.adk.sessions.base_session_service import GetSessionConfig

from sessionstore import InvalidArgumentError, InvalidSessionIdError, open_store
from sessionstore.integrations.google_adk import SessionStoreSessionService

APP, USER = "my_app", "u1"


@pytest.fixture
async def service(store_url: str) -> AsyncIterator[SessionStoreSessionService]:
    async with open_store(store_url) as store:
        yield SessionStoreSessionService(store)


def _event(
    invocation: str = "inv", timestamp: float | None = None, state: dict[str, Any] | None = None
) -> Event:
    actions = EventActions(state_delta=state or {})
    event = Event(invocation_id=invocation, author="user", actions=actions)
    if timestamp is not None:
        event.timestamp = timestamp
    return event


async def test_create_get_and_delete(service: SessionStoreSessionService) -> None:
    assert await service.get_session(app_name=APP, user_id=USER, session_id="123") is None
    session = await service.create_session(app_name=APP, user_id=USER, state={"key": "value"})
    assert session.id and session.state == {"key": "value"} and session.events == []
    assert session.last_update_time <= time.time()
    got = await service.get_session(app_name=APP, user_id=USER, session_id=session.id)
    assert got == session
    await service.delete_session(app_name=APP, user_id=USER, session_id=session.id)
    assert await service.get_session(app_name=APP, user_id=USER, session_id=session.id) is None
    await service.delete_session(app_name=APP, user_id=USER, session_id=session.id)  # no-op


async def test_list_sessions_of_a_user_and_of_every_user(
    service: SessionStoreSessionService,
) -> None:
    for user, session_id in [("user1", "s1a"), ("user1", "s1b"), ("user2", "s2a")]:
        await service.create_session(
            app_name=APP, user_id=user, session_id=session_id, state={"key": session_id}
        )
    await service.create_session(app_name="other_app", user_id="user1", session_id="x")
    one = (await service.list_sessions(app_name=APP, user_id="user1")).sessions
    assert {s.id: s.state for s in one} == {"s1a": {"key": "s1a"}, "s1b": {"key": "s1b"}}
    every = (await service.list_sessions(app_name=APP)).sessions
    assert {(s.user_id, s.id) for s in every} == {
        ("user1", "s1a"),
        ("user1", "s1b"),
        ("user2", "s2a"),
    }
    assert all(s.events == [] for s in every)
    assert (await service.list_sessions(app_name=APP, user_id="nobody")).sessions == []


async def test_list_sessions_oldest_update_first(service: SessionStoreSessionService) -> None:
    for session_id in ("a", "b", "c"):
        await service.create_session(app_name=APP, user_id=USER, session_id=session_id)
    session_a = await service.get_session(app_name=APP, user_id=USER, session_id="a")
    assert session_a is not None
    await service.append_event(session_a, _event(timestamp=time.time() + 1))
    listed = (await service.list_sessions(app_name=APP, user_id=USER)).sessions
    assert [s.id for s in listed] == ["b", "c", "a"]


async def test_each_user_is_a_namespace_so_listing_reads_no_other_session(
    service: SessionStoreSessionService,
) -> None:
    await service.create_session(app_name=APP, user_id=USER, session_id="mine")
    await service.create_session(app_name=APP, user_id="u2", session_id="theirs")
    own = service.user_sessions(APP, USER)
    assert [r.id for r in await own.list()] == ["mine"]
    assert await service.store.count() == 0  # nothing in the default namespace
    assert own.namespace_name == 'adk:["my_app","u1"]'


async def test_app_state_is_shared_by_all_users_of_app(
    service: SessionStoreSessionService,
) -> None:
    session1 = await service.create_session(
        app_name=APP, user_id="u1", session_id="s1", state={"app:k1": "v1"}
    )
    await service.append_event(session1, _event(state={"app:k2": "v2"}))
    session2 = await service.create_session(app_name=APP, user_id="u2", session_id="s2")
    assert session2.state == {"app:k1": "v1", "app:k2": "v2"}
    again = await service.get_session(app_name=APP, user_id="u1", session_id="s1")
    assert again is not None and again.state == {"app:k1": "v1", "app:k2": "v2"}
    other_app = await service.create_session(app_name="other", user_id="u1")
    assert other_app.state == {}


async def test_user_state_is_shared_only_by_that_users_sessions(
    service: SessionStoreSessionService,
) -> None:
    session1 = await service.create_session(
        app_name=APP, user_id="u1", session_id="s1", state={"user:k1": "v1"}
    )
    await service.append_event(session1, _event(state={"user:k2": "v2", "sk": 1}))
    session1b = await service.create_session(app_name=APP, user_id="u1", session_id="s1b")
    assert session1b.state == {"user:k1": "v1", "user:k2": "v2"}
    session2 = await service.create_session(app_name=APP, user_id="u2", session_id="s2")
    assert session2.state == {}
    assert await service.get_user_state(app_name=APP, user_id="u1") == {"k1": "v1", "k2": "v2"}
    assert await service.get_user_state(app_name=APP, user_id="u2") == {}
    assert await service.get_user_state(app_name="other", user_id="u1") == {}


async def test_session_state_is_not_shared(service: SessionStoreSessionService) -> None:
    session1 = await service.create_session(
        app_name=APP, user_id=USER, session_id="s1", state={"sk1": "v1"}
    )
    await service.append_event(session1, _event(state={"sk2": "v2"}))
    got = await service.get_session(app_name=APP, user_id=USER, session_id="s1")
    assert got is not None and got.state == {"sk1": "v1", "sk2": "v2"}
    other = await service.create_session(app_name=APP, user_id=USER, session_id="s1b")
    assert other.state == {}


async def test_none_is_stored_and_a_dict_replaces(service: SessionStoreSessionService) -> None:
    state = {"flag": True, "off": False, "profile": {"name": "ada", "role": "admin"}}
    session = await service.create_session(
        app_name=APP, user_id=USER, session_id="s1", state={**state, "user:pref": "dark"}
    )
    delta: dict[str, Any] = {
        "flag": None,
        "profile": {"name": "bob"},
        "user:pref": None,
        "app:cfg": {"a": 1},
    }
    await service.append_event(session, _event(state=delta))
    expected: dict[str, Any] = {"flag": None, "off": False, "profile": {"name": "bob"}}
    expected |= {"user:pref": None, "app:cfg": {"a": 1}}
    got = await service.get_session(app_name=APP, user_id=USER, session_id="s1")
    assert got is not None and got.state == expected
    assert session.state == expected
    await service.append_event(session, _event(state={"app:cfg": {"b": 2}}))
    fresh = await service.create_session(app_name=APP, user_id=USER, session_id="s2")
    assert fresh.state == {"user:pref": None, "app:cfg": {"b": 2}}


async def test_temp_state_is_not_persisted(service: SessionStoreSessionService) -> None:
    session = await service.create_session(app_name=APP, user_id=USER, session_id="s1")
    event = _event(state={"temp:k1": "v1", "sk": "v2"})
    await service.append_event(session, event)
    assert session.state == {"temp:k1": "v1", "sk": "v2"}  # the running invocation sees it
    assert event.actions.state_delta == {"sk": "v2"}
    got = await service.get_session(app_name=APP, user_id=USER, session_id="s1")
    assert got is not None and got.state == {"sk": "v2"}
    assert got.events[0].actions.state_delta == {"sk": "v2"}


async def test_non_json_state_is_stored_as_its_repr(service: SessionStoreSessionService) -> None:
    session = await service.create_session(app_name=APP, user_id=USER)
    await service.append_event(session, _event(state={"callback": lambda: 1, "ok": 2}))
    got = await service.get_session(app_name=APP, user_id=USER, session_id=session.id)
    assert got is not None and got.state["ok"] == 2 and isinstance(got.state["callback"], str)


async def test_get_session_respects_user_id(service: SessionStoreSessionService) -> None:
    session1 = await service.create_session(app_name=APP, user_id="u1", session_id="s1")
    await service.append_event(session1, _event())
    await service.create_session(app_name=APP, user_id="u2", session_id="s1")
    got = await service.get_session(app_name=APP, user_id="u2", session_id="s1")
    assert got is not None and got.user_id == "u2" and got.events == []


async def test_an_existing_id_raises_and_ids_are_stripped(
    service: SessionStoreSessionService,
) -> None:
    await service.create_session(
        app_name=APP, user_id=USER, session_id="existing", state={"keep": "original"}
    )
    for taken in ("existing", "  existing  "):
        with pytest.raises(AlreadyExistsError):
            await service.create_session(
                app_name=APP, user_id=USER, session_id=taken, state={"keep": "clobbered"}
            )
    created = await service.create_session(
        app_name=APP, user_id=USER, session_id="order-42\n", state={"cart": "book"}
    )
    assert created.id == "order-42"
    got = await service.get_session(app_name=APP, user_id=USER, session_id="order-42\n")
    assert got is not None and got.state == {"cart": "book"}
    await service.delete_session(app_name=APP, user_id=USER, session_id=" order-42")
    assert await service.get_session(app_name=APP, user_id=USER, session_id="order-42") is None
    blank = await service.create_session(app_name=APP, user_id=USER, session_id="   ")
    assert blank.id.strip()
    kept = await service.get_session(app_name=APP, user_id=USER, session_id="existing")
    assert kept is not None and kept.state == {"keep": "original"}


async def test_bad_names_raise_the_librarys_errors(service: SessionStoreSessionService) -> None:
    with pytest.raises(InvalidArgumentError, match="app_name"):
        await service.create_session(app_name="", user_id=USER)
    with pytest.raises(InvalidArgumentError, match="user_id"):
        await service.list_sessions(app_name=APP, user_id="")
    with pytest.raises(InvalidSessionIdError):
        await service.create_session(app_name=APP, user_id=USER, session_id="a\x00b")


async def test_last_update_time_is_the_last_events_time(
    service: SessionStoreSessionService,
) -> None:
    session = await service.create_session(app_name=APP, user_id=USER)
    created = session.last_update_time
    await service.append_event(session, _event(timestamp=created + 10))
    assert session.last_update_time == pytest.approx(created + 10, abs=1e-6)
    got = await service.get_session(app_name=APP, user_id=USER, session_id=session.id)
    assert got is not None and got.last_update_time == pytest.approx(created + 10, abs=1e-6)


async def test_a_stale_session_is_refused_and_nothing_is_written(
    service: SessionStoreSessionService,
) -> None:
    now = time.time()
    original = await service.create_session(app_name=APP, user_id=USER)
    await service.append_event(original, _event("inv1", now + 1, {"sk1": "v1"}))
    updated = await service.get_session(app_name=APP, user_id=USER, session_id=original.id)
    assert updated is not None
    await service.append_event(updated, _event("inv2", now + 2, {"sk2": "v2"}))
    with pytest.raises(StaleSessionError, match="modified in storage"):
        await service.append_event(original, _event("inv3", now + 3, {"sk3": "v3"}))
    final = await service.get_session(app_name=APP, user_id=USER, session_id=original.id)
    assert final is not None
    assert [e.invocation_id for e in final.events] == ["inv1", "inv2"]
    assert final.state == {"sk1": "v1", "sk2": "v2"}
    assert len(original.events) == 1  # the refused event did not reach the stale object


async def test_of_two_concurrent_writers_at_one_version_one_wins(
    service: SessionStoreSessionService,
) -> None:
    session = await service.create_session(app_name=APP, user_id=USER)
    for i in range(4):
        latest = await service.get_session(app_name=APP, user_id=USER, session_id=session.id)
        assert latest is not None
        copies = [latest.model_copy(deep=True) for _ in range(2)]
        results = await asyncio.gather(
            *(
                service.append_event(c, _event(f"inv{i}-{n}", state={f"sk{i}": n}))
                for n, c in enumerate(copies)
            ),
            return_exceptions=True,
        )
        assert sorted(type(r).__name__ for r in results) == ["Event", "StaleSessionError"]
    final = await service.get_session(app_name=APP, user_id=USER, session_id=session.id)
    assert final is not None and len(final.events) == 4


async def test_a_session_object_without_our_marker_is_checked_by_time(
    service: SessionStoreSessionService,
) -> None:
    session = await service.create_session(app_name=APP, user_id=USER, session_id="s1")
    await service.append_event(session, _event("inv1", session.last_update_time + 10))
    stale = session.model_copy(deep=True)
    session._storage_update_marker = None  # as a hand-built or foreign session object
    session.last_update_time -= 0.0001  # storage is newer, but ends with this object's event
    await service.append_event(session, _event("inv2", session.last_update_time + 20))
    stale._storage_update_marker = None
    with pytest.raises(StaleSessionError):
        await service.append_event(stale, _event("inv3", stale.last_update_time + 30))
    got = await service.get_session(app_name=APP, user_id=USER, session_id="s1")
    assert got is not None and [e.invocation_id for e in got.events] == ["inv1", "inv2"]


async def test_appending_to_a_deleted_session_raises_not_found(
    service: SessionStoreSessionService,
) -> None:
    session = await service.create_session(app_name=APP, user_id=USER)
    await service.delete_session(app_name=APP, user_id=USER, session_id=session.id)
    with pytest.raises(SessionNotFoundError):
        await service.append_event(session, _event())
    session._storage_update_marker = None
    with pytest.raises(SessionNotFoundError):
        await service.append_event(session, _event())
    assert await service.get_session(app_name=APP, user_id=USER, session_id=session.id) is None


async def test_get_session_config_reads_a_tail(service: SessionStoreSessionService) -> None:
    base = float(int(time.time()))
    session = await service.create_session(app_name=APP, user_id=USER)
    for i in range(1, 6):
        await service.append_event(session, Event(author="user", timestamp=base + i))

    async def stamps(config: GetSessionConfig | None) -> list[float]:
        got = await service.get_session(
            app_name=APP, user_id=USER, session_id=session.id, config=config
        )
        assert got is not None
        return [event.timestamp - base for event in got.events]

    assert await stamps(None) == [1, 2, 3, 4, 5]
    assert await stamps(GetSessionConfig(num_recent_events=0)) == []
    assert await stamps(GetSessionConfig(num_recent_events=3)) == [3, 4, 5]
    assert await stamps(GetSessionConfig(num_recent_events=9)) == [1, 2, 3, 4, 5]
    assert await stamps(GetSessionConfig(after_timestamp=base + 4)) == [4, 5]
    assert await stamps(GetSessionConfig(after_timestamp=base + 50)) == []
    both = GetSessionConfig(after_timestamp=base + 4, num_recent_events=3)
    assert await stamps(both) == [4, 5]


async def test_after_timestamp_reads_back_past_its_first_window(
    service: SessionStoreSessionService,
) -> None:
    session = await service.create_session(app_name=APP, user_id=USER)
    for i in range(100):
        await service.append_event(session, Event(author="user", timestamp=1000.0 + i))
    config = GetSessionConfig(after_timestamp=1000.0 + 10)
    got = await service.get_session(
        app_name=APP, user_id=USER, session_id=session.id, config=config
    )
    assert got is not None and [e.timestamp for e in got.events] == [
        1000.0 + i for i in range(10, 100)
    ]
    got_all = await service.get_session(
        app_name=APP,
        user_id=USER,
        session_id=session.id,
        config=GetSessionConfig(after_timestamp=0.0),
    )
    assert got_all is not None and len(got_all.events) == 100


async def test_partial_events_are_not_persisted(service: SessionStoreSessionService) -> None:
    session = await service.create_session(app_name=APP, user_id=USER)
    await service.append_event(session, Event(author="user", partial=True))
    assert session.events == []
    got = await service.get_session(app_name=APP, user_id=USER, session_id=session.id)
    assert got is not None and got.events == []


async def test_a_namespace_view_keeps_tenants_apart(store_url: str) -> None:
    async with open_store(store_url) as store:
        acme = SessionStoreSessionService(store.namespace("acme"))
        globex = SessionStoreSessionService(store.namespace("globex"))
        await acme.create_session(app_name=APP, user_id=USER, session_id="s", state={"app:k": 1})
        assert await globex.get_session(app_name=APP, user_id=USER, session_id="s") is None
        assert (await globex.create_session(app_name=APP, user_id=USER)).state == {}
        assert acme.user_sessions(APP, USER).namespace_name == 'acme/adk:["my_app","u1"]'
