"""LlamaIndex ``ChatMessage`` to and from ``Message``, lossless.

Readable view: the role maps to ours (``developer`` reads as system, ``model``
and ``chatbot`` as assistant, ``function`` as tool), text blocks become text,
base64 images become image blocks, ``ToolCallBlock`` becomes ``tool_use`` and a
tool message one ``tool_result`` (its ``additional_kwargs["tool_call_id"]``).
Whenever rendering that view back does not rebuild the message exactly
(thinking, audio, video, documents, citations, cache points, image URLs,
``additional_kwargs``...), ``ChatMessage.model_dump(mode="json")`` is kept under
``metadata["llama_index"]`` and loads back as the very same message.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ContentBlock,
    MessageRole,
    ToolCallBlock,
)
from llama_index.core.base.llms.types import (
    ImageBlock as LlamaImageBlock,
)
from llama_index.core.base.llms.types import (
    TextBlock as LlamaTextBlock,
)
from pydantic import ValidationError

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
    as_messages,
    check_json,
    render_view,
    split_blocks,
    stored_copy,
    text_of,
    verbatim,
)

__all__ = ["LLAMA_INDEX_KEY", "from_llama_index", "to_llama_index"]

#: The ``metadata`` key under which a message's ``model_dump(mode="json")`` is kept when needed.
LLAMA_INDEX_KEY = "llama_index"

_ROLES = {
    MessageRole.USER: Role.USER,
    MessageRole.ASSISTANT: Role.ASSISTANT,
    MessageRole.MODEL: Role.ASSISTANT,
    MessageRole.CHATBOT: Role.ASSISTANT,
    MessageRole.SYSTEM: Role.SYSTEM,
    MessageRole.DEVELOPER: Role.SYSTEM,
    MessageRole.TOOL: Role.TOOL,
    MessageRole.FUNCTION: Role.TOOL,
}


def from_llama_index(messages: Iterable[ChatMessage]) -> list[Message]:
    """One ``Message`` per LlamaIndex ``ChatMessage``, lossless."""
    if isinstance(messages, (str, bytes, dict, ChatMessage)) or not isinstance(messages, Iterable):
        raise InvalidMessageError(
            f"messages must be a list of LlamaIndex ChatMessages, got {type(messages).__name__}"
        )
    result: list[Message] = []
    for index, item in enumerate(messages):
        if not isinstance(item, ChatMessage):
            raise InvalidMessageError(
                f"item {index}: expected a LlamaIndex ChatMessage, got {type(item).__name__}",
                index=index,
            )
        try:
            native = item.model_dump(mode="json")
        except (ValueError, TypeError) as exc:
            raise InvalidMessageError(
                f"item {index}: not serializable: {exc}", index=index
            ) from exc
        check_json(index, native)
        message = _readable(item)
        rendered = [m.model_dump(mode="json") for m in render_view(_render, message)]
        result.append(verbatim(message, LLAMA_INDEX_KEY, native, rendered))
    return result


def to_llama_index(messages: Iterable[MessageInput]) -> list[ChatMessage]:
    """LlamaIndex messages for ``messages``: each kept original, else its readable view."""
    result: list[ChatMessage] = []
    for message in as_messages(messages):
        kept = stored_copy(message, LLAMA_INDEX_KEY)
        if kept is not None:
            try:
                result.append(ChatMessage.model_validate(kept))
                continue
            except ValidationError:
                # A copy this llama-index-core cannot read (another version wrote a block kind
                # it lacks, or the copy was edited): the readable view still carries the turn.
                pass
        result.extend(render_view(_render, message))
    return result


def _readable(item: ChatMessage) -> Message:
    role = _ROLES.get(item.role, Role.USER)
    if role is Role.TOOL:
        call_id = item.additional_kwargs.get("tool_call_id")
        text = text_of(_blocks(item.blocks))
        return Message(
            Role.TOOL, [ToolResultBlock(call_id if isinstance(call_id, str) else "", text)]
        )
    blocks = _blocks(item.blocks)
    if len(blocks) == 1 and isinstance(blocks[0], TextBlock) and len(item.blocks) == 1:
        return Message(role, blocks[0].text)
    return Message(role, blocks)


def _blocks(blocks: list[ContentBlock]) -> list[Block]:
    result: list[Block] = []
    for block in blocks:
        if isinstance(block, LlamaTextBlock):
            result.append(TextBlock(block.text))
        elif (
            isinstance(block, LlamaImageBlock)
            and isinstance(block.image, bytes)
            and block.image_mimetype
        ):
            data = block.image.decode("ascii", errors="replace")
            result.append(ImageBlock(Base64ImageSource(block.image_mimetype, data)))
        elif isinstance(block, ToolCallBlock):
            result.append(
                ToolUseBlock(block.tool_call_id or "", block.tool_name, block.tool_kwargs)
            )
    return result


def _render(message: Message) -> list[ChatMessage]:
    plain, uses, results = split_blocks(message.content)
    rendered = [
        ChatMessage(
            role=MessageRole.TOOL,
            content=result.content,
            additional_kwargs={"tool_call_id": result.tool_use_id},
        )
        for result in results
    ]
    if message.role is Role.TOOL or (results and not plain and not uses):
        return rendered
    role = {
        Role.ASSISTANT: MessageRole.ASSISTANT,
        Role.SYSTEM: MessageRole.SYSTEM,
    }.get(message.role, MessageRole.USER)
    blocks: list[Any] = [_llama_block(block) for block in plain]
    blocks.extend(
        ToolCallBlock(tool_call_id=use.id or None, tool_name=use.name, tool_kwargs=_kwargs(use))
        for use in uses
    )
    rendered.append(ChatMessage(role=role, blocks=blocks))
    return rendered


def _llama_block(block: Block) -> Any:
    if isinstance(block, ImageBlock) and isinstance(block.source, Base64ImageSource):
        return LlamaImageBlock(
            image=block.source.data.encode("ascii"), image_mimetype=block.source.media_type
        )
    return LlamaTextBlock(text=block.text if isinstance(block, TextBlock) else "")


def _kwargs(use: ToolUseBlock) -> dict[str, Any] | str:
    value = use.input
    return value if isinstance(value, (dict, str)) else {"input": value}
