"""Session ids, list windows and the microsecond time encoding backends store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessionstore import InvalidSessionIdError, ListOptions, SessionId, SessionStoreError
from sessionstore._records import (
    MAX_SESSION_ID_BYTES,
    datetime_from_micros,
    micros_from_datetime,
    utc_now,
    validate_session_id,
)
from sessionstore.testing import HOSTILE_IDS

# -- session ids ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        *HOSTILE_IDS,
        "a",
        "€" * 341 + "a",  # 3 bytes each: 1,023 + 1
        "🎉" * 256,  # 4 bytes each: exactly 1,024
    ],
)
def test_valid_ids_are_kept_exactly(value: str) -> None:
    session_id = validate_session_id(value)
    assert session_id == value
    assert isinstance(session_id, SessionId) and isinstance(session_id, str)
    assert len(session_id.encode()) <= MAX_SESSION_ID_BYTES


def test_session_id_passes_through_unchanged() -> None:
    session_id = SessionId("k")
    assert validate_session_id(session_id) is session_id


@pytest.mark.parametrize(
    "value",
    [
        "",
        "\x00",
        "a\x00b",
        "x" * 1025,
        "é" * 513,  # 1,026 bytes though only 513 characters
        "€" * 341 + "ab",  # 1,025 bytes
        "🎉" * 256 + "a",  # 1,025 bytes
        "\ud800",
        "a\udfffb",
        42,
        None,
        b"bytes",
        ["a"],
    ],
)
def test_invalid_ids_raise(value: object) -> None:
    with pytest.raises(InvalidSessionIdError) as info:
        validate_session_id(value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, SessionStoreError)
    assert "session id" in str(info.value)


def test_size_error_says_how_many_bytes() -> None:
    with pytest.raises(InvalidSessionIdError, match="1026"):
        validate_session_id("é" * 513)


@given(st.text(min_size=1))
def test_any_text_is_an_id_when_it_fits(value: str) -> None:
    fits = "\x00" not in value and len(value.encode("utf-8")) <= MAX_SESSION_ID_BYTES
    if fits:
        assert validate_session_id(value) == value
    else:
        with pytest.raises(InvalidSessionIdError):
            validate_session_id(value)


# -- ListOptions ---------------------------------------------------------------------


def test_list_options_defaults_mean_everything_oldest_first() -> None:
    options = ListOptions()
    assert (options.offset, options.limit, options.newest_first) == (0, None, False)


@pytest.mark.parametrize(
    "kwargs", [{"offset": 0, "limit": 0}, {"offset": 10**9, "limit": 1}, {"newest_first": True}]
)
def test_list_options_accepts_valid(kwargs: dict[str, object]) -> None:
    ListOptions(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"offset": -1},
        {"limit": -1},
        {"offset": 1.5},
        {"limit": "3"},
        {"offset": True},
        {"limit": False},
        {"newest_first": "yes"},
        {"offset": None},
    ],
)
def test_list_options_rejects_invalid(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError) as info:
        ListOptions(**kwargs)  # type: ignore[arg-type]
    assert isinstance(info.value, SessionStoreError)
    assert next(iter(kwargs)) in str(info.value)


def test_list_options_is_frozen() -> None:
    options = ListOptions()
    with pytest.raises(AttributeError):
        options.offset = 3  # type: ignore[misc]


# -- time ----------------------------------------------------------------------------


def test_utc_now_is_aware_utc() -> None:
    now = utc_now()
    assert now.utcoffset() == timedelta(0)


def test_micros_known_values() -> None:
    assert micros_from_datetime(datetime(1970, 1, 1, tzinfo=UTC)) == 0
    assert micros_from_datetime(datetime(1970, 1, 1, 0, 0, 1, 5, tzinfo=UTC)) == 1_000_005
    assert micros_from_datetime(datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)) == -1
    assert datetime_from_micros(-1) == datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
    plus_two = timezone(timedelta(hours=2))
    assert micros_from_datetime(datetime(1970, 1, 1, 2, tzinfo=plus_two)) == 0


_aware = st.datetimes(
    min_value=datetime(1, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone.min]),
)


@given(_aware)
def test_datetime_micros_round_trip(moment: datetime) -> None:
    back = datetime_from_micros(micros_from_datetime(moment))
    assert back == moment
    assert back.utcoffset() == timedelta(0)
    assert back.microsecond == moment.astimezone(UTC).microsecond


@given(st.integers(-(10**15), 10**17))
def test_micros_datetime_round_trip(micros: int) -> None:
    assert micros_from_datetime(datetime_from_micros(micros)) == micros


@given(_aware, _aware)
def test_micros_keep_order(first: datetime, second: datetime) -> None:
    assert (first < second) == (micros_from_datetime(first) < micros_from_datetime(second))
