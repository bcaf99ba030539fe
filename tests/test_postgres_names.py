"""Two stores with different table prefixes never share an object name in one schema (issue 17 #11).

``app_`` + ``sessions_seq`` (an index) used to be ``app_sessions_`` + ``seq`` (a sequence). The
store now refuses a prefix whose objects could take another prefix's names, computed from the
names it creates; this file checks that list against what a store really creates.
"""

from __future__ import annotations

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugins.postgres import drop_prefix, unique_prefix
from sessionstore import InvalidArgumentError, Message
from sessionstore.backends.postgres import PostgresSessionStore
from sessionstore.backends.postgres.store import OBJECT_SUFFIXES


async def _names_with_prefix(url: str, prefix: str) -> set[str]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cursor = await conn.execute(
            "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND starts_with(relname, %(p)s)"
            " UNION SELECT proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = 'public' AND starts_with(proname, %(p)s)"
            " UNION SELECT conname FROM pg_constraint c JOIN pg_namespace n"
            " ON n.oid = c.connamespace WHERE n.nspname = 'public' AND starts_with(conname, %(p)s)",
            {"p": prefix},
        )
        return {name for (name,) in await cursor.fetchall()}


async def test_the_suffix_list_is_every_object_a_store_creates(postgres_url: str) -> None:
    prefix = unique_prefix()
    try:
        async with PostgresSessionStore(postgres_url, table_prefix=prefix) as store:
            await store.save("s", [Message.user("x")], attributes={"title": "t"})
        created = {name[len(prefix) :] for name in await _names_with_prefix(postgres_url, prefix)}
        assert created, "the store created nothing under its prefix"
        assert created <= set(OBJECT_SUFFIXES), created - set(OBJECT_SUFFIXES)
    finally:
        await drop_prefix(postgres_url, prefix)


@pytest.mark.parametrize("ending", ["sessions_", "key_", "sessions_ns_"])
def test_a_prefix_that_would_take_another_prefixs_names_is_refused(ending: str) -> None:
    with pytest.raises(InvalidArgumentError, match="choose another prefix"):
        PostgresSessionStore("postgresql://localhost/db", table_prefix=f"app_{ending}")


async def test_nested_prefixes_that_are_allowed_live_side_by_side(postgres_url: str) -> None:
    outer = unique_prefix()
    inner = f"{outer}x_"
    try:
        async with (
            PostgresSessionStore(postgres_url, table_prefix=outer) as first,
            PostgresSessionStore(postgres_url, table_prefix=inner) as second,
        ):
            await first.save("s", [Message.user("outer")])
            await second.save("s", [Message.user("inner")])
            assert await first.load("s") == [Message.user("outer")]
            assert await second.load("s") == [Message.user("inner")]
    finally:
        await drop_prefix(postgres_url, inner)
        await drop_prefix(postgres_url, outer)


_NAME_PART = st.text(alphabet="abcdeklmnopqrstuvwxyz_", min_size=1, max_size=14)


@given(base=_NAME_PART, extra=st.one_of(_NAME_PART, st.sampled_from(OBJECT_SUFFIXES)))
def test_any_two_accepted_prefixes_name_different_objects(base: str, extra: str) -> None:
    first, second = f"p{base}", f"p{base}{extra}_"
    accepted = []
    for prefix in (first, second):
        try:
            accepted.append(PostgresSessionStore("postgresql://h/db", table_prefix=prefix))
        except InvalidArgumentError:
            continue
    if len(accepted) == 2:
        assert not {first + s for s in OBJECT_SUFFIXES} & {second + s for s in OBJECT_SUFFIXES}
