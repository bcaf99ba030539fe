"""LangChain messages (``BaseMessage`` and its chunks) to and from ``Message``.

Readable view: human, AI, system and tool messages map to our four roles
(``ChatMessage`` by its role, ``FunctionMessage`` to a tool result); string
content stays a string, text and base64 image content blocks become blocks, an
AI message's ``tool_calls`` become ``tool_use`` blocks, a tool message one
``tool_result`` (``status="error"`` as ``is_error``). Whenever the view does not
rebuild the message exactly (an ``id``, ``additional_kwargs``,
``response_metadata``, usage, chunks, artifacts...), LangChain's own
serialisation (``message_to_dict``) is kept under ``metadata["langchain"]``
and loads back as the very same message. Needs ``sessionstore[langchain]``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sessionstore._errors import InvalidMessageError, MissingDependencyError
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
    as_messages,
    check_json,
    image_from_data_url,
    render_view,
    split_blocks,
    stored_copy,
    text_of,
    verbatim,
)

try:
    from langchain_core.messages import (
        AIMessage,
        BaseMessage,
        HumanMessage,
        SystemMessage,
        ToolMessage,
        message_to_dict,
        messages_from_dict,
    )
except ImportError as exc:  # pragma: no cover - exercised without the extra installed
    raise MissingDependencyError(
        "sessionstore's LangChain support needs langchain-core: "
        "pip install 'sessionstore[langchain]'"
    ) from exc

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage as BaseMessageType

__all__ = ["LANGCHAIN_KEY", "from_langchain", "to_langchain"]

#: The ``metadata`` key under which ``message_to_dict`` of a message is kept when needed.
LANGCHAIN_KEY = "langchain"

_TYPES = {
    "human": Role.USER,
    "ai": Role.ASSISTANT,
    "system": Role.SYSTEM,
    "tool": Role.TOOL,
    "function": Role.TOOL,
}
_CHAT_ROLES = {
    "user": Role.USER,
    "human": Role.USER,
    "assistant": Role.ASSISTANT,
    "ai": Role.ASSISTANT,
}


def from_langchain(messages: Iterable[BaseMessageType]) -> list[Message]:
    """One ``Message`` per LangChain message, lossless."""
    if isinstance(messages, (str, bytes, dict, BaseMessage)) or not isinstance(messages, Iterable):
        raise InvalidMessageError(
            f"messages must be a list of LangChain messages, got {type(messages).__name__}"
        )
    result: list[Message] = []
    for index, item in enumerate(messages):
        if not isinstance(item, BaseMessage):
            raise InvalidMessageError(
                f"item {index}: expected a LangChain BaseMessage, got {type(item).__name__}",
                index=index,
            )
        if item.type == "remove":
            raise InvalidMessageError(
                f"item {index}: a RemoveMessage tells a graph to delete a message; "
                "it is not part of a transcript",
                index=index,
            )
        native = message_to_dict(item)
        check_json(index, native)
        message = _readable(item)
        rendered = [message_to_dict(m) for m in render_view(_render, message)]
        result.append(verbatim(message, LANGCHAIN_KEY, native, rendered))
    return result


def to_langchain(messages: Iterable[MessageInput]) -> list[BaseMessageType]:
    """LangChain messages for ``messages``: each kept original, else its readable view."""
    result: list[BaseMessage] = []
    for message in as_messages(messages):
        result.extend(_restore(message))
    return result


def _restore(message: Message) -> list[BaseMessage]:
    kept = stored_copy(message, LANGCHAIN_KEY)
    if kept is not None:
        try:
            return messages_from_dict([kept])
        except (ValueError, KeyError, TypeError):
            # A copy this langchain-core cannot read (another version wrote a kind it lacks,
            # or the copy was edited): the readable view still carries the conversation.
            pass
    return render_view(_render, message)


def _readable(item: BaseMessage) -> Message:
    role = _TYPES.get(item.type.removesuffix("MessageChunk").lower()) or _chat_role(item)
    name = item.name
    if role is Role.TOOL:
        call_id = getattr(item, "tool_call_id", None) or name or ""
        is_error = True if getattr(item, "status", None) == "error" else None
        return Message(Role.TOOL, [ToolResultBlock(call_id, _text(item.content), is_error)], name)
    content = _content(item.content)
    calls = getattr(item, "tool_calls", None) or []
    if calls:
        blocks: list[Block] = []
        if isinstance(content, list):
            blocks = content
        elif content:
            blocks = [TextBlock(content)]
        uses = [ToolUseBlock(call.get("id") or "", call["name"], call["args"]) for call in calls]
        return Message(role, [*blocks, *uses], name)
    return Message(role, content, name)


def _chat_role(item: BaseMessage) -> Role:
    """A ``ChatMessage``'s free-form role as ours; roles we do not know read as user."""
    chat_role = str(getattr(item, "role", "user"))
    if chat_role in _CHAT_ROLES:
        return _CHAT_ROLES[chat_role]
    return Role(chat_role) if chat_role in {"system", "tool"} else Role.USER


def _content(content: str | list[Any]) -> str | list[Block]:
    return content if isinstance(content, str) else _blocks(content)


def _blocks(content: list[Any]) -> list[Block]:
    blocks: list[Block] = []
    for part in content:
        if isinstance(part, str):
            blocks.append(TextBlock(part))
        elif isinstance(part, dict):
            block = _content_block(part)
            if block is not None:
                blocks.append(block)
    return blocks


def _content_block(part: dict[str, Any]) -> Block | None:
    kind = part.get("type")
    if kind == "text" and isinstance(part.get("text"), str):
        return TextBlock(part["text"])
    if kind == "image" and isinstance(part.get("base64"), str):
        media_type = part.get("mime_type")
        if isinstance(media_type, str):
            return ImageBlock(Base64ImageSource(media_type, part["base64"]))
    if kind == "image_url":
        url = part.get("image_url")
        return image_from_data_url(url.get("url") if isinstance(url, dict) else url)
    return None


def _text(content: str | list[Any]) -> str:
    if isinstance(content, str):
        return content
    return text_of(_blocks(content))


def _render(message: Message) -> list[BaseMessage]:
    plain, uses, results = split_blocks(message.content)
    rendered: list[BaseMessage] = [
        ToolMessage(
            content=result.content,
            tool_call_id=result.tool_use_id,
            status="error" if result.is_error else "success",
            name=message.name,
        )
        for result in results
    ]
    if message.role is Role.TOOL:
        return rendered
    content = _lc_content(message.content, plain)
    if message.role is Role.ASSISTANT:
        calls = [{"name": use.name, "args": use.input, "id": use.id or None} for use in uses]
        rendered.append(AIMessage(content=content, tool_calls=calls, name=message.name))
    elif message.role is Role.SYSTEM:
        rendered.append(SystemMessage(content=content, name=message.name))
    elif plain or not results:
        rendered.append(HumanMessage(content=content, name=message.name))
    return rendered


def _lc_content(content: str | list[Block], plain: list[Block]) -> str | list[str | dict[str, Any]]:
    if isinstance(content, str):
        return content
    beside_tool_calls = len(plain) < len(content)
    if beside_tool_calls and len(plain) <= 1 and all(isinstance(b, TextBlock) for b in plain):
        return text_of(plain)
    parts: list[str | dict[str, Any]] = []
    for block in plain:
        if isinstance(block, TextBlock):
            parts.append({"type": "text", "text": block.text})
        elif isinstance(block, ImageBlock):
            source = block.source
            parts.append({"type": "image", "base64": source.data, "mime_type": source.media_type})
    return parts
