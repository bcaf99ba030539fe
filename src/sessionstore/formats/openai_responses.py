"""OpenAI Responses API input items (``ResponseInputItemParam``) to and from ``Message``.

Readable view: a message item keeps its role (``developer`` becomes system) and
its ``input_text`` / ``output_text`` / base64 ``input_image`` parts; a
``function_call`` (or ``custom_tool_call``) becomes a ``tool_use`` block, its
``*_output`` a ``tool_result``. Every other item kind (reasoning, MCP, web
search, computer, shell, item references, compaction, and kinds added later) is
an assistant message with no blocks (a ``tool`` one for ``*_output`` kinds).
Any item the view does not render exactly (those kinds, ids, statuses,
annotations...) is kept verbatim under ``metadata["openai_responses"]``.
Rendered from the view, an assistant's words are a plain-text message: the API
takes only ``output_text`` parts there, and those belong to a real response.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sessionstore._messages import (
    Message,
    MessageInput,
    Role,
    ToolResultBlock,
    ToolUseBlock,
)
from sessionstore.formats._common import (
    ContentParts,
    FormatError,
    convert_items,
    dump_arguments,
    optional,
    parse_arguments,
    render_messages,
    require,
    split_blocks,
    text_of,
)

__all__ = ["OPENAI_RESPONSES_KEY", "from_openai_responses", "to_openai_responses"]

#: The ``metadata`` key under which an item the readable view cannot reproduce is kept.
OPENAI_RESPONSES_KEY = "openai_responses"

_ROLES = {
    "user": Role.USER,
    "assistant": Role.ASSISTANT,
    "system": Role.SYSTEM,
    "developer": Role.SYSTEM,
}

_PARTS = ContentParts(
    ("input_text", "output_text"),
    "input_image",
    lambda part: part.get("image_url"),
    lambda url: {"image_url": url, "detail": "auto"},
)


def from_openai_responses(items: Iterable[Any]) -> list[Message]:
    """One ``Message`` per Responses input item (dicts or the SDK's output objects)."""
    return convert_items(items, OPENAI_RESPONSES_KEY, _readable, _render)


def to_openai_responses(messages: Iterable[MessageInput]) -> list[dict[str, Any]]:
    """Responses input items for ``messages`` (one item per tool call or tool result)."""
    return render_messages(messages, OPENAI_RESPONSES_KEY, _render)


def _readable(item: dict[str, Any]) -> Message:
    kind = optional(item, "type", str)
    if kind is None or kind == "message":
        role = require(item, "role", str)
        if role not in _ROLES:
            raise FormatError(
                f"unknown message role {role!r}; expected user, assistant, system or developer"
            )
        return Message(_ROLES[role], _PARTS.content(require(item, "content", (str, list))))
    if kind == "function_call":
        arguments = parse_arguments(require(item, "arguments", str))
        use = ToolUseBlock(require(item, "call_id", str), require(item, "name", str), arguments)
        return Message(Role.ASSISTANT, [use])
    if kind in ("function_call_output", "custom_tool_call_output"):
        output = _PARTS.text(require(item, "output", (str, list)))
        return Message(Role.TOOL, [ToolResultBlock(require(item, "call_id", str), output)])
    if kind == "custom_tool_call":
        use = ToolUseBlock(
            require(item, "call_id", str), require(item, "name", str), require(item, "input", str)
        )
        return Message(Role.ASSISTANT, [use])
    return Message(Role.TOOL if kind.endswith("_output") else Role.ASSISTANT, [])


def _render(message: Message) -> list[dict[str, Any]]:
    plain, uses, results = split_blocks(message.content)
    role = message.role.value
    items: list[dict[str, Any]] = []
    if isinstance(message.content, str) and message.role is not Role.TOOL:
        items.append({"role": role, "content": message.content})
    elif message.role is Role.ASSISTANT and plain:
        # The API takes only output parts in an assistant message, and those need the ids
        # of a real response: an assistant's words go back as text.
        items.append({"role": role, "content": text_of(plain)})
    elif message.role is not Role.TOOL and plain:
        items.append({"role": role, "content": [_PARTS.part(block) for block in plain]})
    items.extend(
        {
            "type": "function_call",
            "call_id": use.id,
            "name": use.name,
            "arguments": dump_arguments(use.input),
        }
        for use in uses
    )
    items.extend(
        {"type": "function_call_output", "call_id": result.tool_use_id, "output": result.content}
        for result in results
    )
    return items
