"""``sessionstore serve``: a read-only web viewer of sessions and transcripts.

Needs the ``web`` extra (Starlette, uvicorn, Jinja2). This module imports none of
them, so the command can print which ``pip install`` fixes a missing extra.

- ``app``: the Starlette application (routes, the store's lifespan).
- ``listing``: the index's pages, newest first, and the id-prefix filter.
- ``transcript``: messages turned into what the templates show (calls matched
  to results, images as ``data:`` URLs).
- ``security``: the access token, and the headers (a strict Content-Security-Policy)
  every response carries.
- ``server``: running the app under uvicorn.

Stored data is never markup: every template autoescapes, ids travel in query
strings percent-encoded, and the page script builds no HTML from stored text.
"""

from __future__ import annotations

__all__ = ["INSTALL_HINT", "WEB_MODULES"]

#: The top-level modules of the ``web`` extra.
WEB_MODULES = frozenset({"starlette", "uvicorn", "jinja2", "markupsafe", "anyio"})

INSTALL_HINT = "pip install 'sessionstore[web]'"
