"""OpenAI Chat Completions messages (``ChatCompletionMessageParam``) to and from ``Message``.

Readable view: ``system`` and ``developer`` become system messages, ``user``
content parts ``text`` and base64 ``image_url`` become blocks, an assistant's
``tool_calls`` become ``tool_use`` blocks (arguments parsed from JSON), and a
``tool`` message one ``tool_result``. Anything else (audio, files, refusals,
``function`` messages, arguments not in compact JSON) is kept verbatim under
``metadata["openai_chat"]``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sessionstore._messages import (
    Block,
    Message,
    MessageInput,
    Role,
    TextBlock,
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

__all__ = ["OPENAI_CHAT_KEY", "from_openai_chat", "to_openai_chat"]

#: The ``metadata`` key under which an item the readable view cannot reproduce is kept.
OPENAI_CHAT_KEY = "openai_chat"

_ROLES = {"system": Role.SYSTEM, "developer": Role.SYSTEM, "user": Role.USER}

_PARTS = ContentParts(
    ("text",),
    "image_url",
    lambda part: (part.get("image_url") or {}).get("url"),
    lambda url: {"image_url": {"url": url}},
)


def from_openai_chat(items: Iterable[Any]) -> list[Message]:
    """One ``Message`` per Chat Completions message (dicts or the SDK's response objects)."""
    return convert_items(items, OPENAI_CHAT_KEY, _readable, _render)


def to_openai_chat(messages: Iterable[MessageInput]) -> list[dict[str, Any]]:
    """Chat Completions messages for ``messages`` (a tool message per tool result)."""
    return render_messages(messages, OPENAI_CHAT_KEY, _render)


def _readable(item: dict[str, Any]) -> Message:
    role = require(item, "role", str)
    name = optional(item, "name", str)
    if role in _ROLES:
        return Message(_ROLES[role], _PARTS.content(require(item, "content", (str, list))), name)
    if role == "assistant":
        return Message(Role.ASSISTANT, _assistant_content(item), name)
    if role == "tool":
        result = ToolResultBlock(
            require(item, "tool_call_id", str), _PARTS.text(require(item, "content", (str, list)))
        )
        return Message(Role.TOOL, [result])
    if role == "function":
        function_name = require(item, "name", str)
        output = _PARTS.text(optional(item, "content", str) or "")
        return Message(Role.TOOL, [ToolResultBlock(function_name, output)], function_name)
    raise FormatError(
        f"unknown role {role!r}; expected system, developer, user, assistant, tool or function"
    )


def _assistant_content(item: dict[str, Any]) -> str | list[Block]:
    content = optional(item, "content", (str, list))
    calls = optional(item, "tool_calls", list)
    if calls is None and content is not None:
        return _PARTS.content(content)
    blocks: list[Block] = []
    if isinstance(content, str) and content:
        blocks.append(TextBlock(content))
    elif isinstance(content, list):
        blocks.extend(_PARTS.blocks(content))
    for position, call in enumerate(calls or []):
        if not isinstance(call, dict):
            raise FormatError(f"tool call {position} must be a dict")
        function = optional(call, "function", dict) or optional(call, "custom", dict) or {}
        raw = function.get("arguments", function.get("input", ""))
        arguments = parse_arguments(raw) if isinstance(raw, str) else raw
        blocks.append(
            ToolUseBlock(require(call, "id", str), str(function.get("name", "")), arguments)
        )
    return blocks


def _render(message: Message) -> list[dict[str, Any]]:
    plain, uses, results = split_blocks(message.content)
    items: list[dict[str, Any]] = [
        {"role": "tool", "tool_call_id": result.tool_use_id, "content": result.content}
        for result in results
    ]
    turn: dict[str, Any] | None = None
    if message.role is Role.ASSISTANT:
        turn = _render_assistant(message, plain, uses)
    elif message.role is Role.TOOL:
        return items
    elif isinstance(message.content, str):
        turn = {"role": message.role.value, "content": message.content}
    elif plain or not results:
        parts = [_PARTS.part(block) for block in plain]
        if message.role is Role.SYSTEM:
            parts = [part for part in parts if part["type"] == "text"]
        turn = {"role": message.role.value, "content": parts}
    if turn is not None:
        if message.name is not None:
            turn["name"] = message.name
        items.append(turn)
    return items


def _render_assistant(
    message: Message, plain: list[Block], uses: list[ToolUseBlock]
) -> dict[str, Any]:
    if isinstance(message.content, str):
        return {"role": "assistant", "content": message.content}
    if not uses:
        parts = [_PARTS.part(block) for block in plain if isinstance(block, TextBlock)]
        return {"role": "assistant", "content": parts}
    text = text_of(plain)
    calls = [
        {
            "id": use.id,
            "type": "function",
            "function": {"name": use.name, "arguments": dump_arguments(use.input)},
        }
        for use in uses
    ]
    return {"role": "assistant", "content": text or None, "tool_calls": calls}
