"""The Starlette application: the index, a session's page, its JSON, and the live tail.

Every route only reads. Session ids travel in the query string (``/session?id=...``),
percent-encoded, so any id (``a/b``, ``..``, ``<script>``) reaches the store as itself:
a path segment would be normalised by browsers and servers first.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import msgspec
from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from sessionstore._errors import SessionStoreError
from sessionstore._open import open_store
from sessionstore._records import SessionRecord, Snapshot
from sessionstore._store import SessionStore
from sessionstore.web.listing import index_page
from sessionstore.web.security import SecurityMiddleware
from sessionstore.web.transcript import attributes_json, view_messages, when

__all__ = ["create_app"]

_STATIC = Path(__file__).parent / "static"
#: A session page shows at most this many messages (the newest) unless asked for all.
PAGE_MESSAGES = 1000


def _session_url(session_id: str, path: str = "/session", **extra: str) -> str:
    return f"{path}?{urlencode({'id': session_id, **extra}, quote_via=quote)}"


def _index_url(prefix: str = "", offset: int = 0) -> str:
    params: dict[str, Any] = {}
    if prefix:
        params["prefix"] = prefix
    if offset:
        params["offset"] = offset
    return "/?" + urlencode(params, quote_via=quote) if params else "/"


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("sessionstore.web", "templates"),
        autoescape=True,  # every template, whatever its name: stored data is never markup
        undefined=StrictUndefined,
    )
    env.globals.update(session_url=_session_url, index_url=_index_url, when=when)
    return env


class _Viewer:
    """The route handlers, sharing the open store, the namespace and the templates."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.env = _environment()
        self.store: SessionStore | None = None

    @property
    def view(self) -> SessionStore:
        assert self.store is not None, "the store opens with the app's lifespan"
        return self.store.namespace(self.namespace) if self.namespace else self.store

    def page(self, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        html = self.env.get_template(template).render(namespace=self.namespace, **values)
        return HTMLResponse(html, status_code=status)

    def problem(self, status: int, text: str) -> HTMLResponse:
        return self.page("problem.html", status, status_code=status, text=text)

    async def index(self, request: Request) -> Response:
        prefix = request.query_params.get("prefix", "")
        try:
            offset = int(request.query_params.get("offset", "0"))
            page = await index_page(self.view, offset=offset, prefix=prefix)
        except (ValueError, SessionStoreError) as exc:
            return self.problem(400, f"bad page request: {exc}")
        return self.page("index.html", page=page, prefix=prefix)

    async def _snapshot(self, request: Request, start: int = 0) -> Snapshot | Response:
        session_id = request.query_params.get("id", "")
        try:
            snapshot = await self.view.snapshot(session_id, start=start)
        except SessionStoreError as exc:
            return self.problem(400, str(exc))
        if snapshot is None:
            return self.problem(404, f"no session {session_id!r}")
        return snapshot

    async def session(self, request: Request) -> Response:
        every = request.query_params.get("all") == "1"
        snapshot = await self._snapshot(request, 0 if every else -PAGE_MESSAGES)
        if not isinstance(snapshot, Snapshot):
            return snapshot
        record = snapshot.record
        first = record.message_count - len(snapshot.messages)
        return self.page(
            "session.html",
            record=record,
            first=first,
            messages=view_messages(snapshot.messages, first),
            attributes=attributes_json(record.attributes) if record.attributes else None,
            title=record.attributes.get("title"),
        )

    async def download(self, request: Request) -> Response:
        snapshot = await self._snapshot(request)
        if not isinstance(snapshot, Snapshot):
            return snapshot
        body = msgspec.json.encode(
            {
                **_record_json(snapshot.record, self.namespace),
                "messages": snapshot.messages,
            }
        )
        name = quote(snapshot.record.id, safe="")
        disposition = f"attachment; filename=\"session.json\"; filename*=UTF-8''{name}.json"
        return Response(
            body,
            media_type="application/json",
            headers={"content-disposition": disposition},
        )

    async def tail(self, request: Request) -> Response:
        """The messages from ``start`` on, as HTML to append, and the session's count."""
        try:
            start = max(0, int(request.query_params.get("start", "0")))
        except ValueError:
            return JSONResponse({"error": "start must be an integer"}, status_code=400)
        snapshot = await self._snapshot(request, start)
        if not isinstance(snapshot, Snapshot):
            return JSONResponse({"gone": True}, status_code=snapshot.status_code)
        count = snapshot.record.message_count
        html = self.env.get_template("tail.html").render(
            messages=view_messages(snapshot.messages, first=start)
        )
        return JSONResponse(
            {
                "count": count,
                "version": snapshot.record.version,
                "updated": when(snapshot.record.updated_at),
                "reset": count < start,
                "html": html,
            }
        )


def _record_json(record: SessionRecord, namespace: str) -> dict[str, Any]:
    return {
        "id": str(record.id),
        "namespace": namespace,
        "message_count": record.message_count,
        "version": record.version,
        "created_at": record.created_at.isoformat(),
        "updated_at": record.updated_at.isoformat(),
        "attributes": dict(record.attributes),
    }


async def _no_icon(_: Request) -> Response:
    return Response(status_code=204)


def create_app(url: str, *, namespace: str = "", token: str | None = None) -> Starlette:
    """The viewer of the store at ``url`` (namespace ``namespace``), opened for the app's life.

    With ``token``, every request must present it (see ``sessionstore.web.security``).
    """
    viewer = _Viewer(namespace)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with open_store(url) as store:
            viewer.store = store
            yield
            viewer.store = None

    routes = [
        Route("/", viewer.index),
        Route("/session", viewer.session),
        Route("/session.json", viewer.download),
        Route("/api/tail", viewer.tail),
        Route("/favicon.ico", _no_icon),
        Mount("/static", StaticFiles(directory=_STATIC), name="static"),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(SecurityMiddleware, token=token)],
        lifespan=lifespan,
    )
