"""Anthropic Messages (``MessageParam``, the system prompt apart) to and from ``Message``.

Readable view: ``text``, base64 ``image``, ``tool_use`` and ``tool_result``
blocks map one to one (a user turn holding only tool results is a ``tool``
message); the system prompt is a leading system message. Other blocks
(thinking, redacted thinking, documents, server tools, citations, cache
control...) are left out of the view and the whole turn is kept verbatim under
``metadata["anthropic"]``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from sessionstore._errors import InvalidMessageError
from sessionstore._messages import (
    Base64ImageSource,
    Block,
    ImageBlock,
    Message,
    MessageInput,
    Role,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
)
from sessionstore.formats._common import (
    FormatError,
    as_messages,
    convert_items,
    optional,
    render_view,
    require,
    stored_copy,
    text_of,
    verbatim,
)

__all__ = ["ANTHROPIC_KEY", "AnthropicMessages", "from_anthropic", "to_anthropic"]

#: The ``metadata`` key under which a turn the readable view cannot reproduce is kept.
ANTHROPIC_KEY = "anthropic"

SystemPrompt = str | list[dict[str, Any]]


class AnthropicMessages(NamedTuple):
    """The ``system`` and ``messages`` arguments of ``client.messages.create``."""

    system: SystemPrompt | None
    messages: list[dict[str, Any]]


def from_anthropic(messages: Iterable[Any], *, system: SystemPrompt | None = None) -> list[Message]:
    """One ``Message`` per turn, after a system message for ``system`` when given."""
    converted = convert_items(messages, ANTHROPIC_KEY, _readable, _render)
    if system is None:
        return converted
    if not isinstance(system, (str, list)):
        raise InvalidMessageError(
            f"system must be a str or a list of text blocks, got {type(system).__name__}"
        )
    text = system if isinstance(system, str) else _text_of_parts(system)
    prompt = verbatim(Message(Role.SYSTEM, text), ANTHROPIC_KEY, system, [text])
    return [prompt, *converted]


def to_anthropic(messages: Iterable[MessageInput]) -> AnthropicMessages:
    """The system prompt (every system message, joined) and the turns of ``messages``."""
    prompts: list[SystemPrompt] = []
    turns: list[dict[str, Any]] = []
    for message in as_messages(messages):
        kept = stored_copy(message, ANTHROPIC_KEY)
        if message.role is Role.SYSTEM:
            prompts.append(kept if kept is not None else message.text_or_summary())
        elif kept is not None:
            turns.append(kept)
        else:
            turns.extend(render_view(_render, message))
    return AnthropicMessages(_join_prompts(prompts), turns)


def _join_prompts(prompts: list[SystemPrompt]) -> SystemPrompt | None:
    if not prompts:
        return None
    if len(prompts) == 1:
        return prompts[0]
    if all(isinstance(prompt, str) for prompt in prompts):
        return "\n\n".join(prompt for prompt in prompts if isinstance(prompt, str))
    blocks: list[dict[str, Any]] = []
    for prompt in prompts:
        blocks.extend([{"type": "text", "text": prompt}] if isinstance(prompt, str) else prompt)
    return blocks


def _readable(item: dict[str, Any]) -> Message:
    role = require(item, "role", str)
    if role not in ("user", "assistant"):
        raise FormatError(
            f"unknown role {role!r}; expected user or assistant (pass the system prompt as system=)"
        )
    content = require(item, "content", (str, list))
    if isinstance(content, str):
        return Message(Role(role), content)
    blocks = [_block(position, block) for position, block in enumerate(content)]
    kept = [block for block in blocks if block is not None]
    only_results = bool(kept) and all(isinstance(block, ToolResultBlock) for block in kept)
    return Message(Role.TOOL if role == "user" and only_results else Role(role), kept)


def _block(position: int, block: Any) -> Block | None:
    if not isinstance(block, dict):
        raise FormatError(f"content block {position} must be a dict")
    kind = block.get("type")
    if kind == "text":
        return TextBlock(require(block, "text", str))
    if kind == "tool_use":
        tool_input = require(block, "input", dict)
        return ToolUseBlock(require(block, "id", str), require(block, "name", str), tool_input)
    if kind == "tool_result":
        content = optional(block, "content", (str, list)) or ""
        return ToolResultBlock(
            require(block, "tool_use_id", str),
            _text_of_parts(content),
            optional(block, "is_error", bool),
        )
    if kind == "image":
        source = optional(block, "source", dict) or {}
        if source.get("type") == "base64":
            media_type = require(source, "media_type", str)
            return ImageBlock(Base64ImageSource(media_type, require(source, "data", str)))
    return None


def _text_of_parts(content: str | list[Any]) -> str:
    if isinstance(content, str):
        return content
    texts: list[Block] = [
        TextBlock(part["text"])
        for part in content
        if isinstance(part, dict) and isinstance(part.get("text"), str)
    ]
    return text_of(texts)


def _render(message: Message) -> list[dict[str, Any]]:
    role = "assistant" if message.role is Role.ASSISTANT else "user"
    if message.role is Role.SYSTEM:
        return [{"role": "user", "content": message.text_or_summary()}]
    if isinstance(message.content, str):
        return [{"role": role, "content": message.content}]
    # What the API takes in each role: no images or tool results from the assistant, no
    # tool calls from the user, and no empty text blocks anywhere.
    wanted = (
        (TextBlock, ToolUseBlock)
        if role == "assistant"
        else (TextBlock, ImageBlock, ToolResultBlock)
    )
    blocks = [
        _render_block(block)
        for block in message.content
        if isinstance(block, wanted) and not (isinstance(block, TextBlock) and not block.text)
    ]
    return [{"role": role, "content": blocks}] if blocks else []


def _render_block(block: Block) -> dict[str, Any]:
    if isinstance(block, TextBlock):
        return {"type": "text", "text": block.text}
    if isinstance(block, ImageBlock):
        source = block.source
        encoded = {"type": "base64", "media_type": source.media_type, "data": source.data}
        return {"type": "image", "source": encoded}
    if isinstance(block, ToolUseBlock):
        return {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
    result: dict[str, Any] = {
        "type": "tool_result",
        "tool_use_id": block.tool_use_id,
        "content": block.content,
    }
    if block.is_error is not None:
        result["is_error"] = block.is_error
    return result
