"""Sample agent conversations for ``sessionstore demo``, so a new user has something to look at."""

from __future__ import annotations

from typing import Any

from sessionstore._store import SessionStore

__all__ = ["DEMO_SESSIONS", "DEMO_TITLES", "write_demo"]

# A 1x1 transparent PNG: enough to show how ``show`` renders images.
_TINY_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kg"
    "AAAABJRU5ErkJggg=="
)

DEMO_SESSIONS: dict[str, list[dict[str, Any]]] = {
    "demo-weather": [
        {"role": "system", "content": "You are a concise travel assistant with a weather tool."},
        {"role": "user", "content": "Should I pack an umbrella for Oslo tomorrow?"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me check the forecast."},
                {
                    "type": "tool_use",
                    "id": "toolu_01",
                    "name": "get_forecast",
                    "input": {"city": "Oslo", "days": 1, "units": "metric"},
                },
            ],
        },
        {
            "role": "tool",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_01",
                    "content": '{"summary": "light rain", "high_c": 11, "rain_mm": 4}',
                    "is_error": False,
                }
            ],
        },
        {
            "role": "assistant",
            "content": "Yes: light rain is expected (about 4 mm), with a high of 11 C.",
        },
        {"role": "user", "content": "Thanks!", "name": "alice"},
    ],
    "demo-support": [
        {"role": "system", "content": "You help users debug their orders."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "My order page looks like this:"},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": _TINY_PNG},
                },
            ],
            "name": "bob",
            "metadata": {"channel": "discord", "order": 1042},
        },
        {
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": "toolu_02",
                    "name": "lookup_order",
                    "input": {"order_id": 1042},
                }
            ],
        },
        {
            "role": "tool",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_02",
                    "content": "order service timed out",
                    "is_error": True,
                }
            ],
        },
        {
            "role": "assistant",
            "content": "The order service is slow right now; I have flagged order 1042.",
        },
    ],
}


DEMO_TITLES: dict[str, str] = {
    "demo-weather": "Umbrella for Oslo?",
    "demo-support": "Order 1042 does not load",
}


async def write_demo(store: SessionStore) -> list[tuple[str, int]]:
    """Save every demo session into ``store``, replacing any of the same id; return (id, count)s.

    Each gets its title in the "title" attribute.
    """
    written: list[tuple[str, int]] = []
    for session_id, messages in DEMO_SESSIONS.items():
        title = {"title": DEMO_TITLES[session_id]}
        record = await store.save(session_id, messages, attributes=title)
        written.append((session_id, record.message_count))
    return written
