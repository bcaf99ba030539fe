"""PydanticAI ``ModelMessage`` to and from ``Message``, lossless.

Each ``ModelRequest`` or ``ModelResponse`` becomes one ``Message``: a readable
view (a response is an assistant turn of text and ``tool_use`` blocks; a
request a user turn of its prompts' text and images, a tool turn when it only
returns tool results, a system turn when it only holds system prompts) plus the
message as ``ModelMessagesTypeAdapter`` dumps it, under
``metadata["pydantic_ai"]``. The dump is always kept: every part carries a
timestamp or ids the view has no room for, and it is what loads back, so
every part kind PydanticAI defines, and any it adds later, round-trips. A
transcript written by plain sessionstore or another framework loads by its
readable view.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec
import pydantic
import pydantic_core
from pydantic_ai.messages import (
    BinaryContent,
    ModelMessage,
    ModelMessagesTypeAdapter,
    ModelRequest,
    ModelRequestPart,
    ModelResponse,
    ModelResponsePart,
    RetryPromptPart,
    SystemPromptPart,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserContent,
    UserPromptPart,
)

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
from sessionstore.formats._common import as_messages, split_blocks, stored_copy, text_of

__all__ = ["PYDANTIC_AI_KEY", "from_pydantic_ai", "to_pydantic_ai"]

#: The ``metadata`` key under which ``ModelMessagesTypeAdapter``'s dump of a message is kept.
PYDANTIC_AI_KEY = "pydantic_ai"


def from_pydantic_ai(messages: Iterable[ModelMessage]) -> list[Message]:
    """One ``Message`` per PydanticAI message, lossless."""
    if isinstance(messages, (str, bytes, dict, ModelRequest, ModelResponse)) or not isinstance(
        messages, Iterable
    ):
        raise InvalidMessageError(
            f"messages must be a list of PydanticAI messages, got {type(messages).__name__}"
        )
    items = list(messages)
    for index, item in enumerate(items):
        if not isinstance(item, (ModelRequest, ModelResponse)):
            raise InvalidMessageError(
                f"item {index}: expected a ModelRequest or ModelResponse, got "
                f"{type(item).__name__}",
                index=index,
            )
    try:
        dumped = ModelMessagesTypeAdapter.dump_python(items, mode="json")
    except (pydantic_core.PydanticSerializationError, ValueError, TypeError) as exc:
        raise InvalidMessageError(f"messages are not serializable: {exc}") from exc
    return [
        msgspec.structs.replace(_readable(item), metadata={PYDANTIC_AI_KEY: native})
        for item, native in zip(items, dumped, strict=True)
    ]


def to_pydantic_ai(messages: Iterable[MessageInput]) -> list[ModelMessage]:
    """PydanticAI messages for ``messages``: each kept original, else its readable view."""
    result: list[ModelMessage] = []
    tool_names: dict[str, str] = {}
    for message in as_messages(messages):
        kept = stored_copy(message, PYDANTIC_AI_KEY)
        restored = _restore(kept) if kept is not None else None
        if restored is None:
            restored = _render(message, tool_names)
        for part in restored.parts:
            if isinstance(part, ToolCallPart):
                tool_names[part.tool_call_id] = part.tool_name
        result.append(restored)
    return result


def _restore(kept: Any) -> ModelMessage | None:
    try:
        return ModelMessagesTypeAdapter.validate_python([kept])[0]
    except pydantic.ValidationError:
        # A dump this pydantic-ai cannot read (a newer release's part kind, or an edited
        # copy): the readable view still carries the turn.
        return None


# -- the readable view -------------------------------------------------------------------------


def _readable(item: ModelMessage) -> Message:
    if isinstance(item, ModelResponse):
        return Message(Role.ASSISTANT, _response_blocks(item.parts))
    blocks: list[Block] = []
    system: list[str] = []
    for part in item.parts:
        if isinstance(part, SystemPromptPart):
            system.append(part.content)
        else:
            blocks.extend(_request_blocks(part))
    if not blocks and system:
        return Message(Role.SYSTEM, "\n".join(system))
    if blocks and all(isinstance(block, ToolResultBlock) for block in blocks):
        return Message(Role.TOOL, blocks)
    if len(blocks) == 1 and isinstance(blocks[0], TextBlock):
        return Message(Role.USER, blocks[0].text)
    return Message(Role.USER, blocks)


def _response_blocks(parts: Sequence[ModelResponsePart]) -> list[Block]:
    blocks: list[Block] = []
    for part in parts:
        if isinstance(part, TextPart):
            blocks.append(TextBlock(part.content))
        elif isinstance(part, ToolCallPart):
            blocks.append(ToolUseBlock(part.tool_call_id, part.tool_name, part.args_as_dict()))
    return blocks


def _request_blocks(part: ModelRequestPart) -> list[Block]:
    if isinstance(part, UserPromptPart):
        content = [part.content] if isinstance(part.content, str) else part.content
        return [block for item in content if (block := _user_block(item)) is not None]
    if isinstance(part, ToolReturnPart):
        failed = True if part.outcome != "success" else None
        return [ToolResultBlock(part.tool_call_id, part.model_response_str(), failed)]
    if isinstance(part, RetryPromptPart):
        if part.tool_name is None:
            return [TextBlock(part.model_response())]
        return [ToolResultBlock(part.tool_call_id, part.model_response(), True)]
    return []


def _user_block(item: UserContent) -> Block | None:
    if isinstance(item, str):
        return TextBlock(item)
    if isinstance(item, BinaryContent) and item.is_image:
        return ImageBlock(Base64ImageSource(item.media_type, base64.b64encode(item.data).decode()))
    return None


# -- rendering a view as PydanticAI messages ---------------------------------------------------


def _render(message: Message, tool_names: dict[str, str]) -> ModelMessage:
    plain, uses, results = split_blocks(message.content)
    if message.role is Role.ASSISTANT:
        parts: list[ModelResponsePart] = [TextPart(text_of(plain))] if text_of(plain) else []
        parts.extend(ToolCallPart(use.name, _args(use.input), use.id) for use in uses)
        return ModelResponse(parts=parts)
    requests: list[ModelRequestPart] = [
        ToolReturnPart(
            tool_names.get(result.tool_use_id, ""),
            result.content,
            result.tool_use_id,
            outcome="failed" if result.is_error else "success",
        )
        for result in results
    ]
    if message.role is Role.SYSTEM:
        requests.append(SystemPromptPart(text_of(plain)))
    elif message.role is not Role.TOOL and plain:
        requests.append(UserPromptPart(_user_content(message.content, plain)))
    return ModelRequest(parts=requests)


def _user_content(content: str | list[Block], plain: list[Block]) -> str | list[UserContent]:
    if isinstance(content, str):
        return content
    items: list[UserContent] = []
    for block in plain:
        if isinstance(block, TextBlock):
            items.append(block.text)
        elif isinstance(block, ImageBlock):
            source = block.source
            items.append(BinaryContent(base64.b64decode(source.data), media_type=source.media_type))
    return items


def _args(value: Any) -> dict[str, Any] | str:
    if isinstance(value, dict):
        return value
    return value if isinstance(value, str) else json.dumps(value)
