"""ADK ``Event`` <-> ``Message``: a readable view, with the event kept verbatim beside it.

Each event becomes one message whose role, name and content are a view of the
event's ``content`` (``user`` / ``model`` turns, text, inline images, function
calls as ``tool_use``, function responses as ``tool_result`` in a ``tool``
message; thoughts are left out), so ``sessionstore show``, ``export`` and other
frameworks read a transcript. Everything else of the event (id, invocation id,
author, timestamp, actions with their state, artifact and transfer deltas,
usage, grounding...) is kept as the event's own JSON in
``metadata["google_adk"]``. Its ``content`` is left out of that copy when the
view renders back into exactly the same content (plain text turns and function
calls), so the bulk of a transcript is stored once; otherwise it is kept too.
A message written by anything else loads as a best-effort event.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from google.adk.events.event import Event

from sessionstore import (
    Base64ImageSource,
    Block,
    ImageBlock,
    Message,
    Role,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
)

__all__ = ["METADATA_KEY", "event_to_message", "message_to_event"]

#: The key of ``Message.metadata`` under which the event's JSON is kept.
METADATA_KEY = "google_adk"

Json = dict[str, Any]


def event_to_message(event: Event) -> Message:
    """The message for ``event``: its view, and its JSON (without a content the view
    reproduces) under ``metadata["google_adk"]``."""
    data: Json = event.model_dump(mode="json", exclude_none=True)
    content = data.get("content")
    view = _view(content, event.author)
    if content is not None and _same(render_content(view), content):
        del data["content"]
    name = event.author if event.author and event.author != "user" else None
    return Message(view.role, view.content, name, {METADATA_KEY: data})


def message_to_event(message: Message, index: int, created_at: datetime) -> Event:
    """The event a stored message stands for: the kept JSON (with the content its view
    renders, when left out), or for a message written without ADK a best-effort event
    (id ``sessionstore-<index>``, time ``created_at``)."""
    kept = _kept(message.metadata)
    if kept is not None:
        data = dict(kept)
        if "content" not in data:
            content = render_content(message)
            if content is not None:
                data["content"] = content
        return Event.model_validate(data)
    return Event.model_validate(
        {
            "id": f"sessionstore-{index}",
            "author": _foreign_author(message),
            "content": render_content(message),
            "timestamp": created_at.timestamp(),
        }
    )


def _kept(metadata: Any) -> Json | None:
    if isinstance(metadata, dict):
        kept = metadata.get(METADATA_KEY)
        if isinstance(kept, dict):
            return kept
    return None


def _same(left: Any, right: Any) -> bool:
    return json.dumps(left, sort_keys=True) == json.dumps(right, sort_keys=True)


def _foreign_author(message: Message) -> str:
    if message.role is Role.USER:
        return "user"
    return message.name or message.role.value


# -- content -> view ------------------------------------------------------------------------------


def _view(content: Any, author: str) -> Message:
    """The readable message for an event's content JSON (empty for an event without one)."""
    if not isinstance(content, dict):
        role = Role.USER if author == "user" else Role.ASSISTANT
        return Message(role, [])
    parts = [part for part in content.get("parts") or [] if isinstance(part, dict)]
    blocks = [block for part in parts for block in _part_blocks(part)]
    if content.get("role") == "model":
        role = Role.ASSISTANT
    elif any("function_response" in part for part in parts):
        role = Role.TOOL
    elif content.get("role") == "user":
        role = Role.USER
    else:
        role = Role.USER if author == "user" else Role.ASSISTANT
    return Message(role, blocks)


def _part_blocks(part: Json) -> list[Block]:
    if part.get("thought"):
        return []  # the model's thinking: kept in the copy, not part of the transcript's text
    if isinstance(part.get("text"), str):
        return [TextBlock(part["text"])]
    call = part.get("function_call")
    if isinstance(call, dict):
        return [ToolUseBlock(str(call.get("id", "")), str(call.get("name", "")), call.get("args"))]
    response = part.get("function_response")
    if isinstance(response, dict):
        output = json.dumps(response.get("response"), ensure_ascii=False)
        return [ToolResultBlock(str(response.get("id", "")), output)]
    image = _image(part.get("inline_data"))
    if image is not None:
        return [image]
    return [TextBlock(_summary(part))]


def _image(blob: Any) -> ImageBlock | None:
    if not isinstance(blob, dict) or not isinstance(blob.get("data"), str):
        return None
    media_type = blob.get("mime_type")
    if not isinstance(media_type, str) or not media_type.startswith("image/"):
        return None
    # pydantic writes bytes as URL-safe base64; the message model uses the standard alphabet.
    standard = blob["data"].replace("-", "+").replace("_", "/")
    try:
        base64.b64decode(standard, validate=True)
    except (binascii.Error, ValueError):
        return None
    return ImageBlock(Base64ImageSource(media_type, standard))


def _summary(part: Json) -> str:
    code = part.get("executable_code")
    if isinstance(code, dict):
        return str(code.get("code", ""))
    result = part.get("code_execution_result")
    if isinstance(result, dict):
        return str(result.get("output", ""))
    file_data = part.get("file_data")
    if isinstance(file_data, dict):
        return f"[file {file_data.get('file_uri', '')}]"
    kinds = [key for key in part if key not in ("thought_signature", "part_metadata")]
    return f"[{kinds[0] if kinds else 'part'}]"


# -- view -> content ------------------------------------------------------------------------------


def render_content(message: Message) -> Json | None:
    """The ADK content JSON a message's view stands for (None for a view without content)."""
    if isinstance(message.content, str):
        parts: list[Json] = [{"text": message.content}]
    else:
        parts = [_block_part(block) for block in message.content]
    if not parts:
        return None
    role = "model" if message.role is Role.ASSISTANT else "user"
    return {"parts": parts, "role": role}


def _block_part(block: Block) -> Json:
    if isinstance(block, TextBlock):
        return {"text": block.text}
    if isinstance(block, ImageBlock):
        data = block.source.data.replace("+", "-").replace("/", "_")
        return {"inline_data": {"data": data, "mime_type": block.source.media_type}}
    if isinstance(block, ToolUseBlock):
        args = block.input if isinstance(block.input, dict) else {"input": block.input}
        return {"function_call": {"args": args, "id": block.id, "name": block.name}}
    return {"function_response": {"id": block.tool_use_id, "response": _response(block)}}


def _response(block: ToolResultBlock) -> Json:
    if block.is_error:
        return {"error": block.content}
    try:
        parsed = json.loads(block.content)
    except ValueError:
        parsed = None
    return parsed if isinstance(parsed, dict) else {"result": block.content}
