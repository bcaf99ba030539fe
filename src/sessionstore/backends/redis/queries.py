"""The Redis store's listing side: list, scan, count, delete, prune, clear, namespaces.

Each works on one namespace's own ``order``/``updated`` sorted sets (see
``listing``), so its cost does not depend on what other namespaces hold.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sessionstore._records import ListOptions, SessionId, SessionRecord, micros_from_datetime
from sessionstore._rest import PayloadCodec
from sessionstore._store import SessionStore
from sessionstore.backends.redis import listing
from sessionstore.backends.redis.codec import NamespaceKeys
from sessionstore.backends.redis.pool import RedisConnections, Script

__all__ = ["RedisListing"]

_LIST = Script(listing.LIST)
_SCAN = Script(listing.SCAN)
_DELETE = Script(listing.DELETE)
_PRUNE = Script(listing.PRUNE)
_CLEAR = Script(listing.CLEAR)


class RedisListing(SessionStore):
    """The listing hooks of ``RedisSessionStore`` (which provides the connections and keys)."""

    #: Listing windows larger than this are read in chunks of this many sessions.
    list_chunk: int = listing.LIST_CHUNK
    _connections: RedisConnections
    _codec: PayloadCodec
    _prefix: str

    def _keys(self, namespace: str) -> NamespaceKeys:
        raise NotImplementedError  # pragma: no cover - RedisSessionStore provides it

    async def _script(
        self, action: str, script: Script, args: list[Any], *, idempotent: bool = True
    ) -> Any:
        return await self._connections.run(
            action, lambda client: script(client, (), args), idempotent=idempotent
        )

    def _common(self, namespace: str) -> list[Any]:
        keys = self._keys(namespace)
        return [keys.prefix, keys.name, keys.base]

    async def _list(self, namespace: str, options: ListOptions) -> list[SessionRecord]:
        if options.limit == 0:
            return []
        if options.limit is not None and options.limit <= self.list_chunk:
            stop = options.offset + options.limit - 1
            page = await self._list_ranks(namespace, options.offset, stop, options.newest_first)
            return [record for _, record in page]
        return await self._list_in_chunks(namespace, options)

    async def _list_ranks(
        self, namespace: str, start: int, stop: int, newest_first: bool
    ) -> list[tuple[int, SessionRecord]]:
        """The sessions at ranks ``start..stop`` of the listing, with their sequences, at once."""
        args = [*self._common(namespace), start, stop, "1" if newest_first else "0"]
        reply = await self._script("list", _LIST, args)
        return listing.sequenced_records(reply, self._codec, namespace)

    async def _list_in_chunks(self, namespace: str, options: ListOptions) -> list[SessionRecord]:
        """A window of more than ``list_chunk`` sessions, read oldest first a chunk at a time.

        The first chunk is found by rank, the next ones continue past the last
        sequence read, so no session is passed over; a session written meanwhile
        and met again keeps only its later place. A newest-first window is read
        from the rank where it starts counting back from the newest.
        """
        chunk = self.list_chunk
        if options.newest_first:
            wanted = None if options.limit is None else options.offset + options.limit
            total = await self._count(namespace)
            start = 0 if wanted is None else max(0, total - wanted)
        else:
            start = options.offset
        # Oldest first, a full window ends the reading early; newest first, only the end does.
        enough = None if options.newest_first else options.limit
        found: dict[SessionId, SessionRecord] = {}
        page = await self._list_ranks(namespace, start, start + chunk - 1, False)
        while True:
            for _, record in page:
                found.pop(record.id, None)
                found[record.id] = record
            if len(page) < chunk or (enough is not None and len(found) >= enough):
                break
            page = await self._scan_page(namespace, page[-1][0], chunk)
        records = list(found.values())
        if options.newest_first:
            records.reverse()
            del records[: options.offset]
        return records if options.limit is None else records[: options.limit]

    async def _scan_page(
        self, namespace: str, after: int, limit: int
    ) -> list[tuple[int, SessionRecord]]:
        args = [*self._common(namespace), after, limit]
        reply = await self._script("scan", _SCAN, args)
        return listing.sequenced_records(reply, self._codec, namespace)

    async def _count(self, namespace: str) -> int:
        order = self._keys(namespace).order
        count: int = await self._connections.run(
            "count", lambda client: client.zcard(order), idempotent=True
        )
        return count

    async def _namespaces(self) -> list[str]:
        order, known = self._keys("").order, f"{self._prefix}namespaces"
        members, default = await self._connections.read_atomically(
            "namespaces", lambda pipe: pipe.smembers(known).exists(order)
        )
        names = {member.decode("utf-8") for member in members}
        if default:
            names.add("")
        return sorted(names)

    async def _delete(self, namespace: str, session_id: SessionId) -> None:
        await self._script("delete", _DELETE, [*self._common(namespace), session_id])

    async def _clear(self, namespace: str) -> int:
        deleted = 0
        while True:
            args = [*self._common(namespace), listing.DELETE_BATCH]
            batch = int(await self._script("clear", _CLEAR, args))
            deleted += batch
            if batch < listing.DELETE_BATCH:
                return deleted

    async def _prune(
        self, namespace: str, updated_before: datetime | None, keep_newest: int | None
    ) -> int:
        bound = "" if updated_before is None else f"({micros_from_datetime(updated_before)}"
        keep = -1 if keep_newest is None else keep_newest
        deleted_total, skip = 0, 0
        while True:
            args = [*self._common(namespace), bound, keep, listing.DELETE_BATCH, skip]
            deleted, kept, more = await self._script("prune", _PRUNE, args, idempotent=False)
            deleted_total += int(deleted)
            skip += int(kept)
            if not int(more):
                return deleted_total
