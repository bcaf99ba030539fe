"""A transcript as the templates show it: blocks flattened, tool calls matched to results.

Nothing here builds markup: the templates autoescape every string. The only
value placed in an attribute that a browser interprets is an image's
``data:`` URL, built only from an ``image/*`` media type and base64 characters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sessionstore._messages import (
    ImageBlock,
    Message,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
)

__all__ = [
    "BlockView",
    "MessageView",
    "attributes_json",
    "image_url",
    "pretty_json",
    "view_messages",
    "when",
]

_MEDIA_TYPE = re.compile(r"image/[A-Za-z0-9][A-Za-z0-9.+-]{0,126}")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def when(moment: datetime) -> str:
    """A time for people: UTC, to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def pretty_json(value: Any) -> str:
    """``value`` as indented JSON text (anything JSON cannot hold shown by its ``str``)."""
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


def image_url(media_type: str, data: str) -> str | None:
    """A ``data:`` URL of a base64 image, or None when it is not an image/* in clean base64."""
    compact = "".join(data.split())
    if not _MEDIA_TYPE.fullmatch(media_type) or not _BASE64.fullmatch(compact):
        return None
    return f"data:{media_type.lower()};base64,{compact}"


@dataclass
class BlockView:
    """One part of a message: ``kind`` is text, image, tool_use or tool_result."""

    kind: str
    text: str = ""
    #: tool_use: the tool's name; image: the media type.
    name: str = ""
    #: tool_use: the call's id; tool_result: the id of the call it answers.
    call_id: str = ""
    #: The element id of this block (tool calls and results), and of its partner when known.
    anchor: str = ""
    partner: str = ""
    #: tool_result: the name of the tool whose call it answers, when known.
    partner_name: str = ""
    is_error: bool = False
    src: str | None = None


@dataclass
class MessageView:
    """One message: its index in the whole transcript, role, name, blocks, metadata."""

    index: int
    role: str
    name: str | None
    blocks: list[BlockView] = field(default_factory=list)
    metadata: str | None = None


def _block(anchor: str, block: Any) -> BlockView:
    if isinstance(block, TextBlock):
        return BlockView("text", text=block.text)
    if isinstance(block, ImageBlock):
        source = block.source
        return BlockView(
            "image", name=source.media_type, src=image_url(source.media_type, source.data)
        )
    if isinstance(block, ToolUseBlock):
        return BlockView(
            "tool_use",
            text=pretty_json(block.input),
            name=block.name,
            call_id=block.id,
            anchor=anchor,
        )
    assert isinstance(block, ToolResultBlock)
    return BlockView(
        "tool_result",
        text=block.content,
        call_id=block.tool_use_id,
        anchor=anchor,
        is_error=bool(block.is_error),
    )


def _view(index: int, message: Message) -> MessageView:
    view = MessageView(index, message.role.value, message.name)
    if isinstance(message.content, str):
        view.blocks.append(BlockView("text", text=message.content))
    else:
        view.blocks = [_block(f"m{index}-b{n}", b) for n, b in enumerate(message.content)]
    if message.metadata is not None:
        view.metadata = pretty_json(message.metadata)
    return view


def _match(views: Sequence[MessageView]) -> None:
    """Point every tool call at its result and every result at its call, where both are here."""
    calls: dict[str, BlockView] = {}
    for view in views:
        for block in view.blocks:
            if block.kind == "tool_use":
                calls.setdefault(block.call_id, block)
            elif block.kind == "tool_result" and block.call_id in calls:
                call = calls[block.call_id]
                block.partner, block.partner_name = call.anchor, call.name
                if not call.partner:
                    call.partner, call.is_error = block.anchor, block.is_error


def view_messages(messages: Sequence[Message], first: int = 0) -> list[MessageView]:
    """``messages`` (the transcript from index ``first`` on) ready for the templates."""
    views = [_view(index, message) for index, message in enumerate(messages, start=first)]
    _match(views)
    return views


def attributes_json(attributes: Mapping[str, Any]) -> str:
    """A session's attributes as indented JSON, keys sorted."""
    return json.dumps(dict(attributes), ensure_ascii=False, indent=2, sort_keys=True, default=str)
