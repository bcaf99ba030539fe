"""The hooks of ``PostgresSessionStore``: each one statement (a function call for a write).

Every write, pop, replace_tail and fork is one call of a PL/pgSQL function
(schema version 3): one round trip, one transaction, with the session's row
locked while the version is checked. A load or snapshot is one statement, so
the record and the slice come from one snapshot. A write that merges
attribute changes first reads the current attributes, merges them here (so
the size limit is checked on exactly what is stored) and passes the version
it read: a write in between makes the function refuse, and the merge is
redone. With a codec that seals (encryption or compression), appends, pops,
replace_tail and fork take the client-side paths of ``sealed``.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sessionstore._attributes import encode_attributes, merge_attributes
from sessionstore._errors import ConflictError, SessionNotFoundError
from sessionstore._messages import EncodedMessages, Message, decode_segments
from sessionstore._records import (
    NO_ATTRIBUTES,
    ListOptions,
    SessionId,
    SessionRecord,
    Snapshot,
    micros_from_datetime,
)
from sessionstore.backends.postgres import schema as q
from sessionstore.backends.postgres.pool import PostgresConnections, Refusal
from sessionstore.backends.postgres.sealed import (
    RETRIES,
    SealedOperations,
    conflict_after_retries,
    now,
    split_segments,
)

if TYPE_CHECKING:
    from psycopg import sql

__all__ = ["PostgresOperations", "split_segments"]

_REFUSALS = (q.CONFLICT, q.NOT_FOUND, q.STALE, q.DEADLOCK, q.SEALED)


class PostgresOperations(SealedOperations):
    """The store hooks, over ``_sql`` (composed statements) and the loop's connections."""

    _sql: dict[str, sql.Composed]

    async def _conns(self) -> PostgresConnections:
        raise NotImplementedError  # pragma: no cover - the store class provides it

    async def _rows(
        self, action: str, query: str, params: Any, *, binary: bool = False
    ) -> builtins.list[tuple[Any, ...]]:
        conns = await self._conns()
        return await conns.rows(action, self._sql[query], params, binary=binary)

    async def _call(
        self, action: str, query: str, params: Any, session_id: SessionId, expected: int | None
    ) -> Refusal | builtins.list[tuple[Any, ...]]:
        """A write function's rows; a conflict raised as ConflictError, other refusals returned."""
        conns = await self._conns()
        result = await conns.call(action, self._sql[query], params, _REFUSALS)
        if isinstance(result, Refusal) and result.sqlstate == q.CONFLICT:
            given = -1 if expected is None else expected
            raise ConflictError(session_id, expected=given, actual=int(result.detail))
        return result

    # -- writes ------------------------------------------------------------------------

    async def _write(
        self,
        namespace: str,
        session_id: SessionId,
        messages: EncodedMessages,
        expected_version: int | None,
        attributes: Mapping[str, Any] | None,
        *,
        replace: bool,
    ) -> SessionRecord:
        if not replace and not self._codec.identity:
            return await self._sealed_append(
                namespace, session_id, messages, expected_version, attributes
            )
        payloads, counts = split_segments(messages)
        payloads = self._seal_segments(namespace, session_id, 0, payloads, counts)
        action = f"{'save' if replace else 'append to'} session {session_id!r}"
        for _ in range(RETRIES):
            merged: str | None = None
            base: int | None = None
            if attributes is not None:
                current = await self._get(namespace, session_id)
                base = 0 if current is None else current.version
                if expected_version is not None and expected_version != base:
                    raise ConflictError(session_id, expected=expected_version, actual=base)
                old = NO_ATTRIBUTES if current is None else current.attributes
                merged = encode_attributes(merge_attributes(old, attributes)).decode()
                merged = self._seal_attributes(namespace, session_id, merged)
            params = (namespace, session_id, payloads, counts, now(), expected_version, replace)
            result = await self._call(
                action, "write", (*params, merged, base, None), session_id, expected_version
            )
            if not isinstance(result, Refusal):
                return self._record(namespace, session_id, result[0])
        raise conflict_after_retries(session_id, expected_version)

    async def _save(
        self,
        namespace: str,
        session_id: SessionId,
        messages: EncodedMessages,
        expected_version: int | None,
        attributes: Mapping[str, Any] | None,
    ) -> SessionRecord:
        return await self._write(
            namespace, session_id, messages, expected_version, attributes, replace=True
        )

    async def _append(
        self,
        namespace: str,
        session_id: SessionId,
        messages: EncodedMessages,
        expected_version: int | None,
        attributes: Mapping[str, Any] | None,
    ) -> SessionRecord:
        return await self._write(
            namespace, session_id, messages, expected_version, attributes, replace=False
        )

    async def _restore(
        self,
        namespace: str,
        session_id: SessionId,
        messages: EncodedMessages,
        expected_version: int | None,
        created_at: datetime,
        updated_at: datetime,
        attributes: Mapping[str, Any],
    ) -> SessionRecord:
        payloads, counts = split_segments(messages)
        payloads = self._seal_segments(namespace, session_id, 0, payloads, counts)
        exact = self._seal_attributes(namespace, session_id, encode_attributes(attributes).decode())
        params = (namespace, session_id, payloads, counts, micros_from_datetime(updated_at))
        extra = (expected_version, True, exact, None, micros_from_datetime(created_at))
        result = await self._call(
            f"restore session {session_id!r}", "write", (*params, *extra), session_id,
            expected_version,
        )  # fmt: skip
        assert not isinstance(result, Refusal)  # only a conflict, raised above
        return self._record(namespace, session_id, result[0])

    async def _pop(
        self, namespace: str, session_id: SessionId, count: int, expected_version: int | None
    ) -> builtins.list[Message]:
        if not self._codec.identity:
            return await self._client_pop(namespace, session_id, count, expected_version)
        params = (namespace, session_id, count, expected_version, now())
        rows = await self._call(
            f"pop from session {session_id!r}", "pop", params, session_id, expected_version
        )
        if isinstance(rows, Refusal):  # a sealed segment another store wrote
            return await self._client_pop(namespace, session_id, count, expected_version)
        return decode_segments(session_id, [row[0] for row in rows]) if rows else []

    async def _replace_tail(
        self,
        namespace: str,
        session_id: SessionId,
        start: int,
        messages: EncodedMessages,
        expected_version: int | None,
    ) -> SessionRecord:
        if self._codec.identity:
            payloads, counts = split_segments(messages)
            params = (namespace, session_id, start, payloads, counts, expected_version, now())
            result = await self._call(
                f"replace the tail of session {session_id!r}", "tail", params, session_id,
                expected_version,
            )  # fmt: skip
            if not isinstance(result, Refusal):
                return self._record(namespace, session_id, result[0])
            if result.sqlstate == q.NOT_FOUND:
                raise SessionNotFoundError(session_id, "replace_tail")
        return await self._client_replace_tail(
            namespace, session_id, start, messages, expected_version
        )

    async def _fork(
        self,
        namespace: str,
        source_id: SessionId,
        target_id: SessionId,
        stop: int | None,
        expected_version: int | None,
    ) -> SessionRecord:
        action = f"fork session {source_id!r} to {target_id!r}"
        if self._codec.identity:
            for _ in range(RETRIES):  # a deadlock rolled the whole call back: run it again
                params = (namespace, source_id, target_id, stop, expected_version, now())
                result = await self._call(action, "fork", params, target_id, expected_version)
                if not isinstance(result, Refusal):
                    return self._record(namespace, target_id, result[0])
                if result.sqlstate == q.NOT_FOUND:
                    raise SessionNotFoundError(source_id, "fork")
                if result.sqlstate == q.SEALED:
                    break
            else:
                raise conflict_after_retries(target_id, expected_version)
        # Sealed data is bound to its session: the client reseals it under the target's.
        return await self._client_fork(namespace, source_id, target_id, stop, expected_version)

    async def _update_attributes(
        self,
        namespace: str,
        session_id: SessionId,
        changes: Mapping[str, Any],
        expected_version: int | None,
    ) -> SessionRecord:
        for _ in range(RETRIES):
            current = await self._get(namespace, session_id)
            actual = 0 if current is None else current.version
            if expected_version is not None and expected_version != actual:
                raise ConflictError(session_id, expected=expected_version, actual=actual)
            if current is None:
                raise SessionNotFoundError(session_id, "update_attributes")
            merged = encode_attributes(merge_attributes(current.attributes, changes)).decode()
            merged = self._seal_attributes(namespace, session_id, merged)
            params = (merged, namespace, session_id, current.version)
            conns = await self._conns()
            rows = await conns.call(
                f"update the attributes of session {session_id!r}",
                self._sql["attributes"], params, (),
            )  # fmt: skip
            if rows:  # otherwise written or deleted meanwhile: read again
                assert not isinstance(rows, Refusal)
                return self._record(namespace, session_id, rows[0])
        raise conflict_after_retries(session_id, expected_version)

    async def _delete(self, namespace: str, session_id: SessionId) -> None:
        conns = await self._conns()
        await conns.call(
            f"delete session {session_id!r}", self._sql["delete"], (namespace, session_id), (),
            idempotent=True,
        )  # fmt: skip

    async def _clear(self, namespace: str) -> int:
        async def work(conn: Any) -> int:
            cursor = await conn.execute(self._sql["clear"], (namespace,))
            return int(cursor.rowcount)

        conns = await self._conns()
        # Not retried: a clear that committed before the connection dropped would report 0.
        return await conns.run("clear the namespace", work, idempotent=False)

    async def _prune(
        self, namespace: str, updated_before: datetime | None, keep_newest: int | None
    ) -> int:
        params = {
            "ns": namespace,
            "keep": keep_newest,
            "before": None if updated_before is None else micros_from_datetime(updated_before),
        }

        async def work(conn: Any) -> int:
            cursor = await conn.execute(self._sql["prune"], params)
            return int(cursor.rowcount)

        conns = await self._conns()
        # Not retried: a prune that committed before the connection dropped would report 0.
        return await conns.run("prune sessions", work, idempotent=False)

    # -- reads -------------------------------------------------------------------------

    async def _snapshot(
        self, namespace: str, session_id: SessionId, start: int, stop: int | None
    ) -> Snapshot | None:
        params = {"ns": namespace, "id": session_id, "start": start, "stop": stop}
        rows = await self._rows(f"load session {session_id!r}", "slice", params, binary=True)
        if not rows:
            return None
        first = rows[0]
        record = self._record(namespace, session_id, first[:5])
        lo, hi, first_index = first[5], first[6], first[7]
        if first_index is None:
            return Snapshot(record, [])
        messages = self._messages(namespace, session_id, rows)
        skip = lo - first_index
        return Snapshot(record, messages[skip : skip + hi - lo])

    async def _load(
        self, namespace: str, session_id: SessionId, start: int, stop: int | None
    ) -> builtins.list[Message] | None:
        snap = await self._snapshot(namespace, session_id, start, stop)
        return None if snap is None else snap.messages

    async def _get(self, namespace: str, session_id: SessionId) -> SessionRecord | None:
        rows = await self._rows(f"get session {session_id!r}", "get", (namespace, session_id))
        return self._record(namespace, session_id, rows[0]) if rows else None

    async def _list(self, namespace: str, options: ListOptions) -> builtins.list[SessionRecord]:
        query = "list_desc" if options.newest_first else "list_asc"
        params = (namespace, options.limit, options.offset)
        rows = await self._rows("list sessions", query, params)
        return [self._record(namespace, row[0], row[1:]) for row in rows]

    async def _scan_page(
        self, namespace: str, after: int, limit: int
    ) -> builtins.list[tuple[int, SessionRecord]]:
        # seq comes from a sequence, so an in-flight write may commit a smaller seq
        # than one already read; but a write only ever raises a session's seq and
        # each row version is visible in exactly one place, so no session that
        # exists throughout is passed over (one created meanwhile may be).
        rows = await self._rows("scan sessions", "scan_after", (namespace, after, limit))
        return [(int(row[0]), self._record(namespace, row[1], row[2:])) for row in rows]

    async def _count(self, namespace: str) -> int:
        rows = await self._rows("count sessions", "count", (namespace,))
        return int(rows[0][0])

    async def _namespaces(self) -> builtins.list[str]:
        rows = await self._rows("list namespaces", "namespaces", ())
        return sorted(row[0] for row in rows)
