"""Google ADK on sessionstore: ``SessionStoreSessionService``, a drop-in session service.

Switching from ``DatabaseSessionService`` is one line::

    from sessionstore.integrations.google_adk import SessionStoreSessionService

    session_service = SessionStoreSessionService("postgresql://db/agents")
    runner = Runner(agent=agent, app_name="weather", session_service=session_service)

Sessions, events and ``app:`` / ``user:`` / session state persist in any store
(``layout`` says where); each event is one message with a readable view and the
event's JSON kept beside it (``events``), so ADK reads back exactly what it
wrote. Needs ``pip install 'sessionstore[google-adk]'``.
"""

from __future__ import annotations

from sessionstore.integrations._shared import require_extra

require_extra("google.adk", "google-adk")

from sessionstore.integrations.google_adk.events import (  # noqa: E402 - after the check
    METADATA_KEY,
    event_to_message,
    message_to_event,
)
from sessionstore.integrations.google_adk.service import (  # noqa: E402
    SessionStoreSessionService,
)

__all__ = ["METADATA_KEY", "SessionStoreSessionService", "event_to_message", "message_to_event"]
