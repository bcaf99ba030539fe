"""What every converter shares: walking a list of native items, keeping an item verbatim.

A native item becomes one ``Message``, its readable view. When rendering that
view back in the same format does not reproduce the item exactly (compared as
``json.dumps(..., sort_keys=True)``, the check the OpenAI Agents SDK itself
makes), the item is kept verbatim in ``metadata[<format key>]``, and rendering
the message in that format returns the copy. Items the view renders exactly
cost nothing extra.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import msgspec

from sessionstore._errors import InvalidMessageError
from sessionstore._messages import (
    Base64ImageSource,
    Block,
    ImageBlock,
    Message,
    MessageInput,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
)

_Item = TypeVar("_Item")

__all__ = [
    "ContentParts",
    "FormatError",
    "as_messages",
    "check_json",
    "convert_items",
    "data_url",
    "dump_arguments",
    "image_from_data_url",
    "optional",
    "parse_arguments",
    "render_messages",
    "render_view",
    "require",
    "split_blocks",
    "stored_copy",
    "text_of",
    "verbatim",
]


class FormatError(ValueError):
    """What is wrong with one native item; ``convert_items`` adds the item's index."""


def require(item: Mapping[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    """``item[key]``, which must exist and be of ``kind``."""
    if key not in item:
        raise FormatError(f"missing required field {key!r}")
    return _checked(item, key, kind)


def optional(item: Mapping[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    """``item[key]`` when present and not None (then of ``kind``), else None."""
    if item.get(key) is None:
        return None
    return _checked(item, key, kind)


def _checked(item: Mapping[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = item[key]
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        kinds = kind if isinstance(kind, tuple) else (kind,)
        names = " or ".join(k.__name__ for k in kinds)
        raise FormatError(f"field {key!r} must be {names}, got {type(value).__name__}")
    return value


def _same_json(left: Any, right: Any) -> bool:
    return json.dumps(left, sort_keys=True) == json.dumps(right, sort_keys=True)


def _plain(index: int, item: Any) -> dict[str, Any]:
    """The item as a JSON-ready dict: SDK objects (pydantic models), even nested, are dumped.

    ``{"role": "assistant", "content": response.content}``, as the SDKs' own examples
    build a turn, holds the SDK's response objects; they become the dicts the request
    types take (their None fields left out, as a response's None means "absent").
    """
    try:
        json.dumps(item, allow_nan=False)
    except TypeError:
        item = _dumped(item)
    except (ValueError, RecursionError):
        pass  # reported by check_json below
    if not isinstance(item, Mapping):
        raise InvalidMessageError(
            f"item {index}: expected a dict, got {type(item).__name__}", index=index
        )
    check_json(index, item)
    return dict(item)


def _dumped(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, Mapping):
        return dump(mode="json", exclude_none=True)
    if isinstance(value, Mapping):
        return {key: _dumped(inner) for key, inner in value.items()}
    if isinstance(value, (list, tuple)):
        return [_dumped(inner) for inner in value]
    return value


def check_json(index: int, item: Any) -> None:
    """Raise InvalidMessageError naming item ``index`` unless ``item`` is plain JSON."""
    try:
        json.dumps(item, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidMessageError(
            f"item {index}: not JSON-serializable: {exc}", index=index
        ) from exc


def _items_list(items: Iterable[Any], what: str) -> list[Any]:
    if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Iterable):
        raise InvalidMessageError(f"{what} must be a list of items, got {type(items).__name__}")
    return list(items)


def convert_items(
    items: Iterable[Any],
    key: str,
    readable: Callable[[dict[str, Any]], Message],
    render: Callable[[Message], list[dict[str, Any]]],
) -> list[Message]:
    """One message per native item, the item kept under ``metadata[key]`` when needed."""
    messages: list[Message] = []
    for index, raw in enumerate(_items_list(items, "items")):
        item = _plain(index, raw)
        try:
            message = readable(item)
        except FormatError as exc:
            raise InvalidMessageError(f"item {index}: {exc}", index=index) from exc
        messages.append(verbatim(message, key, item, render_view(render, message)))
    return messages


def verbatim(message: Message, key: str, item: Any, rendered: Any) -> Message:
    """``message``, with ``item`` kept under ``metadata[key]`` unless ``rendered`` equals it."""
    if _same_json([item], rendered):
        return message
    return msgspec.structs.replace(message, metadata={key: item})


def as_messages(messages: Iterable[MessageInput]) -> list[Message]:
    """Messages or dicts in our JSON form, as messages; InvalidMessageError names a bad one."""
    result: list[Message] = []
    for index, item in enumerate(_items_list(messages, "messages")):
        if isinstance(item, Message):
            result.append(item)
            continue
        try:
            result.append(Message.from_dict(item))
        except InvalidMessageError as exc:
            raise InvalidMessageError(f"message {index}: {exc}", index=index) from exc
    return result


def render_messages(
    messages: Iterable[MessageInput], key: str, render: Callable[[Message], list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Native items for ``messages``: a kept verbatim copy, else the readable view rendered."""
    items: list[dict[str, Any]] = []
    for message in as_messages(messages):
        kept = stored_copy(message, key)
        if kept is not None:
            items.append(kept)
        else:
            items.extend(render_view(render, message))
    return items


def render_view(render: Callable[[Message], list[_Item]], message: Message) -> list[_Item]:
    """``render(message)``; nothing for a message without content (an item no view can show)."""
    if isinstance(message.content, list) and not message.content:
        return []
    return render(message)


def stored_copy(message: Message, key: str) -> Any:
    """The native item kept under ``metadata[key]``, or None."""
    metadata = message.metadata
    if isinstance(metadata, dict):
        return metadata.get(key)
    return None


def text_of(blocks: list[Block]) -> str:
    """The text blocks' text, joined by newlines."""
    return "\n".join(block.text for block in blocks if isinstance(block, TextBlock))


def split_blocks(
    content: str | list[Block],
) -> tuple[list[Block], list[ToolUseBlock], list[ToolResultBlock]]:
    """Content as (text and image blocks, tool uses, tool results)."""
    if isinstance(content, str):
        return [TextBlock(content)], [], []
    plain: list[Block] = [b for b in content if isinstance(b, (TextBlock, ImageBlock))]
    uses = [b for b in content if isinstance(b, ToolUseBlock)]
    results = [b for b in content if isinstance(b, ToolResultBlock)]
    return plain, uses, results


class ContentParts:
    """How one format spells text and image content parts: their ``type`` names and URL field.

    ``image_part`` renders a ``data:`` URL as the format's image part; text renders as a
    part of the first of ``text_types``.
    """

    def __init__(
        self,
        text_types: tuple[str, ...],
        image_type: str,
        image_url: Callable[[dict[str, Any]], Any],
        image_part: Callable[[str], dict[str, Any]],
    ) -> None:
        self.text_types = text_types
        self.image_type = image_type
        self.image_url = image_url
        self.image_part = image_part

    def content(self, content: str | list[Any]) -> str | list[Block]:
        """String content as is; a list of parts as text and image blocks (other parts left out)."""
        return content if isinstance(content, str) else self.blocks(content)

    def blocks(self, parts: list[Any]) -> list[Block]:
        """Text and base64 image parts as blocks; any other part is left out."""
        blocks: list[Block] = []
        for position, part in enumerate(parts):
            if not isinstance(part, dict):
                raise FormatError(f"content part {position} must be a dict")
            kind = part.get("type")
            if kind in self.text_types:
                blocks.append(TextBlock(require(part, "text", str)))
            elif kind == self.image_type:
                image = image_from_data_url(self.image_url(part))
                if image is not None:
                    blocks.append(image)
        return blocks

    def text(self, content: str | list[Any]) -> str:
        """The text of string content or of its text parts."""
        return content if isinstance(content, str) else text_of(self.blocks(content))

    def part(self, block: Block) -> dict[str, Any]:
        """A text or image block as this format's content part."""
        if isinstance(block, ImageBlock):
            return {"type": self.image_type, **self.image_part(data_url(block.source))}
        assert isinstance(block, TextBlock)
        return {"type": self.text_types[0], "text": block.text}


def parse_arguments(arguments: str) -> Any:
    """Tool-call arguments (JSON text) as a value; text that is not JSON stays a string."""
    try:
        return json.loads(arguments, parse_constant=_refuse_constant)
    except ValueError:
        return arguments


def _refuse_constant(name: str) -> Any:
    # NaN and Infinity are not JSON: such arguments stay text (and the item is kept verbatim).
    raise ValueError(f"{name} is not JSON")


def dump_arguments(value: Any) -> str:
    """A tool call's input as compact JSON text, as the model APIs send it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def data_url(source: Base64ImageSource) -> str:
    """``data:<media type>;base64,<data>``."""
    return f"data:{source.media_type};base64,{source.data}"


def image_from_data_url(url: Any) -> ImageBlock | None:
    """An image block for a base64 ``data:`` URL; None for any other URL (kept verbatim)."""
    if not isinstance(url, str) or not url.startswith("data:"):
        return None
    header, _, data = url[5:].partition(",")
    media_type, _, encoding = header.partition(";")
    if encoding != "base64" or not media_type:
        return None
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None
    return ImageBlock(Base64ImageSource(media_type, data))
